"""The Look inside tab: what a trained model has learned, view by view, as the makemore lectures draw it.

The numbers come from makemore.introspect (models through ctx.model); this module only draws them
(figures.py) and wires the views to named API endpoints, each returning the plot and the numbers.
"""
import textwrap
from types import SimpleNamespace

import gradio as gr

from .. import introspect
from ..errors import MakemoreError
from . import figures
from .common import Context, friendly, markdown_text

INTRO = ("Pick a trained run and type a line (a name, for a names model): each view below shows one thing the "
         "model has learned, as the makemore lectures draw it. `.` marks the start and end of a line.")
DEFAULT_LINE = "emma"
# the two plots that need more room than a phone's width scroll sideways inside their box instead of shrinking
CSS = """
#inside-bigram, #inside-attention { overflow-x: auto !important; contain: inline-size; }
#inside-bigram .js-plotly-plot { min-width: 760px; }
#inside-attention .js-plotly-plot { min-width: 600px; }
"""
CAPTIONS = {
    "probs": "Each column is one step along the line: the model has read the characters before it and bets on the "
             "next (darker = likelier); the ringed square is the one that came, and the red row shows how "
             "surprised it was (the surprises add up to the line's score).",
    "writer": "Click a character to append it: you are the sampler. Likely paths spell common lines; "
              "`<end>` finishes the line.",
    "embedding": "Characters the model treats alike sit close together: look for the vowels (red) gathering in "
                 "their own corner, as in the lecture.",
    "attention": "Rows: the position the model is at; columns: the earlier characters it looks at (nothing above "
                 "the diagonal: it cannot see ahead). Some heads look at the previous character, others at the start.",
    "hidden": "Each row is one unit of the last hidden layer as the model reads the line (red above 0, blue below): "
              "look for units that switch at particular characters, such as after a vowel or near the end.",
    "health": "Healthy training: the spread neither collapses to 0 nor blows up, few units saturate (under about "
              "5%), and updates stay near 1/1000 of the weights (the dashed line at -3).",
    "bigram": "Row: a character; column: the one after it; the counts a bigram model turns into probabilities. "
              "The dark cells are the common pairs (a name often ends in n, a, e or y).",
}


def rounded(value, digits=5):
    """The numbers for API clients and the page, rounded so they stay small."""
    if isinstance(value, float):
        return round(value, digits)
    if isinstance(value, dict):
        return {k: rounded(v, digits) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [rounded(v, digits) for v in value]
    return value


def not_applicable(reason: str, height=300):
    return figures.message_figure("<br>".join(textwrap.wrap(reason, 44)), height), {"applicable": False, "reason": reason}


def require(value, what="a run"):
    """No choice yet (the page opening before any run exists) is not worth an error box: a message only
    API clients see."""
    if not value:
        raise gr.Error(f"Pick {what} first.", visible=False, print_exception=False)


def loaded(ctx: Context, run_id):
    """(model, vocab, config) of a run."""
    require(run_id)
    model, config = ctx.model(run_id)
    return model, ctx.run(run_id).vocab(config), config


def probs_view(ctx, run_id, line):
    model, vocab, _ = loaded(ctx, run_id)
    result = introspect.next_char_probs(model, vocab, line)
    return figures.probs_figure(result), rounded(result.to_dict())


def choices_view(ctx, run_id, prefix, top_n=8):
    model, vocab, _ = loaded(ctx, run_id)
    result = introspect.next_char_choices(model, vocab, prefix or "", int(top_n))
    return figures.choices_figure(result), rounded(result.to_dict())


def embedding_view(ctx, run_id):
    model, vocab, config = loaded(ctx, run_id)
    result = introspect.embedding_map(model, vocab)
    return figures.embedding_figure(result), rounded(result.to_dict())


def attention_view(ctx, run_id, line):
    model, vocab, config = loaded(ctx, run_id)
    reason = introspect.unavailable(config["arch"], "attention_map", run_id)
    if reason:
        return not_applicable(reason)
    result = introspect.attention_map(model, vocab, line)
    return figures.attention_figure(result), rounded(result.to_dict(), 4)


def hidden_view(ctx, run_id, line, top_units=16, rank_by="activity"):
    model, vocab, config = loaded(ctx, run_id)
    reason = introspect.unavailable(config["arch"], "hidden_activations", run_id)
    if reason:
        return not_applicable(reason)
    result = introspect.hidden_activations(model, vocab, line, int(top_units), rank_by or "activity")
    return figures.hidden_figure(result), rounded(result.to_dict(), 4)


def health_view(ctx, run_id):
    require(run_id)
    result = introspect.training_health(ctx.run(run_id))
    return (*figures.health_figures(result), rounded(result.to_dict()))


def bigram_view(ctx, dataset):
    require(dataset, "a data set")
    result = introspect.bigram_counts(ctx.ws.load_dataset(dataset))
    return figures.bigram_figure(result, dataset), result.to_dict()


def writer_state(numbers: dict):
    """The writer's buttons (a radio) and status line from the /next_char_choices numbers."""
    choices = numbers.get("choices", [])
    if numbers.get("room", 1) <= 0:
        choices = [c for c in choices if c[1] == ""] or [[introspect.END_LABEL, "", numbers.get("end_prob", 1.0)]]
    options = [(f"{label} {p:.0%}", text or introspect.END_LABEL) for label, text, p in choices]
    written = numbers.get("prefix", "")
    status = f"Writing: **{markdown_text(written)}**▌" if written else "Pick the first character."
    return gr.update(choices=options, value=None), status


def section(title: str, caption: str, elem_id: str, numbers_label="The numbers behind this plot"):
    if title:
        gr.Markdown(f"### {title}")
    plot = gr.Plot(show_label=False, elem_id=elem_id)
    gr.Markdown(caption, elem_classes="lookinside-caption")
    with gr.Accordion(numbers_label, open=False):
        numbers = gr.JSON(show_label=False)
    return plot, numbers


def build(ctx: Context, tab=None):
    gr.Markdown(INTRO)
    first = (ctx.run_ids(with_weights=True) or [None])[0]
    with gr.Row():
        run_id = gr.Dropdown(ctx.run_choices(with_weights=True), value=first, label="Run", allow_custom_value=True,
                             elem_id="inside-run", scale=2, min_width=220)
        line = gr.Textbox(DEFAULT_LINE, label="Line to look at", max_lines=1, elem_id="inside-line", scale=2,
                          min_width=160)
        show = gr.Button("Show", variant="primary", elem_id="inside-show", scale=1, min_width=90, size="md")
    with gr.Row():
        with gr.Column(scale=3, min_width=320):
            probs_plot, probs_numbers = section("Next-character probabilities along the line", CAPTIONS["probs"],
                                                "inside-probs")
        with gr.Column(scale=2, min_width=300):
            build_writer(ctx, run_id, tab)
    with gr.Row():
        with gr.Column(min_width=320):
            embed_plot, embed_numbers = section("Character embedding map", CAPTIONS["embedding"], "inside-embedding")
        with gr.Column(min_width=320):
            with gr.Row():
                top_units = gr.Slider(4, 64, value=16, step=1, label="units shown", min_width=140)
                rank_by = gr.Radio([("most active", "activity"), ("most changing", "change")], value="activity",
                                   label="rank units by", min_width=160)
            hidden_plot, hidden_numbers = section("Hidden units along the line", CAPTIONS["hidden"], "inside-hidden")
    attention_plot, attention_numbers = section("Attention", CAPTIONS["attention"], "inside-attention")
    gr.Markdown("### Training health")
    with gr.Row():
        health_acts = gr.Plot(show_label=False, elem_id="inside-health", min_width=320)
        health_updates = gr.Plot(show_label=False, elem_id="inside-updates", min_width=320)
    gr.Markdown(CAPTIONS["health"], elem_classes="lookinside-caption")
    with gr.Accordion("The numbers behind these plots", open=False):
        health_numbers = gr.JSON(show_label=False)
    gr.Markdown("### Bigram counts of a data set")
    dataset = gr.Dropdown(ctx.ws.list_datasets(), value="names", label="Data set", allow_custom_value=True,
                          elem_id="inside-dataset")
    bigram_plot, bigram_numbers = section("", CAPTIONS["bigram"], "inside-bigram")
    wire(ctx, tab, run_id, line, show, dataset, top_units, rank_by,
         dict(probs=(probs_plot, probs_numbers), embedding=(embed_plot, embed_numbers),
              hidden=(hidden_plot, hidden_numbers), attention=(attention_plot, attention_numbers),
              health=(health_acts, health_updates, health_numbers), bigram=(bigram_plot, bigram_numbers)))
    return SimpleNamespace(run_id=run_id, dataset=dataset)


def build_writer(ctx: Context, run_id, tab=None):
    """The interactive writer: the top next characters as choices; a click appends one; <end> finishes."""
    gr.Markdown("### Write with the model")
    prefix = gr.Textbox("", label="Line so far (or type a start)", max_lines=1, elem_id="writer-prefix")
    choices = gr.Radio([], label="Next character (click one)", elem_id="writer-choices")
    status = gr.Markdown("Pick the first character.", elem_id="writer-status")
    with gr.Row():
        undo = gr.Button("Undo last character", size="sm", min_width=120)
        restart = gr.Button("Start over", size="sm", min_width=100)
    top_n = gr.Slider(2, 20, value=8, step=1, label="how many choices")
    plot = gr.Plot(show_label=False, elem_id="writer-plot")
    gr.Markdown(CAPTIONS["writer"], elem_classes="lookinside-caption")
    with gr.Accordion("The numbers behind this plot", open=False):
        numbers = gr.JSON(show_label=False)

    @friendly
    def pick(run, written, choice):
        if not choice:
            return gr.skip(), gr.skip(), gr.skip()
        if choice != introspect.END_LABEL:
            return (written or "") + choice, gr.skip(), gr.skip()
        if not written:
            return gr.skip(), gr.update(value=None), "An empty line is not a line: pick a character first."
        model, vocab, _ = loaded(ctx, run)
        score = introspect.next_char_probs(model, vocab, written)
        return (gr.skip(), gr.update(choices=[], value=None),
                f"Finished: **{markdown_text(written)}** (log-probability {-score.total_surprisal:.2f} under this model). "
                "Undo to go on, or start over.")

    refresh = dict(fn=ctx.owned(friendly(lambda run, p, n: choices_view(ctx, run, p, n))),
                   inputs=[run_id, prefix, top_n, ctx.key],
                   outputs=[plot, numbers], show_progress="hidden", trigger_mode="always_last")
    to_radio = dict(fn=writer_state, inputs=numbers, outputs=[choices, status], api_visibility="private",
                    show_progress="hidden", trigger_mode="always_last")
    # one event for every redraw, so an older redraw never lands after a newer one (Undo and Start over redraw
    # through the prefix they change)
    triggers = [prefix.change, top_n.release, run_id.change] + ([tab.select] if tab is not None else [])
    gr.on(triggers, **refresh, api_name="next_char_choices").success(**to_radio)
    ctx.on(choices.input, pick, [run_id, prefix, choices], [prefix, choices, status], api_visibility="private",
           show_progress="hidden")
    undo.click(lambda p: (p or "")[:-1], prefix, prefix, api_visibility="private", show_progress="hidden")
    restart.click(lambda: "", None, prefix, api_visibility="private", show_progress="hidden")


def wire(ctx, tab, run_id, line, show, dataset, top_units, rank_by, out):
    """Show (or Enter, a new run, opening the tab) checks the run and line once, then draws every view."""
    @friendly
    def prepare(run, text):
        model, vocab, config = loaded(ctx, run)
        introspect.encode_line(model, vocab, text)  # one clear message for a bad line, not one per view
        name = config["dataset"]["name"]
        return gr.update(value=name) if name in ctx.ws.list_datasets() else gr.skip()

    triggers = [show.click, line.submit, run_id.change] + ([tab.select] if tab is not None else [])
    ready = gr.on(triggers, ctx.owned(prepare), [run_id, line, ctx.key], dataset, api_visibility="private",
                  show_progress="hidden", trigger_mode="always_last")
    quiet = dict(show_progress="minimal", trigger_mode="always_last")  # a newer request runs after, never dropped
    ctx.on(ready.success, friendly(lambda run_id, line: probs_view(ctx, run_id, line)), [run_id, line],
           list(out["probs"]), api_name="next_char_probs", **quiet)
    ctx.on(ready.success, friendly(lambda run_id: embedding_view(ctx, run_id)), run_id, list(out["embedding"]),
           api_name="embedding_map", **quiet)
    ctx.on(ready.success, friendly(lambda run_id, line: attention_view(ctx, run_id, line)), [run_id, line],
           list(out["attention"]), api_name="attention_map", **quiet)
    hidden = dict(fn=ctx.owned(friendly(lambda run_id, line, top_units, rank_by:
                                        hidden_view(ctx, run_id, line, top_units, rank_by))),
                  inputs=[run_id, line, top_units, rank_by, ctx.key], outputs=list(out["hidden"]), **quiet)
    ready.success(**hidden, api_name="hidden_activations")
    gr.on([top_units.release, rank_by.input], **hidden, api_visibility="private")
    health = dict(fn=ctx.owned(friendly(lambda run_id: health_view(ctx, run_id))), inputs=[run_id, ctx.key],
                  outputs=list(out["health"]))
    ready.success(**health, api_name="training_health", **quiet)
    gr.on([dataset.change] + ([tab.select] if tab is not None else []),
          ctx.owned(friendly(lambda dataset: bigram_view(ctx, dataset))), [dataset, ctx.key], list(out["bigram"]),
          api_name="bigram_counts", **quiet)

    def tick(run):
        """Every few seconds: redraw the training health while the chosen run trains."""
        try:
            if run and introspect.is_training(ctx.run(run)):
                return health_view(ctx, run)
        except MakemoreError:
            pass
        return gr.skip(), gr.skip(), gr.skip()

    ctx.on(gr.Timer(3.0).tick, tick, run_id, list(out["health"]), api_visibility="private", show_progress="hidden")
