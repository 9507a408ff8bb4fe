"""The Data tab: pick a bundled data set or upload a .txt file, and look at what is in it."""
from collections import Counter
from pathlib import Path

import gradio as gr
import pandas as pd
import plotly.graph_objects as go

from ..errors import MakemoreError
from ..workspace import BUNDLED
from .common import Context, dataset_update, empty_figure, friendly, style


def stats(ctx: Context, name: str):
    """Summary, length histogram, character frequencies and a preview of one data set."""
    d = ctx.ws.load_dataset(name)
    lengths = Counter(len(line) for line in d.lines)
    chars = Counter("".join(d.lines)).most_common()
    shown_chars = "".join(c for c in d.vocab.chars if c.isprintable() and c != " ")
    summary = (
        f"**{name}**{' (bundled)' if name in BUNDLED else ''}: **{len(d.lines):,}** lines, "
        f"**{len(set(d.lines)):,}** unique; **{len(d.vocab.chars)}** distinct characters; "
        f"lengths {min(lengths)} to {max(lengths)} (mean {sum(map(len, d.lines)) / len(d.lines):.1f}); "
        f"split: {len(d.train_lines):,} train / {len(d.test_lines):,} test lines.\n\n"
        f"Vocabulary: `{shown_chars[:300]}`" + (" and space" if " " in d.vocab.chars else "")
    )
    hist = go.Figure(go.Bar(x=sorted(lengths), y=[lengths[k] for k in sorted(lengths)], marker_color="#1f77b4"))
    top = chars[:60]
    freq = go.Figure(go.Bar(x=[repr(c)[1:-1] if c != " " else "␣" for c, _ in top], y=[n for _, n in top],
                            marker_color="#ff7f0e"))
    freq.update_xaxes(type="category", dtick=1, tickangle=0 if len(top) <= 30 else -60)
    preview = pd.DataFrame({"#": range(1, min(25, len(d.lines)) + 1), "line": d.lines[:25],
                            "length": [len(line) for line in d.lines[:25]]})
    title = "Character frequencies" + ("" if len(chars) <= 60 else f" (the 60 most common of {len(chars)})")
    return (summary, style(hist, "line length (characters)", "lines", 320, "Line lengths"),
            style(freq, "character", "occurrences", 320, title), preview)


def build(ctx: Context):
    gr.Markdown("Pick a data set, or upload a plain-text file with one example per line "
                "(names, words, cities, Pokémon…). It is checked, then stored for training.")
    with gr.Row():
        with gr.Column(scale=1):
            dataset = gr.Dropdown(ctx.ws.list_datasets(), value="names", label="Data set", allow_custom_value=True)
            upload = gr.File(label="Upload a .txt file (UTF-8, one example per line)", type="filepath",
                             elem_id="data-upload")
            delete = gr.Button("Delete this data set", variant="stop", size="sm")
            message = gr.Markdown(label="message", elem_id="data-message")
        with gr.Column(scale=2):
            summary = gr.Markdown(label="summary", elem_id="data-summary")
            with gr.Row():
                hist = gr.Plot(label="Line lengths", show_label=False)
                freq = gr.Plot(label="Character frequencies", show_label=False)
            preview = gr.Dataframe(label="First lines", interactive=False, max_height=320, wrap=True,
                                   column_widths=["10%", "75%", "15%"])

    def show(name):
        if not name:
            return "", empty_figure("No data set", 300), empty_figure("No data set", 300), None, ""
        try:
            return (*stats(ctx, name), "")
        except MakemoreError as e:
            return "", empty_figure("No data", 300), empty_figure("No data", 300), None, f"**Error:** {e}"

    def save(path):
        """Store an uploaded file; a file that cannot be used gives the reason, as text in the page."""
        if not path:
            return gr.update(), ""
        try:
            name = ctx.ws.save_upload(Path(path).name, Path(path).read_bytes())
        except MakemoreError as e:
            return gr.update(), f"**Could not use {Path(path).name}:** {e}"
        return name, f"Stored as **{name}**. Train on it in the Train tab."

    @friendly
    def remove(name):
        if not name:
            return gr.update(), "Pick a data set first."
        try:
            ctx.ws.delete_dataset(name)
        except MakemoreError as e:
            return gr.update(), f"**Error:** {e}"
        return "names", f"Deleted **{name}**. Runs trained on it can still be sampled, not resumed."

    dataset.change(friendly(show), dataset, [summary, hist, freq, preview, message], api_name="dataset_stats")
    refresh = dict(fn=lambda name: dataset_update(ctx.ws, name), inputs=dataset, outputs=dataset,
                   api_visibility="private", show_progress="hidden")
    upload.upload(friendly(save), upload, [dataset, message], api_name="upload_dataset").then(**refresh).then(
        lambda: None, None, upload, api_visibility="private", show_progress="hidden")  # ready for the next file
    delete.click(remove, dataset, [dataset, message], api_name="delete_dataset").then(**refresh)
    return dataset, show, [summary, hist, freq, preview, message]
