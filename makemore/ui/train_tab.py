"""The Train tab: choose data and architecture, start a run, and watch it learn (refreshed by a timer).

After a reload it shows the visitor's latest queued or running run; a note says when a run overfits.
"""
import sys
import traceback
from types import SimpleNamespace

import gradio as gr

from ..diagnose import overfitting
from ..errors import ConfigError, MakemoreError
from ..models import ARCHITECTURES, BOUNDS
from .common import (Number, Context, api_twin, curve_label, fmt_seconds, friendly, in_page, inputs_for, loss_figure,
                     markdown_text, note, run_refresh, run_update, summary_frame)

MODEL_FIELDS = {  # field: label; only those the chosen architecture uses are shown
    "n_layer": "layers (n_layer)", "n_head": "attention heads (n_head)", "n_embd": "embedding size (n_embd)",
    "n_embd2": "hidden size (n_embd2)", "context": "context in characters", "dropout": "dropout",
}
DEFAULT_ARCH = "transformer"
DEFAULT_SECONDS = 60
DEFAULT_STEPS = 2000
FRESH_MODEL = ("(nothing: a fresh model)", "")  # the "start from" choice that fine-tunes nothing


def describe(ctx: Context, run_id: str) -> tuple[str, str]:
    """(status line, progress bar HTML) of a run."""
    summary = ctx.run(run_id).summary()
    status, state = summary.status, summary.state.value
    head = f"**{markdown_text(curve_label(summary))}** ({summary.params or 0:,} parameters)"
    best = status.best_test_loss
    best_text = f"best test loss **{best:.4f}**" if best is not None else "no evaluation yet"
    if state == "queued":
        queue = ctx.jobs.queued()
        position = queue.index(run_id) + 1 if run_id in queue else 1
        line = (f"**Queued** (position {position} of {len(queue)}): waiting for a free training slot; "
                f"{len(ctx.jobs.active())} of {ctx.jobs.limits.max_jobs} busy. {head}")
    elif state == "running":
        line = f"**Training** {head} · step {status.step:,} · {best_text}"
    elif state in ("failed", "interrupted"):
        line = f"**{state.capitalize()}** at step {status.step:,}: {markdown_text(status.error or '')} {head}"
    else:
        line = f"**{state.capitalize()}** at step {status.step:,} · {best_text} · {head}"
    return line, progress_bar(status)


def progress_bar(status) -> str:
    max_steps, budget, step, elapsed = status.max_steps or -1, status.time_budget or 0, status.step, status.elapsed
    fraction = status.progress
    rate = step / elapsed if elapsed > 0 else 0
    etas = ([(max_steps - step) / rate] if max_steps > 0 and rate else []) + ([budget - elapsed] if budget > 0 else [])
    parts = [f"step {step:,}" + (f" of {max_steps:,}" if max_steps > 0 else ""),
             f"{fmt_seconds(elapsed)} elapsed" + (f" of {fmt_seconds(budget)}" if budget > 0 else "")]
    if status.state.value == "running":
        parts.append(f"ETA {fmt_seconds(max(0, min(etas)))}" if etas else "ETA ?")
    if status.tokens_per_s:
        parts.append(f"{status.tokens_per_s:,.0f} tokens/s")
    color = {"running": "#2ca02c", "failed": "#d62728", "interrupted": "#ff7f0e"}.get(status.state.value, "#1f77b4")
    return (f'<div style="background:#e5e7eb;border-radius:6px;height:14px;overflow:hidden">'
            f'<div style="width:{fraction * 100:.1f}%;height:100%;background:{color};transition:width .5s"></div></div>'
            f'<div style="margin-top:4px;font-size:0.95em">{percent(fraction)} · {" · ".join(parts)}</div>')


def percent(fraction: float) -> str:
    """12%, or 0.3% for a run that has barely begun (never a misleading 0%)."""
    return f"{fraction * 100:.1f}%" if 0 < fraction < 0.1 else f"{fraction * 100:.0f}%"


def progress(ctx: Context, run_id):
    """Status line (with a note if the run overfits), progress bar, loss chart and latest samples of a run."""
    if not run_id:
        return "No run selected: start one on the left.", "", loss_figure([]), ""
    run = ctx.run(run_id)
    line, bar = describe(ctx, run_id)
    metrics = run.read_metrics()
    overfit = overfitting(metrics)
    if overfit:
        line += f"\n\n> ⚠ {overfit.message()}"
    return line, bar, loss_figure(metrics), "\n".join(run.read_samples())


def signature(ctx: Context, run_id):
    """Changes whenever anything the Train tab shows changes."""
    return (ctx.run(run_id).stamp() if run_id else None), ctx.ws.stamp()


def layout(ctx: Context) -> SimpleNamespace:
    """The Train tab's components: the form on the left, the chosen run on the right, every run below."""
    limits, spec, c = ctx.ws.limits, ARCHITECTURES[DEFAULT_ARCH], SimpleNamespace()
    with gr.Row():
        with gr.Column(scale=1, min_width=300):
            c.dataset = gr.Dropdown(ctx.ws.list_datasets(), value="names", label="Data set", allow_custom_value=True,
                                    elem_id="train-dataset")
            c.arch = gr.Dropdown([(a.title, a.name) for a in ARCHITECTURES.values()], value=DEFAULT_ARCH,
                                 label="Architecture", elem_id="train-arch")
            with gr.Row():
                c.amount = Number(DEFAULT_SECONDS, label="Train for", minimum=1, precision=0, min_width=100,
                                     elem_id="train-amount")
                c.unit = gr.Radio(["seconds", "steps"], value="seconds", label="unit", min_width=100,
                                  elem_id="train-unit")
            with gr.Accordion("Hyperparameters", open=False):
                c.model = {}  # values start blank (so API callers get each architecture's defaults); filled on load
                for name, label in MODEL_FIELDS.items():
                    visible = name in spec.uses
                    if name == "dropout":
                        c.model[name] = Number(None, label=label, minimum=0, maximum=0.9, step=0.05,
                                                  visible=visible)
                    else:
                        low, high = BOUNDS[name]
                        c.model[name] = Number(None, label=label, minimum=low, maximum=high, precision=0,
                                                  visible=visible)
                c.learning_rate = Number(None, label="learning rate", minimum=1e-6, maximum=10)
                c.batch_size = Number(None, label="batch size", minimum=1, maximum=65536, precision=0)
                c.weight_decay = Number(None, label="weight decay", minimum=0, maximum=10)
                c.eval_interval = Number(0, label="evaluate every N steps (0 = automatic)", minimum=0, precision=0)
            c.seed = Number(3407, label="seed", precision=0)
            c.start_from = gr.Dropdown([FRESH_MODEL] + ctx.run_choices(with_weights=True), value="",
                                       label="Start from a trained run (fine-tune: its architecture and shape, "
                                             "its learned characters)", elem_id="train-start-from")
            c.start = gr.Button("Start training", variant="primary", elem_id="train-start")
            c.start_message = gr.Markdown(elem_id="train-message", elem_classes=["mm-message"])
        with gr.Column(scale=2, min_width=300):
            with gr.Row(elem_classes=["mm-run-row"]):
                c.run_id = gr.Dropdown(ctx.run_choices(), label="Run", scale=4, allow_custom_value=True,
                                       elem_id="train-run", value=ctx.latest_run(), min_width=200)
                c.stop = gr.Button("Stop", variant="stop", scale=1, min_width=80, elem_id="train-stop")
                c.resume = gr.Button("Resume", scale=1, min_width=80, elem_id="train-resume")
            c.run_message = gr.Markdown(elem_id="train-run-message", elem_classes=["mm-message"])
            c.status = gr.Markdown(label="status", elem_id="train-status")
            c.bar = gr.HTML(label="progress", elem_id="train-progress")
            c.chart = gr.Plot(label="Loss", show_label=False, elem_id="train-chart")
            with gr.Accordion("Resume options (to train a finished run further)", open=False):
                with gr.Row():
                    c.more_steps = Number(0, label="raise max steps to (0 = keep)", minimum=0,
                                             maximum=limits.max_steps, precision=0)
                    c.more_seconds = Number(0, label="raise time budget to, seconds (0 = keep)", minimum=0,
                                               maximum=limits.max_time_budget)
            with gr.Accordion("Rename or share this run", open=False):
                with gr.Row(elem_classes=["mm-run-row"]):  # on a phone: the name full width, Rename below
                    c.new_name = gr.Textbox(label="new name", max_lines=1, scale=4, min_width=200, elem_id="train-name")
                    c.rename = gr.Button("Rename", scale=1, min_width=80, elem_id="train-rename")
                with gr.Row(equal_height=True):
                    c.publish = gr.Button("Publish (share link)", scale=1, min_width=120, elem_id="train-publish")
                    c.unpublish = gr.Button("Unpublish", scale=1, min_width=100, elem_id="train-unpublish")
                    c.published = gr.Checkbox(True, visible=False)
            c.samples = gr.Textbox(label="Latest samples", lines=8, max_lines=12, interactive=False,
                                   elem_id="train-samples")
    c.runs = gr.Dataframe(summary_frame(ctx.summaries()), label="All runs (click one to show it)",
                          interactive=False, max_height=300, elem_id="train-runs")
    c.refresh = gr.Button("Refresh", size="sm")
    return c


def build(ctx: Context) -> SimpleNamespace:
    c = layout(ctx)
    seen = gr.State(None)
    timer = gr.Timer(1.5)

    def on_arch(name):
        """Show the hyperparameters this architecture uses, with its defaults."""
        a = ARCHITECTURES[name]
        updates = [gr.update(visible=f in a.uses, value=a.defaults.get(f)) for f in MODEL_FIELDS]
        return (*updates, a.training["learning_rate"], a.training["batch_size"], a.training["weight_decay"], name)

    def start_training(dataset, arch, n_layer=None, n_head=None, n_embd=None, n_embd2=None, context=None, dropout=None,
                       learning_rate=None, batch_size=None, weight_decay=None, amount=DEFAULT_SECONDS, unit="seconds",
                       seed=3407, eval_interval=0, shown_for=None, start_from=None):
        """Create a run and queue it; returns at once. Blank hyperparameters take the architecture's defaults.
        With `start_from` (a run id) the run starts from that run's weights, architecture and shape."""
        values = dict(n_layer=n_layer, n_head=n_head, n_embd=n_embd, n_embd2=n_embd2, context=context,
                      dropout=dropout)
        if shown_for and shown_for != arch:  # Start came before the page showed the new architecture's values
            values, learning_rate, batch_size, weight_decay = {}, None, None, None
        if start_from and shown_for:  # in the page the shape comes from the run started from, not the fields
            arch, values = None, {"dropout": values.get("dropout")}
        values = {k: (float(v) if k == "dropout" else int(v)) for k, v in values.items() if v is not None}
        length = {"steps": int(amount)} if unit == "steps" and amount else {"seconds": amount}
        new = ctx.jobs.create(dataset, arch, values, **length, learning_rate=learning_rate,
                              batch_size=int(batch_size) if batch_size else None, weight_decay=weight_decay,
                              seed=int(seed), eval_interval=int(eval_interval or 0) or None,
                              init_from=start_from or None, ws=ctx.ws)
        return new, f"Started `{new}`: it is {ctx.ws.run(new).status().state}."

    def start_in_page(*values):
        new, _ = start_training(*values)
        summary = ctx.ws.run(new).summary()
        return run_update(ctx, new), f"Started **{markdown_text(summary.name)}**: it is {summary.state}."

    def stop_training(run):
        if not run:
            raise ConfigError("Pick a run to stop.")
        state, name = ctx.jobs.stop(run, ws=ctx.ws), markdown_text(ctx.run(run).summary().name)
        return {"stopping": f"Stopping **{name}**: it saves a checkpoint and ends within a second.",
                "stopped": f"**{name}** was waiting in the queue; it is now stopped (Resume queues it again)."}.get(
            state, f"**{name}** is not training (it is {state}).")

    def resume_training(run, max_steps, time_budget):
        """Queue a stopped or finished run again; one you do not own (shipped, or in the gallery) is first copied
        into your workspace, and the copy trains."""
        return resume(run, max_steps, time_budget)[1]

    def resume(run, max_steps, time_budget):
        if not run:
            raise ConfigError("Pick a run to resume.")
        queued = ctx.jobs.train_more(run, int(max_steps or 0) or None, float(time_budget or 0) or None, ws=ctx.ws)
        summary = ctx.ws.run(queued).summary()
        if queued != run:
            return queued, (f"Copied **{markdown_text(ctx.run(run).summary().name)}** into your workspace as "
                            f"**{markdown_text(summary.name)}** "
                            f"(the original stays as it is); the copy is {summary.state}.")
        return queued, f"**{markdown_text(summary.name)}** is {summary.state}."

    def resume_in_page(run, max_steps, time_budget):
        queued, text = resume(run, max_steps, time_budget)
        return run_update(ctx, queued), text

    def publish_run(run: str, published: bool = True) -> str:
        """Put one of your runs in the gallery, where anyone can see and sample it through its share link
        (`?run=<id>`), read-only; published=False takes it back."""
        if not run:
            raise ConfigError("Pick a run to publish.")
        ctx.owners.publish(ctx.ws, run, bool(published))
        name = markdown_text(ctx.run(run).summary().name)
        return (f"**{name}** is in the gallery: anyone with the link `?run={run}` can see and sample it, read-only."
                if published else f"**{name}** is private again.")

    def rename_run(run: str, name: str) -> str:
        """Give a run a new human name (1 to 60 printable characters); its id stays."""
        if not run:
            raise ConfigError("Pick a run to rename.")
        return f"Renamed: **{markdown_text(ctx.owners.own_run(ctx.ws, run).rename(name))}**."

    def rename_in_page(run, name):
        if not (name or "").strip():
            raise ConfigError("Type the new name first (the field shows the run's name now).")
        text = rename_run(run, name)
        return run_update(ctx, run), gr.update(value="", placeholder=ctx.run(run).summary().name), text

    def run_progress(run):
        return progress(ctx, run)

    def run_status(run: str) -> dict:
        """The run's status, latest metrics and samples as plain JSON (for API clients)."""
        r = ctx.run(run)
        metrics = r.read_metrics()
        evals = [m for m in metrics if m.get("kind") == "eval"]
        status = {k: v for k, v in r.status().to_dict().items() if k != "pid"}  # no process ids leave the server
        return {"run": run, "status": status, "records": len(metrics),
                "last_eval": evals[-1] if evals else None, "samples": r.read_samples()}

    def start_from_update():
        """Fresh "start from" choices: refreshed with the other lists (page load, tab opened, Refresh), never
        while the list is open, where a redraw moves the option under the pointer."""
        return gr.update(choices=[FRESH_MODEL] + ctx.run_choices(with_weights=True))

    def run_name(run):
        """The chosen run's name, shown as the name field's placeholder: the server never writes the field's
        value, so no event, however late it lands, replaces what the visitor is typing there."""
        try:
            name = ctx.run(run).summary().name if run else ""
        except MakemoreError:
            name = ""
        return gr.update(placeholder=name or "pick a run first")

    def tick(run, last):
        """Every 1.5 s: redraw only when a file of the run (or the list of runs) changed."""
        try:
            now = signature(ctx, run)
            if now != last:
                return (*progress(ctx, run), summary_frame(ctx.summaries()), now)
        except MakemoreError:  # a bad run name typed in: the run_id change event already said so
            pass
        except Exception:
            traceback.print_exc(file=sys.stderr)
        return (gr.skip(),) * 6

    def pick_row(table, evt: gr.SelectData):
        return table.iloc[evt.index[0]]["run id"] if evt.index is not None else gr.skip()

    private = dict(api_visibility="private", show_progress="hidden")
    model_inputs = [c.model[f] for f in MODEL_FIELDS]
    # The architecture whose values the fields hold, kept in the page (not a server-side State) so it always
    # arrives together with those values; blank from API clients, whose values are trusted.
    shown_for = gr.Textbox("", visible=False)
    start_fields = dict(dataset=c.dataset, arch=c.arch, **c.model, learning_rate=c.learning_rate,
                        batch_size=c.batch_size, weight_decay=c.weight_decay, amount=c.amount, unit=c.unit,
                        seed=c.seed, eval_interval=c.eval_interval, shown_for=shown_for, start_from=c.start_from)
    start_inputs = inputs_for(start_training, start_fields)
    c.arch.change(on_arch, c.arch, [*model_inputs, c.learning_rate, c.batch_size, c.weight_decay, shown_for],
                  api_visibility="private")
    c.unit.input(lambda u: DEFAULT_SECONDS if u == "seconds" else DEFAULT_STEPS, c.unit, c.amount, **private)
    # one click, one run: the button is disabled until the request is answered
    c.start.click(lambda: gr.update(interactive=False), None, c.start, queue=False, **private).then(
        ctx.owned(in_page(start_in_page, keep=1)), [*start_inputs, ctx.key], [c.run_id, c.start_message],
        **private).then(lambda: gr.update(interactive=True), None, c.start, queue=False, **private)
    ctx.on(c.stop.click, in_page(stop_training, keep=0), c.run_id, c.run_message, **private)
    ctx.on(c.resume.click, in_page(resume_in_page, keep=1), [c.run_id, c.more_steps, c.more_seconds],
           [c.run_id, c.run_message], **private)
    ctx.on(c.publish.click, in_page(lambda run: publish_run(run, True), keep=0), c.run_id, c.run_message, **private)
    ctx.on(c.unpublish.click, in_page(lambda run: publish_run(run, False), keep=0), c.run_id, c.run_message,
           **private)
    for renamed in (c.rename.click, c.new_name.submit):
        ctx.on(renamed, in_page(rename_in_page, keep=2), [c.run_id, c.new_name],
               [c.run_id, c.new_name, c.run_message], **private)
    shown = [c.status, c.bar, c.chart, c.samples]
    ctx.on(c.run_id.change, friendly(run_progress), c.run_id, shown, api_name="run_progress", show_progress="hidden")
    ctx.on(c.run_id.change, run_name, c.run_id, c.new_name, **private)
    c.run_id.input(lambda: note(""), None, c.run_message, **private)
    ctx.on(c.refresh.click, lambda: summary_frame(ctx.summaries()), None, c.runs, api_name="list_runs").then(
        ctx.owned(lambda run: (run_refresh(ctx, run), start_from_update())), [c.run_id, ctx.key],
        [c.run_id, c.start_from], **private)
    ctx.on(timer.tick, tick, [c.run_id, seen], [*shown, c.runs, seen], **private)
    c.runs.select(pick_row, c.runs, c.run_id, api_visibility="private")
    api_twin(ctx, start_training, start_inputs, [c.run_id, c.status], "start_training")
    api_twin(ctx, stop_training, c.run_id, c.status, "stop_training")
    api_twin(ctx, resume_training, [c.run_id, c.more_steps, c.more_seconds], c.status, "resume_training")
    api_twin(ctx, rename_run, [c.run_id, c.new_name], c.run_message, "rename_run")
    api_twin(ctx, publish_run, [c.run_id, c.published], c.run_message, "publish_run")
    gr.api(friendly(ctx.owned(run_status)), api_name="run_status")
    return SimpleNamespace(
        dataset=c.dataset, run_id=c.run_id, start_from=c.start_from, start_from_update=start_from_update,
        load=[(on_arch, c.arch, [*model_inputs, c.learning_rate, c.batch_size, c.weight_decay, shown_for]),
              (lambda: run_update(ctx, ctx.latest_run()), None, c.run_id), (start_from_update, None, c.start_from)])
