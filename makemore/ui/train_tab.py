"""The Train tab: choose data and architecture, start a run, and watch it learn (refreshed by a timer).

After a reload it shows the visitor's latest queued or running run; a note says when a run overfits.
"""
import inspect
import sys
import traceback

import gradio as gr

from ..diagnose import overfitting
from ..errors import ConfigError, MakemoreError
from ..budgets import defaults_for
from ..hparams import api_parameters, coerce
from ..models import ARCHITECTURES, DEFAULT_ARCH, hyperparameter_fields
from .common import (CPU_BOUND, PRIVATE, Context, Number, PageLoad, bound, curve_label, download_folder, fmt_seconds,
                     friendly, in_page, inputs_for, loss_figure, markdown_text, note, run_choices, run_refresh,
                     run_update, summary_frame)

FIELDS = {f["name"]: f for f in hyperparameter_fields()}  # generated from makemore/hparams.py
# the hyperparameters the start-a-run API and the form take (seed and eval_interval have their own places)
HPARAMS = [p for p in api_parameters() if p.name not in ("seed", "eval_interval")]
MODEL_FIELDS = [p.name for p in HPARAMS if FIELDS[p.name]["group"] == "model"]  # shown if the arch uses it
TRAINING_FIELDS = [p.name for p in HPARAMS if FIELDS[p.name]["group"] == "train"]  # per-architecture defaults
DEFAULT_SECONDS = 60
DEFAULT_STEPS = 2000
FRESH_MODEL = ("(nothing: a fresh model)", "")  # the "start from" choice that fine-tunes nothing
SHOWN = ("status", "bar", "chart", "samples")  # what the tab shows of the chosen run
FOR = ("arch", "amount", "unit", "dataset")  # what the form's defaults depend on


def describe(ctx: Context, run_id: str) -> tuple[str, str]:
    """(status line, progress bar HTML) of a run."""
    summary = ctx.session.run(run_id)
    status, state = summary.status, summary.state.value
    head = f"**{markdown_text(curve_label(summary))}** ({summary.params or 0:,} parameters)"
    best = status.best_test_loss
    best_text = f"best test loss **{best:.4f}**" if best is not None else "no evaluation yet"
    if best is not None and status.best_val_loss is not None:
        best_text = f"test loss **{best:.4f}** at the checkpoint best on validation"
    if starting(status):
        line = (f"**Starting** {head}: the training process is loading (its first evaluation comes in a few "
                "seconds).")
    elif state == "queued":
        place = ctx.session.queue_place(run_id)
        line = (f"**Queued** (position {place.position} of {place.queued}): waiting for a free training slot; "
                f"{place.busy} of {place.slots} busy. {head}")
    elif state == "running":
        line = f"**Training** {head} · step {status.step:,} · {best_text}"
    elif state in ("failed", "interrupted"):
        line = f"**{state.capitalize()}** at step {status.step:,}: {markdown_text(status.error or '')} {head}"
    else:
        line = f"**{state.capitalize()}** at step {status.step:,} · {best_text} · {head}"
    return line, progress_bar(status)


def starting(status) -> bool:
    """Running, but the worker has not evaluated yet: it is still loading, or at its first evaluation."""
    return status.state.value == "running" and status.step == 0 and status.best_test_loss is None


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
    line, bar = describe(ctx, run_id)
    metrics = ctx.session.metrics(run_id)
    overfit = overfitting(metrics)
    if overfit:
        line += f"\n\n> ⚠ {overfit.message()}"
    return line, bar, loss_figure(metrics), samples_update(ctx, run_id, metrics)


def samples_update(ctx: Context, run_id, metrics: list[dict]):
    """The latest samples, labelled with the step and test loss of the weights that wrote them (samples at
    step 0 come from an untrained model, and say so)."""
    samples, step = ctx.session.samples_at(run_id)
    if not samples:
        return gr.update(value="", label="Latest samples (none yet: they come with the first evaluation)")
    loss = next((m["test_loss"] for m in reversed(metrics) if m.get("kind") == "eval" and m.get("step") == step), None)
    where = f"at step {step:,}" if step is not None else "at the latest evaluation"
    how = f", test loss {loss:.3f}" if loss is not None else ""
    untrained = " — untrained weights, gibberish expected" if step == 0 else ""
    return gr.update(value="\n".join(samples), label=f"Latest samples, {where}{how}{untrained}")


def signature(ctx: Context, run_id):
    """Changes whenever anything the Train tab shows changes."""
    return (ctx.session.run_stamp(run_id) if run_id else None), ctx.session.runs_stamp()


def field(name: str, visible=True) -> Number:
    """A blank number field for a hyperparameter, with its declared label, bounds and step."""
    f = FIELDS[name]
    return Number(None, label=f["label"], minimum=f["minimum"], maximum=f["maximum"], step=f["step"] or 1,
                  precision=0 if f["kind"] == "int" else None, visible=visible)


def hyperparameter_form(arch: str) -> dict:
    """The form's hyperparameter fields by name; those `arch` does not use are hidden. Values start blank (so
    API callers get each architecture's defaults); the page fills them on load."""
    uses = ARCHITECTURES[arch].uses
    e = {name: field(name, visible=name in uses) for name in MODEL_FIELDS}
    e.update({name: field(name) for name in TRAINING_FIELDS})
    e["eval_interval"] = Number(0, label="evaluate every N steps (0 = automatic)", minimum=0, precision=0)
    return e


def layout_form(ctx: Context) -> dict:
    """The form on the left: data, architecture, how long, hyperparameters, what to start from."""
    e = {}
    e["dataset"] = gr.Dropdown(ctx.engine.bundled_datasets(), value="names", label="Data set",
                               allow_custom_value=True, elem_id="train-dataset")
    e["arch"] = gr.Dropdown([(a.title, a.name) for a in ARCHITECTURES.values()], value=DEFAULT_ARCH,
                            label="Architecture", elem_id="train-arch")
    with gr.Row():
        e["amount"] = Number(DEFAULT_SECONDS, label="Train for", minimum=1, precision=0, min_width=100,
                             elem_id="train-amount")
        e["unit"] = gr.Radio(["seconds", "steps"], value="seconds", label="unit", min_width=100, elem_id="train-unit")
    with gr.Accordion("Hyperparameters", open=False):
        e["defaults_note"] = gr.Markdown(elem_id="train-defaults-note", elem_classes=["mm-note"])
        e.update(hyperparameter_form(DEFAULT_ARCH))
    e["seed"] = Number(3407, label="seed", precision=0)
    e["start_from"] = gr.Dropdown([FRESH_MODEL] + ctx.gallery_choices(with_weights=True), value="",
                                  label="Start from a trained run (fine-tune: its architecture and shape, "
                                        "its learned characters)", elem_id="train-start-from")
    e["start"] = gr.Button("Start training", variant="primary", elem_id="train-start")
    e["start_message"] = gr.Markdown(elem_id="train-message", elem_classes=["mm-message"])
    # The architecture whose values the fields hold, kept in the page (not a server-side State) so it always
    # arrives together with those values; blank from API clients, whose values are trusted.
    e["shown_for"] = gr.Textbox("", visible=False)
    return e


def layout_run(ctx: Context) -> dict:
    """The chosen run on the right: its controls, status, progress, chart and latest samples."""
    limits, e = ctx.engine.limits, {}
    with gr.Row(elem_classes=["mm-run-row"]):
        e["run_id"] = gr.Dropdown(ctx.gallery_choices(), label="Run", scale=4, allow_custom_value=True,
                                  elem_id="train-run", value=None, min_width=200)
        e["stop"] = gr.Button("Stop", variant="stop", scale=1, min_width=80, elem_id="train-stop")
        e["resume"] = gr.Button("Resume", scale=1, min_width=80, elem_id="train-resume")
    e["run_message"] = gr.Markdown(elem_id="train-run-message", elem_classes=["mm-message"])
    e["status"] = gr.Markdown(label="status", elem_id="train-status")
    e["bar"] = gr.HTML(label="progress", elem_id="train-progress")
    e["chart"] = gr.Plot(label="Loss", show_label=False, elem_id="train-chart")
    with gr.Accordion("Resume options (to train a finished run further)", open=False):
        with gr.Row():
            e["max_steps"] = Number(0, label="raise max steps to (0 = keep)", minimum=0, maximum=limits.max_steps,
                                    precision=0)
            e["time_budget"] = Number(0, label="raise time budget to, seconds (0 = keep)", minimum=0,
                                      maximum=limits.max_time_budget)
    with gr.Accordion("Rename or share this run", open=False):
        with gr.Row(elem_classes=["mm-run-row"]):  # on a phone: the name full width, Rename below
            e["name"] = gr.Textbox(label="new name", max_lines=1, scale=4, min_width=200, elem_id="train-name")
            e["rename"] = gr.Button("Rename", scale=1, min_width=80, elem_id="train-rename")
        with gr.Row(equal_height=True):
            e["publish"] = gr.Button("Publish (share link)", scale=1, min_width=120, elem_id="train-publish")
            e["unpublish"] = gr.Button("Unpublish", scale=1, min_width=100, elem_id="train-unpublish")
            e["published"] = gr.Checkbox(True, visible=False)
        with gr.Row():
            e["export"] = gr.Button("Download as a web page", scale=1, min_width=120, elem_id="train-export")
            e["export_file"] = gr.File(label="web page (.zip)", interactive=False, scale=2, min_width=200,
                                       elem_id="train-export-file")
        e["include_training_lines"] = gr.Checkbox(
            False, label="include the training lines (hashed) so the page can offer 'only new'; off: your data "
                         "stays here", elem_id="train-export-lines")
    e["samples"] = gr.Textbox(label="Latest samples", lines=8, max_lines=12, interactive=False,
                              elem_id="train-samples")
    return e


def layout(ctx: Context) -> dict:
    """The Train tab's components by name: the form on the left, the chosen run on the right, every run below."""
    with gr.Row():
        with gr.Column(scale=1, min_width=300):
            e = layout_form(ctx)
        with gr.Column(scale=2, min_width=300):
            e.update(layout_run(ctx))
    e["runs"] = gr.Dataframe(summary_frame(ctx.engine.gallery()), label="All runs (click one to show it)",
                             interactive=False, max_height=300, elem_id="train-runs")
    e["refresh"] = gr.Button("Refresh", size="sm")
    e["seen"] = gr.State(None)
    e["started"] = gr.State(None)  # the run the note under Start is about
    e["timer"] = gr.Timer(1.5)
    return e


# --- what the buttons do (plain functions of the visitor's session) -------------------------------
def architecture_defaults(arch, amount=DEFAULT_SECONDS, unit="seconds", lines=None):
    """The hyperparameter fields of an architecture trained for `amount` `unit` on `lines` lines: shown if it
    uses them, filled with the measured best for that time budget (budgets.py; the architecture's defaults for
    a step limit), and the note saying where the values came from."""
    seconds = float(amount or 0) if unit == "seconds" else None
    a, row = ARCHITECTURES[arch], defaults_for(arch, seconds, lines)
    updates = {name: gr.update(visible=name in a.uses, value=row.model.get(name, FIELDS[name]["defaults"].get(arch)))
               for name in MODEL_FIELDS}
    training = {name: row.train.get(name, a.training[name]) for name in TRAINING_FIELDS}
    return {**updates, **training, "shown_for": arch, "defaults_note": row.note}


def form_defaults(ctx: Context, shown: dict) -> dict:
    """The form's fields for what it shows (architecture, how long, which data set), by component name."""
    try:
        lines = len(ctx.session.dataset(shown["train.dataset"]).lines) if shown["train.dataset"] else None
    except MakemoreError:  # a data set that cannot be read: the start button says why
        lines = None
    values = architecture_defaults(shown["train.arch"], shown["train.amount"], shown["train.unit"], lines)
    return {f"train.{k}": v for k, v in values.items()}


def start_run(ctx: Context, dataset, arch, amount=DEFAULT_SECONDS, unit="seconds", seed=3407, eval_interval=0,
              shown_for=None, start_from=None, **values):
    """Create a run and queue it; returns (its id, a message). `values`: the declared hyperparameters, blank for
    the architecture's defaults. With `start_from` (a run id) the run starts from that run's weights,
    architecture and shape."""
    values = {k: coerce(k, v) for k, v in values.items() if v is not None}
    if shown_for and shown_for != arch:  # Start came before the page showed the new architecture's values
        values = {}
    model = {k: v for k, v in values.items() if k in MODEL_FIELDS}
    if start_from and shown_for:  # in the page the shape comes from the run started from, not the fields
        arch, model = None, {k: v for k, v in model.items() if k == "dropout"}
    length = {"steps": int(amount)} if unit == "steps" and amount else {"seconds": amount}
    train = {k: v for k, v in values.items() if k in TRAINING_FIELDS}
    new = ctx.session.start_training(dataset, arch, model, **length, **train, seed=int(seed),
                                     eval_interval=int(eval_interval or 0) or None, init_from=start_from or None)
    return new.id, f"Started `{new.id}`: it is {new.state}."


def parameter(name, default=inspect.Parameter.empty):
    return inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=default)


# /start_training's parameters: the data set and architecture, the declared hyperparameters, then how long
START = inspect.Signature([parameter("ctx"), parameter("dataset"), parameter("arch"),
                           *(p.replace(kind=inspect.Parameter.POSITIONAL_OR_KEYWORD) for p in HPARAMS),
                           parameter("amount", DEFAULT_SECONDS), parameter("unit", "seconds"), parameter("seed", 3407),
                           parameter("eval_interval", 0), parameter("shown_for", None),
                           parameter("start_from", None)])


def start_training(*values, **named):
    """Create a run and queue it; returns at once. Blank hyperparameters take the architecture's defaults.
    With `start_from` (a run id) the run starts from that run's weights, architecture and shape."""
    given = START.bind(*values, **named)
    given.apply_defaults()
    return start_run(**given.arguments)


start_training.__signature__ = START


def start_in_page(ctx: Context, *values):
    run_id, _ = start_training(ctx, *values)
    summary = ctx.session.run(run_id)
    return (run_update(ctx, run_id), run_id,
            f"Started **{markdown_text(summary.name)}**: its progress is on the right.")


def stop_training(ctx: Context, run_id):
    """Ask a run to stop: it saves a checkpoint and ends within a second (the /stop_training endpoint)."""
    if not run_id:
        raise ConfigError("Pick a run to stop.")
    state, name = ctx.session.stop_training(run_id), markdown_text(ctx.session.run(run_id).name)
    return {"stopping": f"Stopping **{name}**: it saves a checkpoint and ends within a second.",
            "stopped": f"**{name}** was waiting in the queue; it is now stopped (Resume queues it again)."}.get(
        state, f"**{name}** is not training (it is {state}).")


def resume(ctx: Context, run_id, max_steps, time_budget):
    """Queue a stopped or finished run again; one the visitor does not own (shipped, or in the gallery) is first
    copied into their workspace, and the copy trains. (the run queued, a message)"""
    if not run_id:
        raise ConfigError("Pick a run to resume.")
    queued = ctx.session.resume_training(run_id, int(max_steps or 0) or None, float(time_budget or 0) or None)
    if queued.id != run_id:
        return queued.id, (f"Copied **{markdown_text(ctx.session.run(run_id).name)}** into your workspace as "
                           f"**{markdown_text(queued.name)}** (the original stays as it is); the copy is "
                           f"{queued.state}.")
    return queued.id, f"**{markdown_text(queued.name)}** is {queued.state}."


def resume_training(ctx: Context, run_id, max_steps, time_budget):
    """Queue a stopped or finished run again (the /resume_training endpoint)."""
    return resume(ctx, run_id, max_steps, time_budget)[1]


def resume_in_page(ctx: Context, run_id, max_steps, time_budget):
    queued, text = resume(ctx, run_id, max_steps, time_budget)
    return run_update(ctx, queued), text


def publish_run(ctx: Context, run_id: str, published: bool = True) -> str:
    """Put one of your runs in the gallery, where anyone can see and sample it through its share link
    (`?run=<id>`), read-only; published=False takes it back."""
    if not run_id:
        raise ConfigError("Pick a run to publish.")
    ctx.session.publish_run(run_id, bool(published))
    name = markdown_text(ctx.session.run(run_id).name)
    return (f"**{name}** is in the gallery: anyone with the link `?run={run_id}` can see and sample it, read-only."
            if published else f"**{name}** is private again.")


def export_page(ctx: Context, run_id: str, include_training_lines: bool = False) -> str:
    """The run as a web page that samples in the browser with no server (index.html, makemore.js, model.js and
    a README.md that makes the folder a static Space), zipped; the training lines only if asked for."""
    if not run_id:
        raise ConfigError("Pick a run to download as a web page.")
    page = ctx.session.export_page(run_id, bool(include_training_lines))
    path = download_folder() / page.filename
    path.write_bytes(page.data)
    return str(path)


def export_in_page(ctx: Context, run_id, include_training_lines):
    path = export_page(ctx, run_id, include_training_lines)
    return path, ("Unzip it and open index.html, or push the folder to a new Hugging Face Space "
                  "(its README.md makes it a static Space).")


def rename_run(ctx: Context, run_id: str, name: str) -> str:
    """Give a run a new human name (1 to 60 printable characters); its id stays."""
    if not run_id:
        raise ConfigError("Pick a run to rename.")
    return f"Renamed: **{markdown_text(ctx.session.rename_run(run_id, name))}**."


def rename_in_page(ctx: Context, run_id, name):
    if not (name or "").strip():
        raise ConfigError("Type the new name first (the field shows the run's name now).")
    text = rename_run(ctx, run_id, name)
    return run_update(ctx, run_id), gr.update(value="", placeholder=ctx.session.run(run_id).name), text


def run_progress(ctx: Context, run_id):
    """The run's status line, progress bar, loss chart and latest samples (the /run_progress endpoint)."""
    return progress(ctx, run_id)


def run_status(ctx: Context, run_id: str) -> dict:
    """The run's status, latest metrics and samples as plain JSON (for API clients)."""
    metrics = ctx.session.metrics(run_id)
    evals = [m for m in metrics if m.get("kind") == "eval"]
    status = {k: v for k, v in ctx.session.status(run_id).to_dict().items() if k != "pid"}  # no process ids leave
    return {"run_id": run_id, "status": status, "records": len(metrics),
            "last_eval": evals[-1] if evals else None, "samples": ctx.session.samples(run_id)}


def list_runs(ctx: Context):
    """Every run the visitor can see: theirs, newest first, then the gallery (the /list_runs endpoint)."""
    return summary_frame(ctx.session.runs())


def start_from_update(ctx: Context):
    """Fresh "start from" choices: refreshed with the other lists (page load, tab opened, Refresh), never
    while the list is open, where a redraw moves the option under the pointer."""
    return gr.update(choices=[FRESH_MODEL] + run_choices(ctx.session, with_weights=True))


def run_name(ctx: Context, run_id):
    """The chosen run's name, shown as the name field's placeholder: the server never writes the field's
    value, so no event, however late it lands, replaces what the visitor is typing there."""
    try:
        name = ctx.session.run(run_id).name if run_id else ""
    except MakemoreError:
        name = ""
    return gr.update(placeholder=name or "pick a run first")


def tick(ctx: Context, run_id, last, started=None):
    """Every 1.5 s: redraw only when a file of the run (or the list of runs) changed. Once the run the note
    under Start is about has ended, the note goes (it would tell of a run long finished)."""
    try:
        now = signature(ctx, run_id)
        if now != last:
            ended = bool(run_id) and run_id == started and not ctx.session.is_training(run_id)
            return (*progress(ctx, run_id), summary_frame(ctx.session.runs()), now,
                    note("") if ended else gr.skip())
    except MakemoreError:  # a bad run name typed in: the run_id change event already said so
        pass
    except Exception:
        traceback.print_exc(file=sys.stderr)
    return (gr.skip(),) * 7


def pick_row(table, evt: gr.SelectData):
    return table.iloc[evt.index[0]]["run id"] if evt.index is not None else gr.skip()


# --- wiring -----------------------------------------------------------------------------------
def wire_form(ctx: Context, e: dict):
    """The form's events: an architecture shows its fields; Start (disabled while its request is out)."""
    fields = [*MODEL_FIELDS, *TRAINING_FIELDS, "shown_for", "defaults_note"]
    ctx.on_names([e["arch"].change, e["amount"].change, e["unit"].change, e["dataset"].change],
                 lambda shown: form_defaults(ctx, shown), [f"train.{n}" for n in FOR],
                 [f"train.{name}" for name in fields])
    e["unit"].input(lambda u: DEFAULT_SECONDS if u == "seconds" else DEFAULT_STEPS, e["unit"], e["amount"], **PRIVATE)
    # one click, one run: the button is disabled until the request is answered
    e["start"].click(lambda: gr.update(interactive=False), None, e["start"], queue=False, **PRIVATE).then(
        ctx.owned(in_page(bound(start_in_page, ctx), keep=2)), [*inputs_for(start_training, e, skip=1), ctx.key],
        [e["run_id"], e["started"], e["start_message"]], **PRIVATE).then(
        lambda: gr.update(interactive=True), None, e["start"], queue=False, **PRIVATE)


def wire_run(ctx: Context, e: dict):
    """The chosen run's events: stop, resume, rename, publish; its redraws."""
    run_id, message = e["run_id"], e["run_message"]
    ctx.on(e["stop"].click, in_page(bound(stop_training, ctx), keep=0), run_id, message, **PRIVATE)
    ctx.on(e["resume"].click, in_page(bound(resume_in_page, ctx), keep=1), [run_id, e["max_steps"], e["time_budget"]],
           [run_id, message], **PRIVATE)
    ctx.on(e["publish"].click, in_page(lambda run: publish_run(ctx, run, True), keep=0), run_id, message, **PRIVATE)
    ctx.on(e["unpublish"].click, in_page(lambda run: publish_run(ctx, run, False), keep=0), run_id, message,
           **PRIVATE)
    ctx.on(e["export"].click, in_page(bound(export_in_page, ctx), keep=1), [run_id, e["include_training_lines"]],
           [e["export_file"], message], **PRIVATE, **CPU_BOUND)
    for renamed in (e["rename"].click, e["name"].submit):
        ctx.on(renamed, in_page(bound(rename_in_page, ctx), keep=2), [run_id, e["name"]], [run_id, e["name"], message],
               **PRIVATE)
    shown = [e[name] for name in SHOWN]
    ctx.on(run_id.change, friendly(bound(run_progress, ctx)), run_id, shown, api_name="run_progress",
           show_progress="hidden")
    ctx.on(run_id.change, bound(run_name, ctx), run_id, e["name"], **PRIVATE)
    run_id.input(lambda: note(""), None, message, **PRIVATE)
    ctx.on(e["refresh"].click, lambda: list_runs(ctx), None, e["runs"], api_name="list_runs").then(
        ctx.owned(lambda run: (run_refresh(ctx, run), start_from_update(ctx))), [run_id, ctx.key],
        [run_id, e["start_from"]], **PRIVATE)
    ctx.on(e["timer"].tick, bound(tick, ctx), [run_id, e["seen"], e["started"]],
           [*shown, e["runs"], e["seen"], e["start_message"]],
           **PRIVATE)
    e["runs"].select(pick_row, e["runs"], run_id, api_visibility="private")


def endpoints(ctx: Context, e: dict):
    """The tab's named API endpoints, each registered once."""
    ctx.endpoint(bound(start_training, ctx), inputs_for(start_training, e, skip=1), [e["run_id"], e["status"]],
                 "start_training")
    ctx.endpoint(bound(stop_training, ctx), e["run_id"], e["status"], "stop_training")
    ctx.endpoint(bound(resume_training, ctx), [e["run_id"], e["max_steps"], e["time_budget"]], e["status"],
                 "resume_training")
    ctx.endpoint(bound(rename_run, ctx), [e["run_id"], e["name"]], e["run_message"], "rename_run")
    ctx.endpoint(bound(publish_run, ctx), [e["run_id"], e["published"]], e["run_message"], "publish_run")
    ctx.endpoint(bound(export_page, ctx), [e["run_id"], e["include_training_lines"]], e["export_file"], "export_page",
                 **CPU_BOUND)
    ctx.api(bound(run_status, ctx), "run_status")


def create_tab(ctx: Context) -> dict:
    e = layout(ctx)
    ctx.manager.add("train", e)  # before the wiring, which finds some components by name
    wire_form(ctx, e)
    wire_run(ctx, e)
    endpoints(ctx, e)
    return e


def page_load(ctx: Context) -> PageLoad:
    """A (re)loaded page: the architecture's defaults in the form, the visitor's latest run, fresh lists."""
    fields = [*MODEL_FIELDS, *TRAINING_FIELDS, "shown_for", "defaults_note"]

    def load(shown: dict) -> dict:
        return {**form_defaults(ctx, shown), "train.run_id": run_update(ctx, ctx.session.latest_run()),
                "train.start_from": start_from_update(ctx)}
    return PageLoad(tuple(f"train.{n}" for n in FOR), (*(f"train.{f}" for f in fields), "train.run_id",
                                                       "train.start_from"), load)
