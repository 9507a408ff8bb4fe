"""The Data tab: pick a bundled data set or upload a .txt file, and look at what is in it.

The data set picked or uploaded here is also selected in the Train and Compare tabs (`picked`).
"""
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import gradio as gr
import pandas as pd
import plotly.graph_objects as go

from ..data import INVISIBLE, visible_char
from ..errors import DataError, MakemoreError
from ..workspace import BUNDLED
from .common import Context, api_twin, dataset_update, empty_figure, error, in_page, markdown_text, note, style

VERTICAL_BARS = 30  # more characters than this: horizontal bars, the most common TOP_BARS and "others"
TOP_BARS = 40
DELETE = "Delete this data set"


def frequency_figure(chars: list[tuple[str, int]]) -> go.Figure:
    """Occurrences per character, most common first; readable with any number of characters."""
    if len(chars) <= VERTICAL_BARS:
        fig = go.Figure(go.Bar(x=[visible_char(c) for c, _ in chars], y=[n for _, n in chars], marker_color="#ff7f0e"))
        fig.update_xaxes(type="category", tickangle=0)
        return style(fig, "character", "occurrences", 320, "Character frequencies")
    top, rest = chars[:TOP_BARS], chars[TOP_BARS:]
    bars = [(visible_char(c), n) for c, n in top] + ([(f"others ({len(rest)})", sum(n for _, n in rest))] if rest else [])
    fig = go.Figure(go.Bar(y=[label for label, _ in bars], x=[n for _, n in bars], orientation="h",
                           marker_color=["#ff7f0e"] * len(top) + ["#9ca3af"] * (len(bars) - len(top))))
    fig.update_yaxes(type="category", autorange="reversed", dtick=1, tickfont=dict(size=11))
    title = f"Character frequencies (the {len(top)} most common of {len(chars)})" if rest else "Character frequencies"
    fig = style(fig, "occurrences", "", 90 + 17 * len(bars), title)
    fig.update_layout(hovermode="y unified", margin=dict(l=90))
    return fig


def stats(ctx: Context, name: str):
    """Summary, length histogram, character frequencies and a preview of one data set."""
    d = ctx.ws.load_dataset(name)
    lengths = Counter(len(line) for line in d.lines)
    visible = "".join(c for c in d.vocab.chars if c not in INVISIBLE and c.isprintable())
    invisible = [visible_char(c) for c in d.vocab.chars if c in INVISIBLE or not c.isprintable()]
    summary = (
        f"**{name}**{' (bundled)' if name in BUNDLED else ''}: **{len(d.lines):,}** lines, "
        f"**{len(set(d.lines)):,}** unique; **{len(d.vocab.chars)}** distinct characters; "
        f"lengths {min(lengths)} to {max(lengths)} (mean {sum(map(len, d.lines)) / len(d.lines):.1f}); "
        f"split: {len(d.train_lines):,} train / {len(d.test_lines):,} test lines.\n\n"
        f"Vocabulary: `{visible[:300]}`" + (f" and {', '.join(invisible)}" if invisible else "")
    )
    hist = go.Figure(go.Bar(x=sorted(lengths), y=[lengths[k] for k in sorted(lengths)], marker_color="#1f77b4"))
    preview = pd.DataFrame({"#": range(1, min(25, len(d.lines)) + 1), "line": d.lines[:25],
                            "length": [len(line) for line in d.lines[:25]]})
    return (summary, style(hist, "line length (characters)", "lines", 320, "Line lengths"),
            frequency_figure(Counter("".join(d.lines)).most_common()), preview)


def build(ctx: Context) -> SimpleNamespace:
    gr.Markdown("Pick a data set, or upload a plain-text file with one example per line "
                "(names, words, cities, Pokémon…). It is checked, then stored for training.")
    with gr.Row():
        with gr.Column(scale=1):
            dataset = gr.Dropdown(ctx.ws.list_datasets(), value="names", label="Data set", allow_custom_value=True,
                                  elem_id="data-dataset")
            upload = gr.File(label="Upload a .txt file (UTF-8, one example per line)", type="filepath",
                             elem_id="data-upload")
            delete = gr.Button(DELETE, variant="stop", size="sm", elem_id="data-delete")
            message = gr.Markdown(label="message", elem_id="data-message", elem_classes=["mm-message"])
        with gr.Column(scale=2):
            summary = gr.Markdown(label="summary", elem_id="data-summary")
            with gr.Row():
                hist = gr.Plot(label="Line lengths", show_label=False)
                freq = gr.Plot(label="Character frequencies", show_label=False, elem_id="data-frequencies")
            preview = gr.Dataframe(label="First lines", interactive=False, max_height=320, wrap=True,
                                   column_widths=["12%", "68%", "20%"])
    picked = gr.State(None)  # the data set last picked or uploaded here, for the other tabs
    armed = gr.State(None)  # the data set whose Delete was clicked once (the second click deletes)

    def show(name):
        """The data set's summary, charts and preview (the /dataset_stats endpoint); an error as text."""
        if not name:
            return "", empty_figure("No data set", 300), empty_figure("No data set", 300), None, ""
        try:
            return (*stats(ctx, name), "")
        except MakemoreError as e:
            return "", empty_figure("No data", 300), empty_figure("No data", 300), None, f"**Error:** {e}"

    def show_in_page(name):
        """As `show`, but the message beside the controls is left alone unless this data set cannot be shown."""
        *shown, problem = show(name)
        return (*shown, error(problem.removeprefix("**Error:** ")) if problem else gr.skip())

    def save(path):
        """Store an uploaded file (the /upload_dataset endpoint); a file that cannot be used gives the reason."""
        if not path:
            return gr.update(), ""
        try:
            name = ctx.ws.save_upload(Path(path).name, Path(path).read_bytes())
        except MakemoreError as e:
            return gr.update(), f"**Could not use {markdown_text(Path(path).name)}:** {e}"
        return name, f"Stored as **{name}**. Train on it in the Train tab."

    def store(path):
        if not path:
            return gr.skip(), gr.skip(), ""
        try:
            name = ctx.ws.save_upload(Path(path).name, Path(path).read_bytes())
        except MakemoreError as e:
            raise DataError(f"Could not use {markdown_text(Path(path).name)}: {e}") from None
        return (dataset_update(ctx.ws, name), name,
                f"Stored as **{name}** and selected here and in Train and Compare: train on it in the Train tab.")

    def remove(name):
        """Delete an uploaded data set (the /delete_dataset endpoint)."""
        if not name:
            return gr.update(), "Pick a data set first."
        try:
            ctx.ws.delete_dataset(name)
        except MakemoreError as e:
            return gr.update(), f"**Error:** {e}"
        return "names", f"Deleted **{name}**. Runs trained on it can still be sampled, not resumed."

    def ask_then_remove(name, armed):
        """The first click asks (the button turns into "Really delete X?"), the second deletes."""
        if not name:
            raise DataError("Pick a data set first.")
        if name in BUNDLED:
            raise DataError(f"{name} is a bundled data set and cannot be deleted.")
        if armed != name:
            return gr.skip(), gr.update(value=f"Really delete {name}?"), name, note(
                f"Delete **{name}** for good? Click **Really delete {name}?** to confirm, or pick another data set "
                "to keep it.", "warn")
        ctx.ws.delete_dataset(name)
        return (dataset_update(ctx.ws, "names"), gr.update(value=DELETE), None,
                f"Deleted **{name}**. Runs trained on it can still be sampled, not resumed.")

    private = dict(api_visibility="private", show_progress="hidden")
    outputs = [summary, hist, freq, preview, message]
    ctx.on(dataset.change, show_in_page, dataset, outputs, **private)
    dataset.change(lambda: (gr.update(value=DELETE), None), None, [delete, armed], **private)
    dataset.input(lambda name: (name, note("")), dataset, [picked, message], **private)  # a person's own pick
    ctx.on(upload.upload, in_page(store, keep=2), upload, [dataset, picked, message], **private).then(
        lambda: None, None, upload, **private)  # ready for the next file
    ctx.on(delete.click, in_page(ask_then_remove, keep=3), [dataset, armed], [dataset, delete, armed, message],
           **private)
    api_twin(ctx, show, dataset, outputs, "dataset_stats")
    api_twin(ctx, save, upload, [dataset, message], "upload_dataset")
    api_twin(ctx, remove, dataset, [dataset, message], "delete_dataset")
    return SimpleNamespace(dataset=dataset, picked=picked, load=(show_in_page, dataset, outputs))
