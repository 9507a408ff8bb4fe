"""The Ideas tab: new names from a trained model under constraints, and a shortlist of the ones you star.

Ideas come from makemore.ideas (constraints, only-new, ranking, a time limit with a message instead of a
hang). Clicking an idea in the results stars it (clicking again unstars it); the shortlist is kept on the
server in the visitor's workspace (makemore.shortlist), so it survives a reload, and is exported as .txt and
.csv files made for each change. API clients and assistants (MCP) use /generate_ideas, /shortlist,
/shortlist_add, /shortlist_remove and /shortlist_export.
"""
from types import SimpleNamespace
from typing import Literal

import gradio as gr
import pandas as pd

from ..errors import ConfigError
from ..shortlist import export_csv, export_txt
from .common import (PRIVATE, Context, Number, PageLoad, bound, download_folder, in_page, inputs_for, label_picker,
                     label_update, markdown_text, note)

SECONDS = 3.0  # the time limit of one request
PAGE_MAX = 200  # the most ideas the page asks for at once (API clients: ideas.MAX_IDEAS)
STAR, NO_STAR = "★", "☆"
COLUMNS = [STAR, "idea", "score", "new"]
HINT = pd.DataFrame({STAR: [""], "idea": ["Press Generate ideas, then click the ideas you like to star them."],
                     "score": [""], "new": [""]})
NEW_LABELS = {True: "new", False: "in data", None: "?"}
RANKS = [("likeliest first", "logprob"), ("diverse mix", "diverse")]
CASES = [("as in the data", "as-is"), ("lower", "lower"), ("Title Case", "title"), ("UPPER", "upper")]


def whole(value, default=None):
    """A whole number from a form or JSON (4.0 -> 4); blank -> `default`; anything else is left for the
    generator to refuse with its message."""
    if value is None or value == "":
        return default
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def generate_ideas(ctx: Context, run_id: str, count: int = 20, only_new: bool = True, min_len: int = 1,
                   max_len: int | None = None, starts_with: str = "", ends_with: str = "", contains: str = "",
                   exclude: str = "", temperature: float = 1.0, rank: Literal["logprob", "diverse"] = "logprob",
                   case: Literal["as-is", "lower", "title", "upper"] = "as-is", label: str = "") -> dict:
    """New names (or company names, words...) from a trained model under constraints, best first. It stops
    after 3 seconds with a message saying what it could not find; it never hangs.

    Args:
        run_id (str): the model: a run id from list_models, e.g. "names-transformer".
        count (int): how many ideas, 1 to 1000.
        only_new (bool): true: never a line of the model's training data.
        min_len (int): the shortest idea, in characters (at least 1).
        max_len (int | None): the longest idea, in characters; null or 0: as long as the model writes.
        starts_with (str): every idea starts with this text ("" for any).
        ends_with (str): every idea ends with this text ("" for any).
        contains (str): every idea contains this text ("" for any).
        exclude (str): characters no idea may use, e.g. "xq" (case-sensitive; "" for none).
        temperature (float): above 0, at most 10: 1 samples as trained, lower is safer, higher bolder.
        rank (str): "logprob": the likeliest ideas first; "diverse": a mix of three temperatures.
        case (str): "lower", "title" or "upper" for mixed-case data (company names); "as-is": the model's.
        label (str): for a model trained on a labelled data set (list_models gives its labels): ideas of this
            label, e.g. "company"; "" for any.
        workspace (str | None): your key from new_workspace (on a public server; ignored locally).

    Returns:
        {"ideas": [{"text", "score": mean log-probability per character (closer to 0 is likelier)
        "is_new": null if the data set is unknown}], "message": why fewer than count came back, else ""
        "candidates": lines sampled, "seconds"}.
    """
    if not run_id:
        raise ConfigError("Pick a run to generate from (train one in the Train tab, or pick a shipped one).")
    constraints = dict(min_len=whole(min_len, 1), max_len=whole(max_len) or None, starts_with=starts_with or "",
                       ends_with=ends_with or "", contains=contains or "", exclude=exclude or "",
                       temperature=temperature, rank=rank or "logprob", case=case or "as-is")
    result, known = ctx.session.ideas(run_id, whole(count), bool(only_new), constraints, SECONDS, label or None)
    message = result.message
    if not known:
        message = (message + " " if message else "") + (
            "The data set this run learned from is not in your workspace, so whether an idea is new "
            "could not be checked.")
    return {"ideas": [{"text": i.text, "score": round(i.score, 4), "is_new": i.is_new if known else None}
                      for i in result.ideas],
            "message": message, "candidates": result.candidates, "seconds": round(result.elapsed, 2)}


def ideas_frame(found: list[dict], starred: set) -> pd.DataFrame:
    return pd.DataFrame({STAR: [STAR if i["text"] in starred else NO_STAR for i in found],
                         "idea": [i["text"] for i in found], "score": [f"{i['score']:.3f}" for i in found],
                         "new": [NEW_LABELS[i["is_new"]] for i in found]}, columns=COLUMNS)


def restar(table: pd.DataFrame | None, starred: set):
    """The results table with its star column redrawn for the current shortlist."""
    if table is None or "idea" not in table or table.empty or not str(table["score"].iloc[0]):
        return gr.skip()  # the hint, not results
    table = table.copy()
    table[STAR] = [STAR if text in starred else NO_STAR for text in table["idea"]]
    return table


def export_files(items: list[dict]) -> tuple[str, str]:
    """The shortlist as shortlist.txt and shortlist.csv in a fresh download folder; the two paths."""
    folder = download_folder()
    txt, csv = folder / "shortlist.txt", folder / "shortlist.csv"
    txt.write_text(export_txt(items), encoding="utf-8")
    csv.write_text(export_csv(items), encoding="utf-8")
    return str(txt), str(csv)


def shortlist_outputs(items: list[dict]) -> tuple:
    """(checkbox group, .txt button, .csv button) showing the shortlist; the files only when it has ideas."""
    texts = [item["text"] for item in items]
    box = gr.update(choices=texts, value=texts,
                    label=f"Your shortlist ({len(texts)}): uncheck an idea to remove it" if texts else
                    "Your shortlist: click an idea in the results to star it")
    if not items:
        return box, gr.update(value=None, interactive=False), gr.update(value=None, interactive=False)
    txt, csv = export_files(items)
    return box, gr.update(value=txt, interactive=True), gr.update(value=csv, interactive=True)


def layout(ctx: Context) -> dict:
    """The form on the left; the results, the shortlist and its downloads on the right."""
    c = SimpleNamespace()  # then returned by name
    with gr.Row():
        with gr.Column(scale=1, min_width=300):
            gallery = ctx.gallery_choices(with_weights=True)
            c.run_id = gr.Dropdown(gallery, label="Model (a run)", allow_custom_value=True,
                                   value=gallery[0][1] if gallery else None, elem_id="ideas-run")
            c.label = label_picker("ideas-label")
            c.count = gr.Slider(1, PAGE_MAX, value=20, step=1, label="how many ideas", elem_id="ideas-count")
            c.only_new = gr.Checkbox(True, label="only new (never a line of the data set)", elem_id="ideas-new")
            with gr.Row():
                c.min_len = Number(1, label="min length", minimum=1, precision=0, min_width=120,
                                   elem_id="ideas-min")
                c.max_len = Number(0, label="max length (0: any)", minimum=0, precision=0, min_width=120,
                                   elem_id="ideas-max")
            with gr.Row():
                c.starts_with = gr.Textbox("", label="starts with", max_lines=1, min_width=120,
                                           elem_id="ideas-starts")
                c.ends_with = gr.Textbox("", label="ends with", max_lines=1, min_width=120, elem_id="ideas-ends")
            with gr.Row():
                c.contains = gr.Textbox("", label="contains", max_lines=1, min_width=120, elem_id="ideas-contains")
                c.exclude = gr.Textbox("", label="never uses these characters", max_lines=1, min_width=120,
                                       elem_id="ideas-exclude")
            c.case = gr.Radio(CASES, value="as-is", label="case (for mixed-case data such as company names)",
                              elem_id="ideas-case")
            c.temperature = gr.Slider(0.1, 2.0, value=1.0, step=0.05, label="temperature (higher: bolder ideas)")
            c.rank = gr.Radio(RANKS, value="logprob", label="order", elem_id="ideas-rank")
            c.go = gr.Button("Generate ideas", variant="primary", elem_id="ideas-go")
            c.message = gr.Markdown(elem_id="ideas-message", elem_classes=["mm-message"])
        with gr.Column(scale=2, min_width=300):
            c.table = gr.Dataframe(HINT, label="Ideas: click one to star it (score: the model's mean log-probability "
                                   "per character; closer to 0 is likelier)", interactive=False, max_height=460,
                                   column_widths=["10%", "46%", "24%", "20%"], wrap=True, elem_id="ideas-table")
            c.shortlist = gr.CheckboxGroup([], label="Your shortlist: click an idea in the results to star it",
                                           elem_id="ideas-shortlist")
            with gr.Row():
                c.txt = gr.DownloadButton("Download .txt", size="sm", interactive=False, elem_id="ideas-txt")
                c.csv = gr.DownloadButton("Download .csv", size="sm", interactive=False, elem_id="ideas-csv")
            c.shortlist_message = gr.Markdown(elem_id="ideas-shortlist-message", elem_classes=["mm-message"])
    return vars(c)


def shortlist(ctx: Context) -> list[dict]:
    """Your shortlist: the ideas you starred, oldest first.

    Args:
        workspace (str | None): your key from new_workspace (on a public server; ignored locally).

    Returns:
        [{"text", "score", "is_new", "run_id", "added": unix time}].
    """
    return ctx.session.shortlist()


def shortlist_add(ctx: Context, text: str, score: float | None = None, is_new: bool | None = None,
                  run_id: str | None = None) -> list[dict]:
    """Star an idea: add it to your shortlist, kept on the server (starring it again changes nothing).

    Args:
        text (str): the idea, one line of at most 200 characters.
        score (float | None): its score from generate_ideas, if known.
        is_new (bool | None): whether it is new (not in the training data), if known.
        run_id (str | None): the run that wrote it, if known.
        workspace (str | None): your key from new_workspace (on a public server; ignored locally).

    Returns:
        The whole shortlist: [{"text", "score", "is_new", "run_id", "added"}].
    """
    return ctx.session.shortlist_add(text, score, is_new, run_id or None)


def shortlist_remove(ctx: Context, text: str) -> list[dict]:
    """Unstar an idea: remove it from your shortlist (an idea that is not on it is ignored).

    Args:
        text (str): the idea, exactly as it is on the shortlist.
        workspace (str | None): your key from new_workspace (on a public server; ignored locally).

    Returns:
        The whole shortlist: [{"text", "score", "is_new", "run_id", "added"}].
    """
    return ctx.session.shortlist_remove(text)


def shortlist_export(ctx: Context):
    """Your shortlist as two files: .txt (one idea per line) and .csv (UTF-8 with a byte order mark,
    formula-safe cells; columns text, score, is_new, run_id, added)."""
    return export_files(ctx.session.shortlist())


def generate_in_page(ctx: Context, *values):
    found = generate_ideas(ctx, *values)
    table = ideas_frame(found["ideas"], {item["text"] for item in ctx.session.shortlist()})
    n = len(found["ideas"])
    if found["message"]:
        return table, note(found["message"], "warn")
    return table, (f"{n} idea{'s' * (n != 1)} in {found['seconds']:.1f} s "
                   f"({found['candidates']:,} lines sampled). Click the ones you like to star them.")


def star(ctx: Context, table, run_id, evt: gr.SelectData):
    """A click on a result stars the idea of its row, or unstars it if it is starred."""
    row = evt.row_value if evt is not None else None
    if not row or len(row) < 3 or not str(row[2]):
        return (gr.skip(),) * 4 + ("",)  # the hint row
    text, score, new = row[1], float(row[2]), {"new": True, "in data": False}.get(row[3])
    starred = {item["text"] for item in ctx.session.shortlist()}
    if text in starred:
        items, said = ctx.session.shortlist_remove(text), f"Removed **{markdown_text(text)}** from the shortlist."
    else:
        items, said = ctx.session.shortlist_add(text, score, new, run_id or None), f"Starred **{markdown_text(text)}**."
    return (restar(table, {i["text"] for i in items}), *shortlist_outputs(items), said)


def keep_checked(ctx: Context, table, checked):
    """Unchecking an idea in the shortlist removes it."""
    items = ctx.session.shortlist()
    gone = [item["text"] for item in items if item["text"] not in set(checked or [])]
    for text in gone:
        items = ctx.session.shortlist_remove(text)
    said = f"Removed **{markdown_text(', '.join(gone))}** from the shortlist." if gone else ""
    return (restar(table, {i["text"] for i in items}), *shortlist_outputs(items), said)


def refresh_shortlist(ctx: Context, shown):
    """The tab opened again: the shortlist as saved if it changed meanwhile (an assistant's doing). An
    unchanged one is left alone, so this never undoes an uncheck that reaches the server first."""
    items = ctx.session.shortlist()
    if [item["text"] for item in items] == list(shown or []):
        return gr.skip(), gr.skip(), gr.skip()
    return shortlist_outputs(items)


LISTED = ("shortlist", "txt", "csv")  # what shows the shortlist


def wire(ctx: Context, e: dict):
    """The tab's own events and its named endpoints (also the assistant's tools)."""
    page = dict(api_visibility="private")
    listed = [e[name] for name in LISTED]
    ctx.on(e["go"].click, in_page(bound(generate_in_page, ctx), keep=1), inputs_for(generate_ideas, e, skip=1),
           [e["table"], e["message"]], **page)
    ctx.on(e["table"].select, in_page(bound(star, ctx), keep=4), [e["table"], e["run_id"]],
           [e["table"], *listed, e["shortlist_message"]], show_progress="hidden", **page)
    ctx.on(e["shortlist"].input, in_page(bound(keep_checked, ctx), keep=4), [e["table"], e["shortlist"]],
           [e["table"], *listed, e["shortlist_message"]], show_progress="hidden", **page)
    ctx.on(e["run_id"].change, lambda run_id, label: label_update(ctx, run_id, label), [e["run_id"], e["label"]],
           e["label"], **PRIVATE)
    for fn in (generate_ideas, shortlist, shortlist_add, shortlist_remove):
        ctx.api(bound(fn, ctx))
    ctx.endpoint(bound(shortlist_export, ctx), None, [e["txt"], e["csv"]], "shortlist_export")


def create_tab(ctx: Context) -> dict:
    e = layout(ctx)
    ctx.manager.add("ideas", e)
    wire(ctx, e)
    return e


def page_load(ctx: Context) -> PageLoad:
    """A (re)loaded page shows the shortlist as saved."""
    def load(shown: dict) -> dict:
        return dict(zip((f"ideas.{n}" for n in LISTED), shortlist_outputs(ctx.session.shortlist())))
    return PageLoad((), tuple(f"ideas.{n}" for n in LISTED), load)
