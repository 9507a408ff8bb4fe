"""The Look inside tab: what a trained model has learned, view by view, as the makemore lectures draw it.

The numbers come from the visitor's engine session (makemore.introspect); this module only draws them
(figures.py) and wires the views to named API endpoints, each returning the plot and the numbers.
"""
import textwrap

import gradio as gr

from .. import introspect
from ..engine import NotApplicable
from ..errors import MakemoreError
from . import figures
from .common import Context, bound, friendly, label_picker, label_update, markdown_text

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


def drawn(view, draw, digits=5):
    """(figure, numbers) of an introspection view; a view that does not apply says why instead."""
    if isinstance(view, NotApplicable):
        return figures.message_figure("<br>".join(textwrap.wrap(view.reason, 44)), 300), view.to_dict()
    return draw(view), rounded(view.to_dict(), digits)


def require(value, what="a run"):
    """No choice yet (the page opening before any run exists) is not worth an error box: a message only
    API clients see."""
    if not value:
        raise gr.Error(f"Pick {what} first.", visible=False, print_exception=False)


def next_char_probs(ctx: Context, run_id, line, label=None):
    """The next-character probabilities at every position of a line (the /next_char_probs endpoint); `label`:
    read it as a line of that label (a labelled run)."""
    require(run_id)
    return drawn(ctx.session.next_char_probs(run_id, line_or_example(ctx, run_id, line), label or None),
                 figures.probs_figure)


def next_char_choices(ctx: Context, run_id, prefix, top_n=8, label=None):
    """The likeliest next characters after a prefix (the writer; the /next_char_choices endpoint)."""
    require(run_id)
    return drawn(ctx.session.next_char_choices(run_id, prefix or "", int(top_n), label or None),
                 figures.choices_figure)


def embedding_map(ctx: Context, run_id):
    """The character embeddings projected to 2-D (the /embedding_map endpoint)."""
    require(run_id)
    return drawn(ctx.session.embedding_map(run_id), figures.embedding_figure)


def attention_map(ctx: Context, run_id, line, label=None):
    """Each attention head's weights along a line (transformers only; the /attention_map endpoint)."""
    require(run_id)
    return drawn(ctx.session.attention_map(run_id, line_or_example(ctx, run_id, line), label or None),
                 figures.attention_figure, 4)


def hidden_activations(ctx: Context, run_id, line, top_units=16, rank_by="activity", label=None):
    """The last hidden layer's units along a line (the /hidden_activations endpoint)."""
    require(run_id)
    view = ctx.session.hidden_activations(run_id, line_or_example(ctx, run_id, line), int(top_units),
                                          rank_by or "activity", label or None)
    return drawn(view, figures.hidden_figure, 4)


def training_health(ctx: Context, run_id):
    """Activation and update statistics over training (the /training_health endpoint)."""
    require(run_id)
    result = ctx.session.training_health(run_id)
    return (*figures.health_figures(result), rounded(result.to_dict()))


def bigram_counts(ctx: Context, dataset):
    """How often each character follows each other in a data set (the /bigram_counts endpoint)."""
    require(dataset, "a data set")
    result = ctx.session.bigram_counts(dataset)
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


def section(title: str, caption: str, elem_id: str, numbers_label="The numbers behind this plot") -> list:
    """A view's [plot, numbers] under its title and caption."""
    if title:
        gr.Markdown(f"### {title}")
    plot = gr.Plot(show_label=False, elem_id=elem_id)
    gr.Markdown(caption, elem_classes="lookinside-caption")
    with gr.Accordion(numbers_label, open=False):
        numbers = gr.JSON(show_label=False)
    return [plot, numbers]


def layout(ctx: Context) -> dict:
    """The tab's components by name: the run and line, then one section per view."""
    e = {}
    gr.Markdown(INTRO)
    gallery = ctx.gallery_choices(with_weights=True)
    with gr.Row():
        e["run_id"] = gr.Dropdown(gallery, value=gallery[0][1] if gallery else None, label="Run",
                                  allow_custom_value=True, elem_id="inside-run", scale=2, min_width=220)
        e["line"] = gr.Textbox("", label="Line to look at (blank: a line of the run's own data)", max_lines=1,
                               elem_id="inside-line", scale=2, min_width=160, placeholder=DEFAULT_LINE)
        e["show"] = gr.Button("Show", variant="primary", elem_id="inside-show", scale=1, min_width=90, size="md")
    e["label"] = label_picker("inside-label")
    with gr.Row():
        with gr.Column(scale=3, min_width=320):
            e["probs"] = section("Next-character probabilities along the line", CAPTIONS["probs"], "inside-probs")
        with gr.Column(scale=2, min_width=300):
            e.update(writer_layout())
    with gr.Row():
        with gr.Column(min_width=320):
            e["embedding"] = section("Character embedding map", CAPTIONS["embedding"], "inside-embedding")
        with gr.Column(min_width=320):
            with gr.Row():
                e["top_units"] = gr.Slider(4, 64, value=16, step=1, label="units shown", min_width=140)
                e["rank_by"] = gr.Radio([("most active", "activity"), ("most changing", "change")],
                                        value="activity", label="rank units by", min_width=160)
            e["hidden"] = section("Hidden units along the line", CAPTIONS["hidden"], "inside-hidden")
    e["attention"] = section("Attention", CAPTIONS["attention"], "inside-attention")
    e["health"] = health_layout()
    gr.Markdown("### Bigram counts of a data set")
    e["dataset"] = gr.Dropdown(ctx.engine.bundled_datasets(), value="names", label="Data set",
                               allow_custom_value=True, elem_id="inside-dataset")
    e["bigram"] = section("", CAPTIONS["bigram"], "inside-bigram")
    return e


def health_layout() -> list:
    """The training health section: two plots and their numbers."""
    gr.Markdown("### Training health")
    with gr.Row():
        activations = gr.Plot(show_label=False, elem_id="inside-health", min_width=320)
        updates = gr.Plot(show_label=False, elem_id="inside-updates", min_width=320)
    gr.Markdown(CAPTIONS["health"], elem_classes="lookinside-caption")
    with gr.Accordion("The numbers behind these plots", open=False):
        numbers = gr.JSON(show_label=False)
    return [activations, updates, numbers]


def writer_layout() -> dict:
    """The interactive writer's components: the top next characters as choices; a click appends one."""
    gr.Markdown("### Write with the model")
    e = {"prefix": gr.Textbox("", label="Line so far (or type a start)", max_lines=1, elem_id="writer-prefix"),
         "choices": gr.Radio([], label="Next character (click one)", elem_id="writer-choices"),
         "writer_status": gr.Markdown("Pick the first character.", elem_id="writer-status")}
    with gr.Row():
        e["undo"] = gr.Button("Undo last character", size="sm", min_width=120)
        e["restart"] = gr.Button("Start over", size="sm", min_width=100)
    e["top_n"] = gr.Slider(2, 20, value=8, step=1, label="how many choices")
    e["writer"] = [gr.Plot(show_label=False, elem_id="writer-plot")]
    gr.Markdown(CAPTIONS["writer"], elem_classes="lookinside-caption")
    with gr.Accordion("The numbers behind this plot", open=False):
        e["writer"].append(gr.JSON(show_label=False))
    return e


def pick(ctx: Context, run_id, written, choice, label=None):
    """A click on a next character appends it; `<end>` finishes the line and scores it."""
    if not choice:
        return gr.skip(), gr.skip(), gr.skip()
    if choice != introspect.END_LABEL:
        return (written or "") + choice, gr.skip(), gr.skip()
    if not written:
        return gr.skip(), gr.update(value=None), "An empty line is not a line: pick a character first."
    score = ctx.session.next_char_probs(run_id, written, label or None)
    return (gr.skip(), gr.update(choices=[], value=None),
            f"Finished: **{markdown_text(written)}** (log-probability {-score.total_surprisal:.2f} under this model). "
            "Undo to go on, or start over.")


def wire_writer(ctx: Context, e: dict, tab=None):
    """One event for every redraw of the writer, so an older redraw never lands after a newer one (Undo and
    Start over redraw through the prefix they change)."""
    numbers = e["writer"][1]
    refresh = dict(fn=ctx.owned(friendly(bound(next_char_choices, ctx))),
                   inputs=[e["run_id"], e["prefix"], e["top_n"], e["label"], ctx.key],
                   outputs=e["writer"], show_progress="hidden", trigger_mode="always_last")
    to_radio = dict(fn=writer_state, inputs=numbers, outputs=[e["choices"], e["writer_status"]],
                    api_visibility="private", show_progress="hidden", trigger_mode="always_last")
    triggers = [e["prefix"].change, e["top_n"].release, e["run_id"].change, e["label"].input] + \
        ([tab.select] if tab is not None else [])
    gr.on(triggers, **refresh, api_name="next_char_choices").success(**to_radio)
    ctx.on(e["choices"].input, friendly(bound(pick, ctx)), [e["run_id"], e["prefix"], e["choices"], e["label"]],
           [e["prefix"], e["choices"], e["writer_status"]], api_visibility="private", show_progress="hidden")
    e["undo"].click(lambda p: (p or "")[:-1], e["prefix"], e["prefix"], api_visibility="private",
                    show_progress="hidden")
    e["restart"].click(lambda: "", None, e["prefix"], api_visibility="private", show_progress="hidden")


def create_tab(ctx: Context, tab=None) -> dict:
    e = layout(ctx)
    ctx.manager.add("inside", e)
    wire_writer(ctx, e, tab)
    wire(ctx, e, tab)
    return e


def prepare(ctx: Context, run_id, line, label=None):
    """Check the run and line once (one clear message for a bad line, not one per view); show the run's data set
    in the bigram section, and the line a blank field stands for as the field's placeholder (the server never
    writes the field's value, so nothing replaces what the visitor types). (data set, line field, label)"""
    require(run_id)
    name = ctx.session.check_line(run_id, line_or_example(ctx, run_id, line))
    example = line_or_example(ctx, run_id, "")
    return (gr.update(value=name) if name in ctx.session.datasets() else gr.skip(), gr.update(placeholder=example),
            label_update(ctx, run_id, label))


def line_or_example(ctx: Context, run_id, line) -> str:
    """The line typed, else a line of the run's own data set (its first test line), else "emma"."""
    return (line or "").strip() or ctx.session.example_line(run_id) or DEFAULT_LINE


def health_tick(ctx: Context, run_id):
    """Every few seconds: redraw the training health while the chosen run trains."""
    try:
        if run_id and ctx.session.is_training(run_id):
            return training_health(ctx, run_id)
    except MakemoreError:
        pass
    return gr.skip(), gr.skip(), gr.skip()


def wire(ctx: Context, e: dict, tab=None):
    """Show (or Enter, a new run, opening the tab) checks the run and line once, then draws every view."""
    run_id, line, opened = e["run_id"], e["line"], ([tab.select] if tab is not None else [])
    label = e["label"]
    ready = gr.on([e["show"].click, line.submit, run_id.change, label.input, *opened],
                  ctx.owned(friendly(bound(prepare, ctx))), [run_id, line, label, ctx.key],
                  [e["dataset"], line, label], api_visibility="private", show_progress="hidden",
                  trigger_mode="always_last")
    quiet = dict(show_progress="minimal", trigger_mode="always_last")  # a newer request runs after, never dropped
    views = [(next_char_probs, [run_id, line, label], "probs"), (embedding_map, [run_id], "embedding"),
             (attention_map, [run_id, line, label], "attention"), (training_health, [run_id], "health")]
    for fn, inputs, out in views:
        ctx.on(ready.success, friendly(bound(fn, ctx)), inputs, list(e[out]), api_name=fn.__name__, **quiet)
    hidden = dict(fn=ctx.owned(friendly(bound(hidden_activations, ctx))),
                  inputs=[run_id, line, e["top_units"], e["rank_by"], label, ctx.key], outputs=list(e["hidden"]),
                  **quiet)
    ready.success(**hidden, api_name="hidden_activations")
    gr.on([e["top_units"].release, e["rank_by"].input], **hidden, api_visibility="private")
    gr.on([e["dataset"].change, *opened], ctx.owned(friendly(bound(bigram_counts, ctx))), [e["dataset"], ctx.key],
          list(e["bigram"]), api_name="bigram_counts", **quiet)
    ctx.on(gr.Timer(3.0).tick, bound(health_tick, ctx), run_id, list(e["health"]), api_visibility="private",
           show_progress="hidden")
