"""The Sample tab: generate from any checkpoint, download the samples, score a line of your own."""
from pathlib import Path
from types import SimpleNamespace

import gradio as gr
import pandas as pd

from ..errors import ConfigError
from ..sample import ORIGIN_LABELS, generate, score_line
from ..shortlist import safe_cell
from .common import CPU_BOUND, Number, Context, api_twin, download_folder, in_page, inputs_for

HINT = pd.DataFrame({"sample": ["Press Sample to draw new lines from the chosen checkpoint."], "origin": [""],
                     "log-prob": [""]})


def sample_frame(ctx: Context, run_id, temperature=1.0, top_k=0, top_p=1.0, num_samples=20, prefix="",
                 seed=42) -> pd.DataFrame:
    if not run_id:
        raise ConfigError("Pick a run to sample from (train one first in the Train tab).")
    model, config = ctx.model(run_id)
    samples = generate(model, ctx.run(run_id).vocab(config), num_samples=int(num_samples),
                       temperature=float(temperature), top_k=int(top_k or 0) or None,
                       top_p=float(top_p) if top_p and top_p < 1 else None, prefix=prefix or "", seed=int(seed))
    ctx.mark(samples, config)
    return pd.DataFrame({"sample": [s.text for s in samples], "origin": [ORIGIN_LABELS[s.origin] for s in samples],
                         "log-prob": [round(s.logprob, 3) for s in samples]})


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells a spreadsheet would take for a formula ("=cmd|...", "+1", "@SUM") start with ' instead
    (the shortlist's rule, shortlist.safe_cell)."""
    return frame.map(safe_cell)


def write_downloads(frame: pd.DataFrame, folder: Path, stem: str) -> tuple[str, str]:
    """The samples as .txt (one per line) and .csv (UTF-8 with a byte-order mark, so spreadsheet programs
    read umlauts right, and formula-safe); the two paths."""
    txt, csv = folder / f"{stem}-samples.txt", folder / f"{stem}-samples.csv"
    txt.write_text("\n".join(frame["sample"]) + "\n", encoding="utf-8")
    spreadsheet_safe(frame).to_csv(csv, index=False, encoding="utf-8-sig")
    return str(txt), str(csv)


def build(ctx: Context) -> SimpleNamespace:
    with gr.Row():
        with gr.Column(scale=1, min_width=300):
            run_id = gr.Dropdown(ctx.run_choices(with_weights=True), label="Checkpoint (a run)",
                                 allow_custom_value=True, value=(ctx.run_ids(with_weights=True) or [None])[0],
                                 elem_id="sample-run")
            temperature = gr.Slider(0.1, 2.0, value=1.0, step=0.05, label="temperature (1 = as trained)")
            top_k = Number(0, label="top-k (0 = off)", minimum=0, precision=0)
            top_p = gr.Slider(0.05, 1.0, value=1.0, step=0.05, label="top-p (1 = off)")
            num_samples = gr.Slider(1, 500, value=20, step=1, label="number of samples")
            prefix = gr.Textbox("", label="prefix (every sample starts with it)", max_lines=1, elem_id="sample-prefix")
            seed = Number(42, label="seed", precision=0)
            go = gr.Button("Sample", variant="primary", elem_id="sample-go")
            message = gr.Markdown(elem_id="sample-message", elem_classes=["mm-message"])
        with gr.Column(scale=2, min_width=300):
            table = gr.Dataframe(HINT, label="Samples", interactive=False, max_height=460, elem_id="sample-table",
                                 column_widths=["55%", "25%", "20%"], wrap=True)
            with gr.Row():
                txt = gr.DownloadButton("Download .txt", size="sm")
                csv = gr.DownloadButton("Download .csv", size="sm", elem_id="sample-csv")
            with gr.Group():
                line = gr.Textbox(label="Score your own line: how likely does the model find it?",
                                  placeholder="e.g. a name you like", max_lines=1,
                                  elem_id="score-line")
                score = gr.Button("Score")
                scored = gr.Markdown(label="score", elem_id="score-result", elem_classes=["mm-message"])

    def sample(run_id, temperature, top_k, top_p, num_samples, prefix, seed):
        frame = sample_frame(ctx, run_id, temperature, top_k, top_p, num_samples, prefix, seed)
        return (frame, *write_downloads(frame, download_folder(), run_id))

    def score_own(run_id, text):
        if not run_id:
            raise ConfigError("Pick a run first.")
        model, config = ctx.model(run_id)
        s = score_line(model, ctx.run(run_id).vocab(config), text)
        dataset = ctx.ws.dataset_of(config)
        where = "" if dataset is None else {"train": " It is in the training set.", "test": " It is in the test set.",
                                            "new": " It is a new line."}[dataset.origin(s["line"])]
        return (f"**{s['line']}**: log-probability **{s['logprob']:.2f}** "
                f"({s['mean_nll']:.3f} nats per character, perplexity {s['perplexity']:.2f}).{where}")

    fields = dict(run_id=run_id, temperature=temperature, top_k=top_k, top_p=top_p, num_samples=num_samples,
                  prefix=prefix, seed=seed)
    private = dict(api_visibility="private")
    # in the page, a failed sampling keeps the samples shown before; a failed score replaces the last score
    ctx.on(go.click, in_page(lambda *values: (*sample(*values), ""), keep=3), inputs_for(sample, fields),
           [table, txt, csv, message], **private, **CPU_BOUND)
    ctx.on(line.submit, in_page(score_own, keep=0), [run_id, line], scored, **private, **CPU_BOUND)
    ctx.on(score.click, in_page(score_own, keep=0), [run_id, line], scored, **private, **CPU_BOUND)
    api_twin(ctx, sample, inputs_for(sample, fields), [table, txt, csv], "sample", **CPU_BOUND)
    api_twin(ctx, score_own, [run_id, line], scored, "score_line", **CPU_BOUND)
    return SimpleNamespace(run_id=run_id)
