"""The Compare tab: a leaderboard (runs ranked by best test loss), test-loss curves and samples of several runs
side by side; it opens on the shipped runs."""
from types import SimpleNamespace

import gradio as gr
import pandas as pd
import plotly.graph_objects as go

from ..errors import ConfigError, MakemoreError
from ..models import ARCHITECTURES
from ..sample import generate
from ..manifests import read_manifests
from .common import (CPU_BOUND, Number, Context, api_twin, curve_label, empty_figure, in_page, loss4, inputs_for,
                     runs_update, style, summary_frame)

X_AXES = [("training time (s)", "seconds"), ("step", "step")]  # time compares architectures fairly
MEDALS = ("🥇", "🥈", "🥉")
SIDE_HINT = pd.DataFrame({"samples": ["Press Compare to sample every chosen run with the same settings and seed."]})


def curves(ctx: Context, run_ids, x_axis="seconds") -> go.Figure:
    if not run_ids:
        return empty_figure("Choose runs to compare")
    fig = go.Figure()
    for run_id in run_ids:
        run = ctx.run(run_id)
        evals = [r for r in run.read_metrics() if r.get("kind") == "eval"]
        x = [r["step"] if x_axis == "step" else r["elapsed"] for r in evals]
        fig.add_scatter(x=x, y=[r["test_loss"] for r in evals], mode="lines+markers", name=curve_label(run.summary()))
    fig = style(fig, "step" if x_axis == "step" else "training time (seconds)", "test loss (nats per character)", 420)
    fig.update_layout(yaxis_tickformat=".2f", hovermode="closest")
    return fig


def leaderboard(ctx: Context, run_ids) -> pd.DataFrame:
    """The runs ranked by best test loss (lower is better; runs without an evaluation last), with medals."""
    summaries = [ctx.run(run_id).summary() for run_id in run_ids or []]
    summaries.sort(key=lambda s: (s.status.best_test_loss is None, s.status.best_test_loss or 0.0))
    frame = summary_frame(summaries, ("run", "architecture", "best test loss", "params", "steps", "training time (s)",
                                      "tokens/s", "data set", "state", "run id"))
    ranks = [f"{i + 1} {MEDALS[i] if i < len(MEDALS) else ''}".strip() if s.status.best_test_loss is not None
             else "–" for i, s in enumerate(summaries)]
    frame.insert(0, "rank", ranks)
    return frame


def side_by_side(ctx: Context, run_ids, temperature=1.0, num_samples=10, seed=42) -> pd.DataFrame:
    """The same number of samples from each run, same settings and seed, one column per run."""
    columns = {}
    for run_id in run_ids or []:
        label = curve_label(ctx.run(run_id).summary())
        label = label if label not in columns else f"{label} ({run_id})"
        try:
            model, config = ctx.model(run_id)
            samples = generate(model, ctx.run(run_id).vocab(config), num_samples=int(num_samples),
                               temperature=float(temperature), seed=int(seed))
            columns[label] = [s.text for s in samples]
        except MakemoreError as e:
            columns[label] = [f"({e})"] + [""] * (int(num_samples) - 1)
    return pd.DataFrame(columns)


MAX_COMPARED = 24


def default_runs(ctx: Context) -> list[str]:
    """What a first visit shows: the pretrained runs on the names data set (else the newest trained runs)."""
    summaries = ctx.summaries(with_weights=True)
    shipped = [s.id for s in summaries if s.shipped and s.dataset == "names"]
    return shipped or [s.id for s in summaries[:8]]


def sweep_rows(ctx: Context) -> pd.DataFrame:
    """A leaderboard of the sweeps whose manifests sit beside the visitor's runs: the best trial per
    architecture of each sweep, best test loss first (trials are ordinary runs, so Compare can draw them)."""
    rows = [{"sweep": manifest.get("sweep_id") or manifest["file"], "architecture": arch, "run id": best.get("run_id"),
             "best test loss": loss4(best.get("best_test_loss")), "params": best.get("params"),
             "state": best.get("status")}
            for manifest in read_manifests(ctx.ws.runs) for arch, best in (manifest.get("best_per_arch") or {}).items()
            if isinstance(best, dict)]
    rows.sort(key=lambda r: (r["sweep"], r["best test loss"] or "9"))
    return pd.DataFrame(rows, columns=["sweep", "architecture", "run id", "best test loss", "params", "state"])


def build(ctx: Context) -> SimpleNamespace:
    with gr.Row():
        runs = gr.Dropdown(ctx.run_choices(), value=default_runs(ctx), multiselect=True,
                           label="Runs to compare", allow_custom_value=True,
                           elem_id="compare-runs", scale=4, min_width=240)
        x_axis = gr.Radio(X_AXES, value="seconds", label="x axis", scale=1, min_width=160, elem_id="compare-x")
        go_button = gr.Button("Compare", variant="primary", scale=1, min_width=100, elem_id="compare-go")
    message = gr.Markdown(elem_id="compare-message", elem_classes=["mm-message"])
    chart = gr.Plot(label="Test loss", show_label=False, elem_id="compare-chart")
    table = gr.Dataframe(label="Leaderboard (lowest test loss first)", interactive=False, elem_id="compare-table")
    with gr.Row():
        temperature = gr.Slider(0.1, 2.0, value=1.0, step=0.05, label="temperature", min_width=160)
        num_samples = gr.Slider(1, 50, value=10, step=1, label="samples per run", min_width=160)
        seed = Number(42, label="seed", precision=0, min_width=100)
    samples = gr.Dataframe(SIDE_HINT, label="Samples side by side (same settings and seed)", interactive=False,
                           wrap=True, elem_id="compare-samples")
    with gr.Accordion("Sweeps (python -m makemore sweep): the best trial per architecture", open=False,
                      visible=not sweep_rows(ctx).empty) as sweeps_box:
        sweeps = gr.Dataframe(sweep_rows(ctx), interactive=False, wrap=True, elem_id="compare-sweeps")
    with gr.Accordion("Train all architectures", open=True):
        gr.Markdown(f"Queue all {len(ARCHITECTURES)} architectures on one data set, each with the same time "
                    f"budget; {ctx.jobs.limits.max_jobs} train at a time. The curves above refresh as they go.")
        with gr.Row():
            dataset = gr.Dropdown(ctx.ws.list_datasets(), value="names", label="Data set", allow_custom_value=True,
                                  min_width=160, elem_id="compare-dataset")
            budget = Number(60, label="seconds per architecture", minimum=1,
                               maximum=ctx.jobs.limits.max_time_budget, min_width=160)
            train_all_button = gr.Button("Train all architectures", min_width=160)
        train_message = gr.Markdown(label="message", elem_id="compare-train-message", elem_classes=["mm-message"])
    seen = gr.State(None)
    timer = gr.Timer(3)

    def compare_runs(run_ids, x_axis, temperature, num_samples, seed):
        if not run_ids:
            raise ConfigError("Choose at least one run to compare.")
        if len(run_ids) > MAX_COMPARED:
            raise ConfigError(f"Compare at most {MAX_COMPARED} runs at once (you chose {len(run_ids):,}).")
        return curves(ctx, run_ids, x_axis), leaderboard(ctx, run_ids), side_by_side(ctx, run_ids, temperature,
                                                                                      num_samples, seed)

    def train_all(dataset, seconds, seed):
        if not seconds or seconds <= 0:
            raise ConfigError("Give a positive time budget in seconds.")
        new = [ctx.jobs.create(dataset, arch, seconds=seconds, seed=int(seed), ws=ctx.ws) for arch in ARCHITECTURES]
        minutes = len(new) * seconds / ctx.jobs.limits.max_jobs / 60
        return (new, f"Queued {len(new)} runs on **{dataset}**: about {minutes:.0f} minutes in all.")

    def train_all_in_page(dataset, seconds, seed):
        new, text = train_all(dataset, seconds, seed)
        return runs_update(ctx, new), text

    def tick(run_ids, x_axis, last):
        try:
            now = [x_axis] + [ctx.run(r).stamp() for r in run_ids or []]
        except MakemoreError:
            return gr.skip(), gr.skip(), gr.skip()
        if now == last or not run_ids:
            return gr.skip(), gr.skip(), gr.skip()
        return curves(ctx, run_ids, x_axis), leaderboard(ctx, run_ids), now

    def on_load():
        """A fresh page: the default runs chosen, their curves and leaderboard drawn; the visitor's sweeps."""
        chosen = default_runs(ctx)
        found = sweep_rows(ctx)
        return (runs_update(ctx, chosen), curves(ctx, chosen), leaderboard(ctx, chosen), found,
                gr.update(visible=not found.empty))

    fields = dict(run_ids=runs, x_axis=x_axis, temperature=temperature, num_samples=num_samples, seed=seed)
    private = dict(api_visibility="private")
    ctx.on(go_button.click, in_page(lambda *values: (*compare_runs(*values), ""), keep=3),
           inputs_for(compare_runs, fields), [chart, table, samples, message], **private, **CPU_BOUND)
    ctx.on(train_all_button.click, in_page(train_all_in_page, keep=1), [dataset, budget, seed],
           [runs, train_message], **private)
    api_twin(ctx, compare_runs, inputs_for(compare_runs, fields), [chart, table, samples], "compare_runs",
             **CPU_BOUND)
    api_twin(ctx, train_all, [dataset, budget, seed], [runs, train_message], "train_all")
    ctx.on(timer.tick, tick, [runs, x_axis, seen], [chart, table, seen], show_progress="hidden", **private)
    return SimpleNamespace(runs=runs, dataset=dataset,
                           load=[(on_load, None, [runs, chart, table, sweeps, sweeps_box])])
