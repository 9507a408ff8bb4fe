"""The Compare tab: test-loss curves, a summary table and samples of several runs side by side."""
import gradio as gr
import pandas as pd
import plotly.graph_objects as go

from ..errors import ConfigError, MakemoreError
from ..models import ARCHITECTURES
from ..sample import generate
from .common import Context, empty_figure, friendly, inputs_for, runs_update, style, summary_frame


def curves(ctx: Context, run_ids, x_axis="step") -> go.Figure:
    if not run_ids:
        return empty_figure("Choose runs to compare")
    fig = go.Figure()
    for run_id in run_ids:
        evals = [r for r in ctx.ws.run(run_id).read_metrics() if r.get("kind") == "eval"]
        x = [r["step"] if x_axis == "step" else r["elapsed"] for r in evals]
        fig.add_scatter(x=x, y=[r["test_loss"] for r in evals], mode="lines+markers", name=run_id)
    return style(fig, "step" if x_axis == "step" else "training time (seconds)", "test loss (nats per character)", 420)


def summary(ctx: Context, run_ids) -> pd.DataFrame:
    return summary_frame([ctx.ws.run(run_id).summary() for run_id in run_ids or []],
                         ("run", "architecture", "params", "steps", "best test loss", "training time (s)", "tokens/s",
                          "data set", "state"))


def side_by_side(ctx: Context, run_ids, temperature=1.0, num_samples=10, seed=42) -> pd.DataFrame:
    """The same number of samples from each run, same settings and seed, one column per run."""
    columns = {}
    for run_id in run_ids or []:
        try:
            model, config = ctx.model(run_id)
            samples = generate(model, ctx.ws.run(run_id).vocab(config), num_samples=int(num_samples),
                               temperature=float(temperature), seed=int(seed))
            columns[f"{config['arch']} · {run_id}"] = [s.text for s in samples]
        except MakemoreError as e:
            columns[run_id] = [f"({e})"] + [""] * (int(num_samples) - 1)
    return pd.DataFrame(columns)


def shipped_leaderboard(ctx) -> list[str]:
    """What a first visit shows: the pretrained runs on the names data set, one per architecture."""
    return [s.id for s in ctx.ws.summaries() if s.shipped and s.dataset == "names"]


def build(ctx: Context):
    with gr.Row():
        runs = gr.Dropdown(ctx.run_ids(), value=shipped_leaderboard(ctx), multiselect=True,
                           label="Runs to compare", allow_custom_value=True,
                           elem_id="compare-runs", scale=4)
        x_axis = gr.Radio(["step", "seconds"], value="step", label="x axis", scale=1, min_width=160)
        go_button = gr.Button("Compare", variant="primary", scale=1, min_width=100)
    chart = gr.Plot(label="Test loss", show_label=False, elem_id="compare-chart")
    table = gr.Dataframe(label="Summary", interactive=False, wrap=True, elem_id="compare-table")
    with gr.Row():
        temperature = gr.Slider(0.1, 2.0, value=1.0, step=0.05, label="temperature", min_width=160)
        num_samples = gr.Slider(1, 50, value=10, step=1, label="samples per run", min_width=160)
        seed = gr.Number(42, label="seed", precision=0, min_width=100)
    samples = gr.Dataframe(pd.DataFrame({"press Compare to sample every chosen run with the same settings": []}),
                           label="Samples side by side (same settings and seed)", interactive=False, wrap=True,
                           elem_id="compare-samples")
    with gr.Accordion("Train all architectures", open=True):
        gr.Markdown(f"Queue all {len(ARCHITECTURES)} architectures on one data set, each with the same time "
                    f"budget; {ctx.jobs.limits.max_jobs} train at a time. The curves above refresh as they go.")
        with gr.Row():
            dataset = gr.Dropdown(ctx.ws.list_datasets(), value="names", label="Data set", allow_custom_value=True,
                                  min_width=160)
            budget = gr.Number(60, label="seconds per architecture", minimum=1,
                               maximum=ctx.jobs.limits.max_time_budget, min_width=160)
            train_all_button = gr.Button("Train all architectures", min_width=160)
        message = gr.Markdown(label="message")
    seen = gr.State(None)
    timer = gr.Timer(3)

    @friendly
    def compare_runs(run_ids, x_axis, temperature, num_samples, seed):
        if not run_ids:
            raise ConfigError("Choose at least one run to compare.")
        return curves(ctx, run_ids, x_axis), summary(ctx, run_ids), side_by_side(ctx, run_ids, temperature,
                                                                                  num_samples, seed)

    @friendly
    def train_all(dataset, seconds, seed):
        if not seconds or seconds <= 0:
            raise ConfigError("Give a positive time budget in seconds.")
        new = [ctx.jobs.create(dataset, arch, seconds=seconds, seed=int(seed)) for arch in ARCHITECTURES]
        minutes = len(new) * seconds / ctx.jobs.limits.max_jobs / 60
        return (new, f"Queued {len(new)} runs on **{dataset}**: about {minutes:.0f} minutes in all.")

    def tick(run_ids, x_axis, last):
        try:
            now = [x_axis] + [ctx.ws.run(r).stamp() for r in run_ids or []]
        except MakemoreError:
            return gr.skip(), gr.skip(), gr.skip()
        if now == last or not run_ids:
            return gr.skip(), gr.skip(), gr.skip()
        return curves(ctx, run_ids, x_axis), summary(ctx, run_ids), now

    fields = dict(run_ids=runs, x_axis=x_axis, temperature=temperature, num_samples=num_samples, seed=seed)
    go_button.click(compare_runs, inputs_for(compare_runs, fields), [chart, table, samples], api_name="compare_runs")
    train_all_button.click(train_all, [dataset, budget, seed], [runs, message], api_name="train_all").then(
        lambda chosen: runs_update(ctx, chosen), runs, runs, api_visibility="private", show_progress="hidden")
    timer.tick(tick, [runs, x_axis, seen], [chart, table, seen], show_progress="hidden", api_visibility="private")
    return runs, dataset
