"""The web app: an intro, then one tab per module (Data, Train, Sample, Ideas, Compare, Look inside), wired
together here by component names ("train.run_id"); and the endpoints an AI assistant gets over MCP (assistant.py).

Every event acts for the visitor who sent it (Context.owned): their workspace key, kept in their browser, goes
in as the last input, and the event runs on that visitor's engine session. The selection follows the user across tabs: a data set picked or uploaded in Data is selected in Train and
Compare; the run Train shows is selected in Sample once it has weights; a reloaded page shows the newest
queued or running run.
"""
import os

import gradio as gr
from starlette.middleware import Middleware

from ..engine import Engine
from ..errors import MakemoreError
from ..limits import Limits
from ..uploads import UploadGuard
from . import assistant, compare_tab, data_tab, ideas_tab, lookinside_tab, sample_tab, train_tab
from .common import (PRIVATE, Context, PageLoad, dataset_refresh, dataset_update, friendly, on_page_load,
                     request_client, run_refresh, run_update, runs_update)

INTRO = """# makemore playground
Character-level language models that *make more* of what you give them: feed in a list of names (or company
names, words, anything one-per-line) and a model learns to invent new ones. Pick or upload a data set in **Data**,
train one of eight architectures, from a bigram count table to a small GPT, in **Train** and watch the loss fall,
draw new lines from any checkpoint in **Sample**, get new names under your constraints (and a shortlist to
export) in **Ideas**, and race the architectures against each other in **Compare**.
The defaults (names, a Transformer, one minute of CPU) already make plausible new names.
"""
VISIBILITY = ("*Your uploads and runs are private to this browser (or to your Hugging Face account once signed "
              "in). Everyone sees the gallery: the shipped runs, and runs their owners published.*")
THEME = gr.themes.Soft(primary_hue="indigo", neutral_hue="slate")
CSS = """
.gradio-container { max-width: min(1400px, 100%) !important; min-width: 0 !important; margin: auto; }
/* nothing may be wider than the screen: wide tables scroll inside their own box */
.gradio-container .main, .gradio-container .wrap, .gradio-container main.contain, .gradio-container .tabs,
.gradio-container .tabitem { min-width: 0; max-width: 100%; }
.gradio-container .table-container { max-width: 100%; overflow-x: auto; }
#train-status p, #data-summary p { margin: 0.2em 0; }
.mm-message p { margin: 0.2em 0; }
.block.mm-error, .block.mm-warn, #train-status blockquote { border-radius: 6px; padding: 0.35em 0.7em !important;
  margin: 0.3em 0; }
.block.mm-error { background: #fef2f2; border: 1px solid #fca5a5 !important; }
.mm-error, .mm-error * { color: #991b1b !important; }
.block.mm-warn, #train-status blockquote { background: #fffbeb; border: 1px solid #fcd34d !important; }
#train-status blockquote { border-left-width: 4px !important; color: #78350f; }
/* until the page has this visitor's work (LOADED_JS), a choice would be undone by the defaults: none is taken */
body:not([data-loaded]) .gradio-container .tabitem { pointer-events: none; opacity: 0.6; }
@media (max-width: 640px) {
  .gradio-container { padding-left: 6px !important; padding-right: 6px !important; }
  #intro h1 { font-size: 1.5em; }
  .gradio-container .tab-container button { padding: 0 var(--size-2) !important; }
  .js-plotly-plot .modebar-container { display: none; }  /* it covers the legend; pinch-zoom works anyway */
  .mm-run-row > * { min-width: 80px !important; }
  .mm-run-row > :first-child { flex-basis: 100% !important; }
}
""" + lookinside_tab.CSS


# marks the page as loaded (<body data-loaded="true">) once the visitor's data sets and runs are in place: a
# choice made earlier would be replaced by the page-load defaults, so the tabs take none before (CSS above).
# Browser tests wait for the mark. If loading never ends (a lost connection), the tabs open after 20 s anyway.
LOADED_JS = "() => { document.body.dataset.loaded = 'true'; }"
HEAD = ("<script>setTimeout(() => { if (!document.body.dataset.loaded) document.body.dataset.loaded = 'late'; }, "
        "20000);</script>")


TABS = [("Data", "data", data_tab), ("Train", "train", train_tab), ("Sample", "sample", sample_tab),
        ("Ideas", "ideas", ideas_tab), ("Compare", "compare", compare_tab), ("Look inside", "inside", lookinside_tab)]


def build_demo(engine: Engine | None = None) -> gr.Blocks:
    """The whole page over one engine: every tab, the wiring between them by name, the page load."""
    engine = engine or Engine()
    with gr.Blocks(title="makemore playground", delete_cache=(3600, 3600)) as demo:
        # the visitor's anonymous workspace key, kept in their browser (a new tab or a reload keeps it)
        key = gr.BrowserState("", storage_key="makemore-workspace", secret=engine.secret())  # survives a restart
        ctx = Context(engine, key)
        with gr.Row():
            gr.Markdown(INTRO, elem_id="intro")
            if engine.public and oauth_enabled():
                gr.LoginButton(scale=0, min_width=160)
        gr.Markdown(VISIBILITY if engine.public else "", elem_id="visibility")
        tabs = {}
        with gr.Tabs(overflow_behavior="wrap"):  # every tab in sight on a phone, never behind a "..." menu
            for title, name, module in TABS:
                with gr.Tab(title, id=name) as tabs[name]:
                    module.create_tab(ctx, tabs[name]) if module is lookinside_tab else module.create_tab(ctx)
        wire_tabs(ctx, tabs)
        wire_page_load(ctx, demo)
        gr.api(friendly(new_workspace(engine)), api_name="new_workspace")
        assistant.build(ctx)
    demo.ctx = ctx
    return demo


def follow_dataset(ctx: Context, current, picked, applied):
    """A tab's data set: the one last picked or uploaded in Data (once per pick), else its own choice."""
    if picked and picked != applied:
        return dataset_update(ctx, picked), picked
    return dataset_refresh(ctx, current), applied


def follow_run(ctx: Context, current, train_run, followed):
    """Sample switches (once) to the run the Train tab shows when it has weights; else keeps its run."""
    try:
        summary = ctx.session.run(train_run) if train_run and train_run != followed else None
    except MakemoreError:
        summary = None
    if summary and summary.has_weights and summary.state.value in ("running", "finished", "stopped"):
        return run_update(ctx, train_run, with_weights=True), train_run
    return run_refresh(ctx, current, with_weights=True), followed


def wire_tabs(ctx: Context, tabs: dict):
    """Opening a tab refreshes its lists (they change in other tabs); a data set picked or uploaded in Data is
    the one Train and Compare use next; Sample follows the Train tab's run once it has weights."""
    m = ctx.manager
    m.add("page", {"followed": gr.State(None), "train_applied": gr.State(None), "compare_applied": gr.State(None)})

    def on_open(tab, fn, reads, writes):
        ctx.on_names([tabs[tab].select], lambda shown: dict(zip(writes, fn(*[shown[n] for n in reads]))),
                     reads, writes)
    on_open("data", lambda d: (dataset_refresh(ctx, d),), ["data.dataset"], ["data.dataset"])
    on_open("ideas", lambda r, shown: (run_refresh(ctx, r, with_weights=True),
                                       *ideas_tab.refresh_shortlist(ctx, shown)),
            ["ideas.run_id", "ideas.shortlist"], ["ideas.run_id", "ideas.shortlist", "ideas.txt", "ideas.csv"])
    on_open("inside", lambda r, d: (run_refresh(ctx, r, with_weights=True), dataset_refresh(ctx, d)),
            ["inside.run_id", "inside.dataset"], ["inside.run_id", "inside.dataset"])
    on_open("train", lambda d, p, a, r: (*follow_dataset(ctx, d, p, a), run_refresh(ctx, r),
                                         train_tab.start_from_update(ctx)),
            ["train.dataset", "data.picked", "page.train_applied", "train.run_id"],
            ["train.dataset", "page.train_applied", "train.run_id", "train.start_from"])
    on_open("sample", lambda c, t, f: follow_run(ctx, c, t, f), ["sample.run_id", "train.run_id", "page.followed"],
            ["sample.run_id", "page.followed"])
    on_open("compare", lambda d, p, a, r: (*follow_dataset(ctx, d, p, a), runs_update(ctx, r, refresh=True)),
            ["compare.dataset", "data.picked", "page.compare_applied", "compare.runs"],
            ["compare.dataset", "page.compare_applied", "compare.runs"])


SHARED = ("train.run_id", "sample.run_id", "compare.runs")  # what a share link sets


def shared_run(ctx: Context, run_id: str | None) -> dict:
    """A share link (?run=<id>) opens the app on that run: in Train, Sample and Compare."""
    if not run_id:
        return {}
    try:
        ctx.session.run(run_id)
    except MakemoreError:
        return {}
    return {"train.run_id": run_update(ctx, run_id), "sample.run_id": run_update(ctx, run_id, with_weights=True),
            "compare.runs": runs_update(ctx, [run_id])}


def lists_load(ctx: Context):
    """The page's lists as the visitor left them: every tab on the visitor's latest data set (their newest
    upload or the data set of their newest run) and latest run (the newest with weights where one is needed);
    a first visit keeps the defaults."""
    datasets = ("data.dataset", "train.dataset", "compare.dataset", "inside.dataset")
    runs = ("sample.run_id", "ideas.run_id", "inside.run_id")

    def load(shown: dict) -> dict:
        latest = ctx.session.latest_dataset()
        updates = {name: dataset_update(ctx, latest) if latest else dataset_refresh(ctx, shown[name])
                   for name in datasets}
        own = [s.id for s in ctx.session.runs(with_weights=True) if not s.readonly]
        for name in runs:
            updates[name] = run_update(ctx, own[0], with_weights=True) if own else \
                run_refresh(ctx, shown[name], with_weights=True)
        return updates
    return PageLoad((*datasets, *runs), (*datasets, *runs), load)


def wire_page_load(ctx: Context, demo: gr.Blocks):
    """A (re)loaded page: first the visitor's key (a new one on a first visit), then each tab's own load, then a
    share link's run; then the page takes input (LOADED_JS)."""
    loads = [lists_load(ctx), *(module.page_load(ctx) for _, _, module in TABS if hasattr(module, "page_load"))]
    key = demo.load(ctx.engine.key_or_new, ctx.key, ctx.key,
                    **PRIVATE)
    loaded = on_page_load(ctx, key.then, loads)

    def share(request: gr.Request):
        updates = shared_run(ctx, request.query_params.get("run") if request else None)
        return tuple(updates.get(name, gr.skip()) for name in SHARED)
    shared = ctx.on(loaded.then, share, None, [ctx.manager[name] for name in SHARED], **PRIVATE)
    shared.then(None, js=LOADED_JS)  # the page now shows this visitor's work: a choice made from here on is kept


def new_workspace(engine: Engine):
    def new_workspace(request: gr.Request) -> str:
        """A fresh anonymous workspace key. Pass it as `workspace` to every other endpoint: your data sets and
        runs are then yours alone (on a public server; locally there is one workspace and no key is needed)."""
        return engine.new_key(request_client(request))
    return new_workspace


def oauth_enabled() -> bool:
    """Sign-in with Hugging Face: on a Space whose README front matter says `hf_oauth: true`."""
    return bool(os.environ.get("OAUTH_CLIENT_ID"))


def launch_options(engine: Engine) -> dict:
    """launch() arguments: no folder of the server is served (downloads are made per request), uploads capped per
    file, and per client on a public server (uploads.UploadGuard)."""
    guard = [Middleware(UploadGuard, uploads=engine.uploads)] if engine.public else []
    return dict(max_file_size=engine.limits.max_upload_bytes, theme=THEME, css=CSS, head=HEAD,
                app_kwargs={"middleware": guard})


def queue_options(limits: Limits) -> dict:
    """queue() arguments: a bounded queue on a shared server, so a flood is turned away instead of piling up."""
    return dict(default_concurrency_limit=4, max_size=64 if limits.public else None)
