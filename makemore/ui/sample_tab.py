"""The Sample tab: generate from any checkpoint, download the samples, score a line of your own."""
from pathlib import Path

import gradio as gr
import pandas as pd

from ..errors import ConfigError
from ..sample import ORIGIN_LABELS
from ..shortlist import safe_cell
from .common import (CPU_BOUND, PRIVATE, Context, Number, bound, download_folder, in_page, inputs_for, label_picker,
                     label_update, markdown_text)

HINT = pd.DataFrame({"sample": ["Press Sample to draw new lines from the chosen checkpoint."], "origin": [""],
                     "log-prob": [""]})


def sample_frame(ctx: Context, run_id, temperature=1.0, top_k=0, top_p=1.0, num_samples=20, prefix="",
                 seed=42, label=None) -> pd.DataFrame:
    if not run_id:
        raise ConfigError("Pick a run to sample from (train one first in the Train tab).")
    samples = ctx.session.sample(run_id, num_samples=int(num_samples), temperature=float(temperature),
                                 top_k=int(top_k or 0) or None, top_p=float(top_p) if top_p and top_p < 1 else None,
                                 prefix=prefix or "", seed=int(seed), label=label or None)
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


def layout(ctx: Context) -> dict:
    """The tab's components by name: the settings on the left, the samples and the scorer on the right."""
    e = {}
    with gr.Row():
        with gr.Column(scale=1, min_width=300):
            gallery = ctx.gallery_choices(with_weights=True)
            e["run_id"] = gr.Dropdown(gallery, label="Checkpoint (a run)", allow_custom_value=True,
                                      value=gallery[0][1] if gallery else None, elem_id="sample-run")
            e["label"] = label_picker("sample-label")
            e["temperature"] = gr.Slider(0.1, 2.0, value=1.0, step=0.05, label="temperature (1 = as trained)")
            e["top_k"] = Number(0, label="top-k (0 = off)", minimum=0, precision=0)
            e["top_p"] = gr.Slider(0.05, 1.0, value=1.0, step=0.05, label="top-p (1 = off)")
            e["num_samples"] = gr.Slider(1, 500, value=20, step=1, label="number of samples")
            e["prefix"] = gr.Textbox("", label="prefix (every sample starts with it)", max_lines=1,
                                     elem_id="sample-prefix")
            e["seed"] = Number(42, label="seed", precision=0)
            e["go"] = gr.Button("Sample", variant="primary", elem_id="sample-go")
            e["message"] = gr.Markdown(elem_id="sample-message", elem_classes=["mm-message"])
        with gr.Column(scale=2, min_width=300):
            e["table"] = gr.Dataframe(HINT, label="Samples", interactive=False, max_height=460,
                                      elem_id="sample-table", column_widths=["55%", "25%", "20%"], wrap=True)
            with gr.Row():
                e["txt"] = gr.DownloadButton("Download .txt", size="sm")
                e["csv"] = gr.DownloadButton("Download .csv", size="sm", elem_id="sample-csv")
            with gr.Group():
                e["line"] = gr.Textbox(label="Score your own line: how likely does the model find it?",
                                       placeholder="e.g. a name you like", max_lines=1, elem_id="score-line")
                e["score"] = gr.Button("Score")
                e["scored"] = gr.Markdown(label="score", elem_id="score-result", elem_classes=["mm-message"])
    return e


def sample(ctx: Context, run_id, temperature, top_k, top_p, num_samples, prefix, seed, label=None):
    """Samples of a run as a table, with the same samples as .txt and .csv downloads (the /sample endpoint);
    `label`: lines of that label, for a run trained on a labelled data set (blank: any)."""
    frame = sample_frame(ctx, run_id, temperature, top_k, top_p, num_samples, prefix, seed, label)
    return (frame, *write_downloads(frame, download_folder(), run_id))


ORIGIN_TEXT = {"train": " It is in the training set.", "test": " It is in the test set.", "new": " It is a new line.",
               None: ""}


def score_line(ctx: Context, run_id, text, label=None):
    """How likely the run's model finds a line, as a line of `label` if given (the /score_line endpoint)."""
    if not run_id:
        raise ConfigError("Pick a run first.")
    s = ctx.session.score_line(run_id, text, label or None)
    as_label = f" as a {markdown_text(label)} line" if label else ""
    return (f"**{markdown_text(s['line'])}**{as_label}: log-probability **{s['logprob']:.2f}** "
            f"({s['mean_nll']:.3f} nats per character, perplexity {s['perplexity']:.2f}).{ORIGIN_TEXT[s['origin']]}")


def wire(ctx: Context, e: dict):
    """The tab's own events and its named endpoints; in the page, a failed sampling keeps the samples shown
    before, and a failed score replaces the last score."""
    inputs = inputs_for(sample, e, skip=1)
    page = dict(api_visibility="private", **CPU_BOUND)
    ctx.on(e["go"].click, in_page(lambda *values: (*sample(ctx, *values), ""), keep=3), inputs,
           [e["table"], e["txt"], e["csv"], e["message"]], **page)
    for trigger in (e["line"].submit, e["score"].click):
        ctx.on(trigger, in_page(bound(score_line, ctx), keep=0), [e["run_id"], e["line"], e["label"]], e["scored"],
               **page)
    ctx.on(e["run_id"].change, lambda run_id, label: label_update(ctx, run_id, label), [e["run_id"], e["label"]],
           e["label"], **PRIVATE)
    ctx.endpoint(bound(sample, ctx), inputs, [e["table"], e["txt"], e["csv"]], "sample", **CPU_BOUND)
    ctx.endpoint(bound(score_line, ctx), [e["run_id"], e["line"], e["label"]], e["scored"], "score_line",
                 **CPU_BOUND)


def create_tab(ctx: Context) -> dict:
    e = layout(ctx)
    ctx.manager.add("sample", e)
    wire(ctx, e)
    return e
