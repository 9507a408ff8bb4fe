"""The Sample tab: generate from any checkpoint, download the samples, score a line of your own."""
import shutil
import tempfile
import time
from pathlib import Path

import gradio as gr
import pandas as pd

from ..errors import ConfigError
from ..sample import ORIGIN_LABELS, generate, score_line
from .common import Context, friendly, inputs_for


def sample_frame(ctx: Context, run_id, temperature=1.0, top_k=0, top_p=1.0, num_samples=20, prefix="",
                 seed=42) -> pd.DataFrame:
    if not run_id:
        raise ConfigError("Pick a run to sample from (train one first in the Train tab).")
    model, config = ctx.model(run_id)
    samples = generate(model, ctx.ws.run(run_id).vocab(config), num_samples=int(num_samples),
                       temperature=float(temperature), top_k=int(top_k or 0) or None,
                       top_p=float(top_p) if top_p and top_p < 1 else None, prefix=prefix or "", seed=int(seed))
    ctx.mark(samples, config)
    return pd.DataFrame({"sample": [s.text for s in samples], "origin": [ORIGIN_LABELS[s.origin] for s in samples],
                         "log-prob": [round(s.logprob, 3) for s in samples]})


def download_folder() -> Path:
    """A fresh folder for download files; those older than an hour are removed."""
    base = Path(tempfile.gettempdir()) / "makemore-downloads"
    base.mkdir(exist_ok=True)
    for old in base.iterdir():
        if time.time() - old.stat().st_mtime > 3600:
            shutil.rmtree(old, ignore_errors=True)
    return Path(tempfile.mkdtemp(dir=base))


def build(ctx: Context):
    with gr.Row():
        with gr.Column(scale=1, min_width=300):
            run_id = gr.Dropdown(ctx.run_ids(with_weights=True), label="Checkpoint (a run)",
                                 allow_custom_value=True, value=(ctx.run_ids(with_weights=True) or [None])[0])
            temperature = gr.Slider(0.1, 2.0, value=1.0, step=0.05, label="temperature (1 = as trained)")
            top_k = gr.Number(0, label="top-k (0 = off)", minimum=0, precision=0)
            top_p = gr.Slider(0.05, 1.0, value=1.0, step=0.05, label="top-p (1 = off)")
            num_samples = gr.Slider(1, 500, value=20, step=1, label="number of samples")
            prefix = gr.Textbox("", label="prefix (every sample starts with it)", max_lines=1)
            seed = gr.Number(42, label="seed", precision=0)
            go = gr.Button("Sample", variant="primary", elem_id="sample-go")
        with gr.Column(scale=2):
            table = gr.Dataframe(label="Samples", interactive=False, max_height=460, elem_id="sample-table",
                                 column_widths=["55%", "25%", "20%"])
            with gr.Row():
                txt = gr.DownloadButton("Download .txt", size="sm")
                csv = gr.DownloadButton("Download .csv", size="sm")
            with gr.Group():
                line = gr.Textbox(label="Score your own line: how likely does the model find it?",
                                  placeholder="e.g. a name you like", max_lines=1,
                                  elem_id="score-line")
                score = gr.Button("Score")
                scored = gr.Markdown(label="score", elem_id="score-result")

    @friendly
    def sample(run_id, temperature, top_k, top_p, num_samples, prefix, seed):
        frame = sample_frame(ctx, run_id, temperature, top_k, top_p, num_samples, prefix, seed)
        folder = download_folder()
        (folder / f"{run_id}-samples.txt").write_text("\n".join(frame["sample"]) + "\n", encoding="utf-8")
        frame.to_csv(folder / f"{run_id}-samples.csv", index=False)
        return frame, str(folder / f"{run_id}-samples.txt"), str(folder / f"{run_id}-samples.csv")

    @friendly
    def score_own(run_id, text):
        if not run_id:
            raise ConfigError("Pick a run first.")
        model, config = ctx.model(run_id)
        s = score_line(model, ctx.ws.run(run_id).vocab(config), text)
        dataset = ctx.ws.dataset_of(config)
        where = "" if dataset is None else {"train": " It is in the training set.", "test": " It is in the test set.",
                                            "new": " It is a new line."}[dataset.origin(s["line"])]
        return (f"**{s['line']}**: log-probability **{s['logprob']:.2f}** "
                f"({s['mean_nll']:.3f} nats per character, perplexity {s['perplexity']:.2f}).{where}")

    fields = dict(run_id=run_id, temperature=temperature, top_k=top_k, top_p=top_p, num_samples=num_samples,
                  prefix=prefix, seed=seed)
    go.click(sample, inputs_for(sample, fields), [table, txt, csv], api_name="sample")
    line.submit(score_own, [run_id, line], scored, api_visibility="private")
    score.click(score_own, [run_id, line], scored, api_name="score_line")
    return run_id
