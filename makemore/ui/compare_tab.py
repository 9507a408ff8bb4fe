"""The Compare tab: a leaderboard (runs ranked by the test loss of their saved checkpoint, with the mean ±
spread over seeds of one configuration), test-loss curves and samples of several runs side by side; it opens
on the shipped runs."""
import statistics

import gradio as gr
import pandas as pd
import plotly.graph_objects as go

from ..errors import ConfigError, MakemoreError
from ..models import ARCHITECTURES
from .common import (CPU_BOUND, Context, Number, PageLoad, bound, curve_label, empty_figure, in_page, inputs_for,
                     loss4, markdown_text, runs_update, style, summary_frame)

X_AXES = [("training time (s)", "seconds"), ("step", "step")]  # time compares architectures fairly
MEDALS = ("🥇", "🥈", "🥉")
SIDE_HINT = pd.DataFrame({"samples": ["Press Compare to sample every chosen run with the same settings and seed."]})


def curves(ctx: Context, run_ids, x_axis="seconds") -> go.Figure:
    if not run_ids:
        return empty_figure("Choose runs to compare")
    fig = go.Figure()
    for run_id in run_ids:
        evals = [r for r in ctx.session.metrics(run_id) if r.get("kind") == "eval"]
        x = [r["step"] if x_axis == "step" else r["elapsed"] for r in evals]
        fig.add_scatter(x=x, y=[r["test_loss"] for r in evals], mode="lines+markers",
                        name=curve_label(ctx.session.run(run_id)))
    fig = style(fig, "step" if x_axis == "step" else "training time (seconds)", "test loss (nats per character)", 420)
    fig.update_layout(yaxis_tickformat=".2f", hovermode="closest")
    return fig


def over_seeds(summaries) -> dict[str, str]:
    """{recipe: "mean ± sd (n seeds, range)"} of the test loss, for each configuration among `summaries` that
    several evaluated runs share, differing only in their seed."""
    losses = {}
    for s in summaries:
        if s.recipe and s.status.best_test_loss is not None:
            losses.setdefault(s.recipe, {})[s.seed] = s.status.best_test_loss
    return {recipe: f"{statistics.fmean(v):.4f} ± {statistics.stdev(v):.4f} ({len(v)} seeds, "
                    f"{min(v):.4f}-{max(v):.4f})"
            for recipe, by_seed in losses.items() if len(v := list(by_seed.values())) > 1}


def leaderboard(ctx: Context, run_ids) -> pd.DataFrame:
    """The runs ranked by the test loss of their saved checkpoint (lower is better; runs without an evaluation
    last), with medals; the classic's figure (the lowest test loss seen) beside it, and the mean ± spread over
    seeds where several runs differ only in their seed."""
    summaries = [ctx.session.run(run_id) for run_id in run_ids or []]
    summaries.sort(key=lambda s: (s.status.best_test_loss is None, s.status.best_test_loss or 0.0))
    frame = summary_frame(summaries, ("run", "architecture", "best test loss", "lowest test (classic)", "params",
                                      "steps", "training time (s)", "tokens/s", "data set", "state", "run id"))
    seeds = over_seeds(summaries)
    if seeds:
        frame.insert(3, "over seeds: mean ± sd", [seeds.get(s.recipe, "") for s in summaries])
    ranks = [f"{i + 1} {MEDALS[i] if i < len(MEDALS) else ''}".strip() if s.status.best_test_loss is not None
             else "–" for i, s in enumerate(summaries)]
    frame.insert(0, "rank", ranks)
    return frame


def side_by_side(ctx: Context, run_ids, temperature=1.0, num_samples=10, seed=42, label=None) -> pd.DataFrame:
    """The same number of samples from each run, same settings and seed (and label, for runs trained on
    labels), one column per run."""
    columns = {}
    for run_id in run_ids or []:
        label = curve_label(ctx.session.run(run_id))
        label = label if label not in columns else f"{label} ({run_id})"
        try:
            samples = ctx.session.sample(run_id, num_samples=int(num_samples), temperature=float(temperature),
                                         seed=int(seed), label=label or None)
            columns[label] = [s.text for s in samples]
        except MakemoreError as e:
            columns[label] = [f"({e})"] + [""] * (int(num_samples) - 1)
    return pd.DataFrame(columns)


MAX_COMPARED = 24


def default_runs(ctx: Context) -> list[str]:
    """What a (re)loaded page shows: the visitor's own runs on the data set of their latest run, newest first
    (up to 8); on a first visit, the pretrained runs on the names data set (else the newest trained runs)."""
    summaries = ctx.session.runs(with_weights=True)
    own = [s for s in summaries if not s.readonly]
    if own:
        return [s.id for s in own if s.dataset == own[0].dataset][:8]
    shipped = [s.id for s in summaries if s.shipped and s.dataset == "names"]
    return shipped or [s.id for s in summaries[:8]]


def sweep_rows(ctx: Context) -> pd.DataFrame:
    """A leaderboard of the sweeps whose manifests sit beside the visitor's runs: the best trial per
    architecture of each sweep, best test loss first (trials are ordinary runs, so Compare can draw them)."""
    rows = [{"sweep": manifest.get("sweep_id") or manifest["file"], "architecture": arch, "run id": best.get("run_id"),
             "best test loss": loss4(best.get("best_test_loss")), "params": best.get("params"),
             "state": best.get("status")}
            for manifest in ctx.session.sweeps() for arch, best in (manifest.get("best_per_arch") or {}).items()
            if isinstance(best, dict)]
    rows.sort(key=lambda r: (r["sweep"], r["best test loss"] or "9"))
    return pd.DataFrame(rows, columns=["sweep", "architecture", "run id", "best test loss", "params", "state"])


def layout_compare(ctx: Context) -> dict:
    """The runs to compare, the chart, the leaderboard and the samples side by side."""
    e = {}
    with gr.Row():
        e["runs"] = gr.Dropdown(ctx.gallery_choices(), value=None, multiselect=True, label="Runs to compare",
                                allow_custom_value=True, elem_id="compare-runs", scale=4, min_width=240)
        e["x_axis"] = gr.Radio(X_AXES, value="seconds", label="x axis", scale=1, min_width=160, elem_id="compare-x")
        e["go"] = gr.Button("Compare", variant="primary", scale=1, min_width=100, elem_id="compare-go")
    e["message"] = gr.Markdown(elem_id="compare-message", elem_classes=["mm-message"])
    e["chart"] = gr.Plot(label="Test loss", show_label=False, elem_id="compare-chart")
    e["table"] = gr.Dataframe(label="Leaderboard (lowest test loss first)", interactive=False, elem_id="compare-table")
    with gr.Row():
        e["temperature"] = gr.Slider(0.1, 2.0, value=1.0, step=0.05, label="temperature", min_width=160)
        e["num_samples"] = gr.Slider(1, 50, value=10, step=1, label="samples per run", min_width=160)
        e["seed"] = Number(42, label="seed", precision=0, min_width=100)
        e["label"] = gr.Textbox("", label="label (labelled runs; blank: any)", max_lines=1, min_width=140,
                                elem_id="compare-label")
    e["samples"] = gr.Dataframe(SIDE_HINT, label="Samples side by side (same settings and seed)", interactive=False,
                                wrap=True, elem_id="compare-samples")
    return e


def layout_train_all(ctx: Context) -> dict:
    """The sweeps found, and the form that queues every architecture on one data set."""
    e, limits = {}, ctx.engine.limits
    with gr.Accordion("Sweeps (python -m makemore sweep): the best trial per architecture", open=False,
                      visible=False) as e["sweeps_box"]:
        e["sweeps"] = gr.Dataframe(interactive=False, wrap=True, elem_id="compare-sweeps")
    with gr.Accordion("Train all architectures", open=True):
        gr.Markdown(f"Queue all {len(ARCHITECTURES)} architectures on one data set, each with the same time "
                    f"budget; {limits.max_jobs} train at a time. The curves above refresh as they go.")
        with gr.Row():
            e["dataset"] = gr.Dropdown(ctx.engine.bundled_datasets(), value="names", label="Data set",
                                       allow_custom_value=True, min_width=160, elem_id="compare-dataset")
            e["seconds"] = Number(60, label="seconds per architecture", minimum=1, maximum=limits.max_time_budget,
                                  min_width=160)
            e["train_all"] = gr.Button("Train all architectures", min_width=160)
        e["train_message"] = gr.Markdown(label="message", elem_id="compare-train-message",
                                         elem_classes=["mm-message"])
    e["seen"] = gr.State(None)
    e["timer"] = gr.Timer(3)
    return e


def compare_runs(ctx: Context, run_ids, x_axis, temperature, num_samples, seed, label=None):
    """The chosen runs' test-loss curves, leaderboard and samples side by side (the /compare_runs endpoint)."""
    if not run_ids:
        raise ConfigError("Choose at least one run to compare.")
    if len(run_ids) > MAX_COMPARED:
        raise ConfigError(f"Compare at most {MAX_COMPARED} runs at once (you chose {len(run_ids):,}).")
    return curves(ctx, run_ids, x_axis), leaderboard(ctx, run_ids), side_by_side(ctx, run_ids, temperature,
                                                                                  num_samples, seed, label)


def train_all(ctx: Context, dataset, seconds, seed):
    """Queue every architecture on one data set with the same budget (the /train_all endpoint)."""
    new = ctx.session.train_all(dataset, seconds, seed, list(ARCHITECTURES))
    minutes = len(new) * seconds / ctx.engine.limits.max_jobs / 60
    return new, f"Queued {len(new)} runs on **{markdown_text(dataset)}**: about {minutes:.0f} minutes in all."


def train_all_in_page(ctx: Context, dataset, seconds, seed):
    new, text = train_all(ctx, dataset, seconds, seed)
    return runs_update(ctx, new), text


def tick(ctx: Context, run_ids, x_axis, last):
    """Every 3 s: redraw the curves and leaderboard when a chosen run changed."""
    try:
        now = [x_axis] + [ctx.session.run_stamp(r) for r in run_ids or []]
    except MakemoreError:
        return gr.skip(), gr.skip(), gr.skip()
    if now == last or not run_ids:
        return gr.skip(), gr.skip(), gr.skip()
    return curves(ctx, run_ids, x_axis), leaderboard(ctx, run_ids), now


def wire(ctx: Context, e: dict):
    """The tab's own events and its named endpoints."""
    fields = {**e, "run_ids": e["runs"]}
    inputs = inputs_for(compare_runs, fields, skip=1)
    page = dict(api_visibility="private")
    ctx.on(e["go"].click, in_page(lambda *values: (*compare_runs(ctx, *values), ""), keep=3), inputs,
           [e["chart"], e["table"], e["samples"], e["message"]], **page, **CPU_BOUND)
    ctx.on(e["train_all"].click, in_page(bound(train_all_in_page, ctx), keep=1), [e["dataset"], e["seconds"], e["seed"]],
           [e["runs"], e["train_message"]], **page)
    ctx.endpoint(bound(compare_runs, ctx), inputs, [e["chart"], e["table"], e["samples"]], "compare_runs",
                 **CPU_BOUND)
    ctx.endpoint(bound(train_all, ctx), [e["dataset"], e["seconds"], e["seed"]], [e["runs"], e["train_message"]],
                 "train_all")
    ctx.on(e["timer"].tick, bound(tick, ctx), [e["runs"], e["x_axis"], e["seen"]], [e["chart"], e["table"], e["seen"]],
           show_progress="hidden", **page)


def create_tab(ctx: Context) -> dict:
    e = layout_compare(ctx)
    e.update(layout_train_all(ctx))
    ctx.manager.add("compare", e)
    wire(ctx, e)
    return e


def page_load(ctx: Context) -> PageLoad:
    """A fresh page: the default runs chosen, their curves and leaderboard drawn; the visitor's sweeps."""
    def load(shown: dict) -> dict:
        chosen = default_runs(ctx)
        found = sweep_rows(ctx)
        return {"compare.runs": runs_update(ctx, chosen), "compare.chart": curves(ctx, chosen),
                "compare.table": leaderboard(ctx, chosen), "compare.sweeps": found,
                "compare.sweeps_box": gr.update(visible=not found.empty)}
    return PageLoad((), ("compare.runs", "compare.chart", "compare.table", "compare.sweeps", "compare.sweeps_box"),
                    load)
