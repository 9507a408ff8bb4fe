"""The Data tab: pick a bundled data set or upload a file, and look at what is in it.

A .txt file is stored at once. A table (.csv, .tsv, .jsonl) is shown first, its columns and first rows, with
the text column and the label column to pick (the obvious ones preset); "Use this table" stores it.
The data set picked or uploaded here is also selected in the Train and Compare tabs ("data.picked").
"""
from collections import Counter
from pathlib import Path

import gradio as gr
import pandas as pd
import plotly.graph_objects as go

from ..data import INVISIBLE, visible_char
from ..errors import DataError, MakemoreError
from ..tables import TABLE_SUFFIXES
from .common import (PRIVATE, Context, PageLoad, bound, dataset_update, empty_figure, error, in_page,
                     markdown_text, note, style)

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
    d = ctx.session.dataset(name)
    lengths = Counter(len(line) for line in d.lines)
    visible = "".join(c for c in d.vocab.chars if c not in INVISIBLE and c.isprintable())
    invisible = [visible_char(c) for c in d.vocab.chars if c in INVISIBLE or not c.isprintable()]
    summary = (
        f"**{markdown_text(name)}**{' (bundled)' if name in ctx.engine.bundled_datasets() else ''}: **{len(d.lines):,}** lines, "
        f"**{len(set(d.lines)):,}** unique; **{len(d.vocab.chars)}** distinct characters; "
        f"lengths {min(lengths)} to {max(lengths)} (mean {sum(map(len, d.lines)) / len(d.lines):.1f}); "
        f"split: {len(d.train_lines):,} train / {len(d.test_lines):,} test lines.\n\n"
        f"Vocabulary: `{visible[:300]}`" + (f" and {', '.join(invisible)}" if invisible else "")
    )
    summary += label_summary(d)
    hist = go.Figure(go.Bar(x=sorted(lengths), y=[lengths[k] for k in sorted(lengths)], marker_color="#1f77b4"))
    preview = pd.DataFrame({"#": range(1, min(25, len(d.lines)) + 1), "line": d.lines[:25],
                            "length": [len(line) for line in d.lines[:25]]})
    if d.labels is not None:
        preview["label"] = d.labels[:25]
    return (summary, style(hist, "line length (characters)", "lines", 320, "Line lengths"),
            frequency_figure(Counter("".join(d.lines)).most_common()), preview)


def label_summary(d) -> str:
    """A table of lines and statistics per label ("" for a data set without labels)."""
    if d.labels is None:
        return ""
    rows = ["| label | lines (unique) | mean length | characters (most common) |", "|---|---|---|---|"]
    for label in d.vocab.labels + ([""] if "" in d.labels else []):
        lines = [line for line, lab in zip(d.lines, d.labels) if lab == label]
        common = " ".join(visible_char(c) for c, _ in Counter("".join(lines)).most_common(6))
        rows.append(f"| {markdown_text(label) if label else '(no label)'} | {len(lines):,} ({len(set(lines)):,}) | "
                    f"{sum(map(len, lines)) / len(lines):.1f} | {len(set(''.join(lines)))} (`{common}`) |")
    return f"\n\n**{len(d.vocab.labels)} labels**: a model trained here writes lines of a label you pick.\n\n" + \
        "\n".join(rows)


def layout(ctx: Context) -> dict:
    """The tab's components by name."""
    e = {}
    gr.Markdown("Pick a data set, or upload a plain-text file with one example per line "
                "(names, words, cities, Pokémon…), or a table (.csv, .tsv, .jsonl) with a column of lines and, "
                "if you like, a column of labels (an industry, a country). It is checked, then stored for training.")
    with gr.Row():
        with gr.Column(scale=1):
            e["dataset"] = gr.Dropdown(ctx.engine.bundled_datasets(), value="names", label="Data set",
                                       allow_custom_value=True, elem_id="data-dataset")
            e["upload"] = gr.File(label="Upload a .txt (one example per line), .csv, .tsv or .jsonl file",
                                  type="filepath", elem_id="data-upload")  # any file: a wrong one gets our reason
            with gr.Group(visible=False) as e["table"]:
                e["columns"] = gr.Dataframe(label="The table's first rows", interactive=False, max_height=240,
                                            wrap=True, elem_id="data-columns")
                e["text_column"] = gr.Dropdown([], label="text column (the lines to learn)",
                                               allow_custom_value=True, elem_id="data-text-column")
                e["label_column"] = gr.Dropdown([], label="label column (optional)", allow_custom_value=True,
                                                elem_id="data-label-column")
                e["use_table"] = gr.Button("Use this table", variant="primary", size="sm", elem_id="data-use-table")
            e["delete"] = gr.Button(DELETE, variant="stop", size="sm", elem_id="data-delete")
            e["message"] = gr.Markdown(label="message", elem_id="data-message", elem_classes=["mm-message"])
        with gr.Column(scale=2):
            e["summary"] = gr.Markdown(label="summary", elem_id="data-summary")
            with gr.Row():
                e["lengths"] = gr.Plot(label="Line lengths", show_label=False)
                e["frequencies"] = gr.Plot(label="Character frequencies", show_label=False,
                                           elem_id="data-frequencies")
            e["preview"] = gr.Dataframe(label="First lines", interactive=False, max_height=320, wrap=True,
                                        column_widths=["12%", "68%", "20%"])
    e["picked"] = gr.State(None)  # the data set last picked or uploaded here, for the other tabs
    e["armed"] = gr.State(None)  # the data set whose Delete was clicked once (the second click deletes)
    e["pending"] = gr.State(None)  # an uploaded table waiting for its columns to be picked
    return e


def dataset_stats(ctx: Context, dataset):
    """The data set's summary, charts and preview (the /dataset_stats endpoint); an error as text."""
    if not dataset:
        return "", empty_figure("No data set", 300), empty_figure("No data set", 300), None, ""
    try:
        return (*stats(ctx, dataset), "")
    except MakemoreError as e:
        return "", empty_figure("No data", 300), empty_figure("No data", 300), None, f"**Error:** {e}"


def shown_in_page(ctx: Context, dataset):
    """As `dataset_stats`, but the message beside the controls is left alone unless this data set cannot be shown."""
    *shown, problem = dataset_stats(ctx, dataset)
    return (*shown, error(problem.removeprefix("**Error:** ")) if problem else gr.skip())


def upload_dataset(ctx: Context, path, text_column=None, label_column=None):
    """Store an uploaded file (the /upload_dataset endpoint): a .txt file, or a table's text column (and label
    column); a file that cannot be used gives the reason."""
    if not path:
        return gr.update(), ""
    try:
        name, used = ctx.session.store_upload(Path(path).name, Path(path).read_bytes(), text_column or None,
                                              label_column or None)
    except MakemoreError as e:
        return gr.update(), f"**Could not use {markdown_text(Path(path).name)}:** {e}"
    return name, f"Stored as **{markdown_text(name)}**. {markdown_text(used)} Train on it in the Train tab.".replace(
        "  ", " ")


def store_in_page(ctx: Context, path, text_column=None, label_column=None):
    """(data set list, picked, table group, preview, text column, label column, pending table, message): a table
    uploaded without columns is shown for its columns first; with them (or a .txt file) it is stored."""
    if not path:
        return (*[gr.skip()] * 7, "")
    if not Path(path).is_file():  # the server removes uploads after a while (uploads.py)
        raise DataError(f"{Path(path).name} is no longer on the server (uploads are kept for a few minutes): "
                        "upload it again, then pick its columns.")
    if Path(path).suffix.lower() in TABLE_SUFFIXES and text_column is None:
        return (gr.skip(), gr.skip(), *table_columns(ctx, path), path, note(
            f"**{markdown_text(Path(path).name)}** is a table: pick its text column (and, if you like, a label "
            "column), then press **Use this table**.", "warn"))
    try:
        name, used = ctx.session.store_upload(Path(path).name, Path(path).read_bytes(), text_column or None,
                                              label_column or None)
    except MakemoreError as e:
        raise DataError(f"Could not use {Path(path).name}: {e}") from None
    return (dataset_update(ctx, name), name, gr.update(visible=False), *[gr.skip()] * 3, None,
            f"Stored as **{markdown_text(name)}** and selected here and in Train and Compare: train on it in the "
            f"Train tab. {markdown_text(used)}")


def table_columns(ctx: Context, path):
    """The table group shown, its first rows, and the column pickers (the obvious text column and a "label"
    column preset)."""
    columns, rows = ctx.session.table_preview(Path(path).name, Path(path).read_bytes())
    lowered = [c.lower() for c in columns]
    text = next((c for c, low in zip(columns, lowered) if low in ("text", "name", "line", "word")), columns[0])
    label = next((c for c, low in zip(columns, lowered) if low == "label" and c != text), "")
    return (gr.update(visible=True), pd.DataFrame(rows, columns=columns),
            gr.update(choices=columns, value=text), gr.update(choices=[("(no labels)", "")] + columns, value=label))


def delete_dataset(ctx: Context, dataset):
    """Delete an uploaded data set (the /delete_dataset endpoint)."""
    if not dataset:
        return gr.update(), "Pick a data set first."
    try:
        ctx.session.delete_dataset(dataset)
    except MakemoreError as e:
        return gr.update(), f"**Error:** {e}"
    return "names", f"Deleted **{markdown_text(dataset)}**. Runs trained on it can still be sampled, not resumed."


def ask_then_delete(ctx: Context, dataset, armed):
    """The first click asks (the button turns into "Really delete X?"), the second deletes."""
    if not dataset:
        raise DataError("Pick a data set first.")
    if dataset in ctx.engine.bundled_datasets():
        raise DataError(f"{dataset} is a bundled data set and cannot be deleted.")
    shown = markdown_text(dataset)
    if armed != dataset:
        return gr.skip(), gr.update(value=f"Really delete {dataset}?"), dataset, note(
            f"Delete **{shown}** for good? Click **Really delete {shown}?** to confirm, or pick another data set "
            "to keep it.", "warn")
    ctx.session.delete_dataset(dataset)
    return (dataset_update(ctx, "names"), gr.update(value=DELETE), None,
            f"Deleted **{shown}**. Runs trained on it can still be sampled, not resumed.")


def wire(ctx: Context, e: dict):
    """The tab's own events and its named endpoints."""
    shown = [e["summary"], e["lengths"], e["frequencies"], e["preview"], e["message"]]
    ctx.on(e["dataset"].change, lambda dataset: shown_in_page(ctx, dataset), e["dataset"], shown, **PRIVATE)
    e["dataset"].change(lambda: (gr.update(value=DELETE), None), None, [e["delete"], e["armed"]], **PRIVATE)
    e["dataset"].input(lambda name: (name, note("")), e["dataset"], [e["picked"], e["message"]],
                       **PRIVATE)  # a person's own pick
    stored = [e[n] for n in ("dataset", "picked", "table", "columns", "text_column", "label_column", "pending",
                             "message")]
    ctx.on(e["upload"].upload, in_page(lambda path: store_in_page(ctx, path), keep=7), e["upload"],
           stored, **PRIVATE).then(lambda: None, None, e["upload"], **PRIVATE)  # ready for the next file
    ctx.on(e["use_table"].click, in_page(lambda path, t, lab: store_in_page(ctx, path, t or "", lab), keep=7),
           [e["pending"], e["text_column"], e["label_column"]], stored, **PRIVATE)
    ctx.on(e["delete"].click, in_page(lambda dataset, armed: ask_then_delete(ctx, dataset, armed), keep=3),
           [e["dataset"], e["armed"]], [e["dataset"], e["delete"], e["armed"], e["message"]], **PRIVATE)
    ctx.endpoint(bound(dataset_stats, ctx), e["dataset"], shown, "dataset_stats")
    ctx.endpoint(bound(upload_dataset, ctx), [e["upload"], e["text_column"], e["label_column"]],
                 [e["dataset"], e["message"]], "upload_dataset")
    ctx.endpoint(bound(delete_dataset, ctx), e["dataset"], [e["dataset"], e["message"]], "delete_dataset")


def create_tab(ctx: Context) -> dict:
    e = layout(ctx)
    ctx.manager.add("data", e)
    wire(ctx, e)
    return e


def page_load(ctx: Context) -> PageLoad:
    """A (re)loaded page shows the visitor's latest data set (else the chosen one)."""
    names = ("summary", "lengths", "frequencies", "preview", "message")

    def load(shown: dict) -> dict:  # the visitor's latest data set, as lists_load selects it
        dataset = ctx.session.latest_dataset() or shown["data.dataset"]
        return {f"data.{n}": u for n, u in zip(names, shown_in_page(ctx, dataset))}
    return PageLoad(("data.dataset",), tuple(f"data.{n}" for n in names), load)
