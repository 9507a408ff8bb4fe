"""The web app: an intro, then one tab per module (Data, Train, Sample, Ideas, Compare, Look inside), wired
together here; and the endpoints an AI assistant gets over MCP (assistant.py).

Every event acts for the visitor who sent it (Context.owned): their workspace key, kept in their browser, goes
in as the last input. The selection follows the user across tabs: a data set picked or uploaded in Data is selected in Train and
Compare; the run Train shows is selected in Sample once it has weights; a reloaded page shows the newest
queued or running run.
"""
import os

import gradio as gr
from starlette.middleware import Middleware

from ..errors import MakemoreError
from ..jobs import JobManager
from ..limits import Limits
from ..owners import KEY, Owners
from ..uploads import UploadGuard
from . import assistant, compare_tab, data_tab, ideas_tab, lookinside_tab, sample_tab, train_tab
from .common import Context, dataset_refresh, dataset_update, friendly, request_client, run_refresh, run_update, \
    runs_update

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


def build_demo(owners: Owners | None = None, jobs: JobManager | None = None) -> gr.Blocks:
    owners = owners or (jobs.owners if jobs else Owners())
    with gr.Blocks(title="makemore playground", delete_cache=(3600, 3600)) as demo:
        # the visitor's anonymous workspace key, kept in their browser (a new tab or a reload keeps it)
        key = gr.BrowserState("", storage_key="makemore-workspace", secret=owners.secret())  # survives a restart
        ctx = Context(owners, jobs or JobManager(owners), key)
        with gr.Row():
            gr.Markdown(INTRO, elem_id="intro")
            if owners.public and oauth_enabled():
                gr.LoginButton(scale=0, min_width=160)
        gr.Markdown(VISIBILITY if owners.public else "", elem_id="visibility")
        with gr.Tabs(overflow_behavior="wrap"):  # every tab in sight on a phone, never behind a "..." menu
            with gr.Tab("Data", id="data") as data:
                data_ui = data_tab.build(ctx)
            with gr.Tab("Train", id="train") as train:
                train_ui = train_tab.build(ctx)
            with gr.Tab("Sample", id="sample") as sample:
                sample_ui = sample_tab.build(ctx)
            with gr.Tab("Ideas", id="ideas") as ideas:
                ideas_ui = ideas_tab.build(ctx)
            with gr.Tab("Compare", id="compare") as compare:
                compare_ui = compare_tab.build(ctx)
            with gr.Tab("Look inside", id="inside") as inside:
                inside_ui = lookinside_tab.build(ctx, inside)
        followed = gr.State(None)  # the Train tab's run that the Sample tab last switched to
        applied = {tab: gr.State(None) for tab in ("train", "compare")}  # the Data pick each tab last took
        private = dict(api_visibility="private", show_progress="hidden")

        # lists change in other tabs (an upload, a new run): refresh them when a tab is opened
        def datasets(current):
            return dataset_refresh(ctx.ws, current)

        def follow_dataset(current, picked, applied):
            """A tab's data set: the one last picked or uploaded in Data (once per pick), else its own choice."""
            if picked and picked != applied:
                return dataset_update(ctx.ws, picked), picked
            return datasets(current), applied

        def follow(current, train_run, followed):
            """Sample switches (once) to the run the Train tab shows when it has weights; else keeps its run."""
            try:
                summary = ctx.run(train_run).summary() if train_run and train_run != followed else None
            except MakemoreError:
                summary = None
            if summary and summary.has_weights and summary.state.value in ("running", "finished", "stopped"):
                return run_update(ctx, train_run, with_weights=True), train_run
            return run_refresh(ctx, current, with_weights=True), followed

        def shared(request: gr.Request):
            """A share link (?run=<id>) opens the app on that run: in Train, Sample and Compare."""
            run_id = request.query_params.get("run") if request else None
            if not run_id:
                return gr.skip(), gr.skip(), gr.skip()
            try:
                ctx.run(run_id)
            except MakemoreError:
                return gr.skip(), gr.skip(), gr.skip()
            return run_update(ctx, run_id), run_update(ctx, run_id, with_weights=True), runs_update(ctx, [run_id])

        ctx.on(data.select, datasets, data_ui.dataset, data_ui.dataset, **private)
        ctx.on(ideas.select, lambda r, shown: (run_refresh(ctx, r, with_weights=True),
                                               *ideas_ui.refresh_shortlist(shown)),
               [ideas_ui.run_id, ideas_ui.listed[0]], [ideas_ui.run_id, *ideas_ui.listed], **private)
        look_inside = (lambda r, d: (run_refresh(ctx, r, with_weights=True), datasets(d)),
                       [inside_ui.run_id, inside_ui.dataset], [inside_ui.run_id, inside_ui.dataset])
        ctx.on(inside.select, *look_inside, **private)
        # a data set picked or uploaded in Data is the one Train and Compare use next
        ctx.on(train.select, lambda d, p, a, r: (*follow_dataset(d, p, a), run_refresh(ctx, r),
                                                 train_ui.start_from_update()),
               [train_ui.dataset, data_ui.picked, applied["train"], train_ui.run_id],
               [train_ui.dataset, applied["train"], train_ui.run_id, train_ui.start_from], **private)
        ctx.on(sample.select, follow, [sample_ui.run_id, train_ui.run_id, followed], [sample_ui.run_id, followed],
               **private)
        ctx.on(compare.select, lambda d, p, a, r: (*follow_dataset(d, p, a), runs_update(ctx, r, refresh=True)),
               [compare_ui.dataset, data_ui.picked, applied["compare"], compare_ui.runs],
               [compare_ui.dataset, applied["compare"], compare_ui.runs], **private)
        # a (re)loaded page: first the visitor's key (a new one on a first visit), then what is there now
        loads = [(lambda d, t, c: (datasets(d), datasets(t), datasets(c)),
                  [data_ui.dataset, train_ui.dataset, compare_ui.dataset],
                  [data_ui.dataset, train_ui.dataset, compare_ui.dataset]),
                 (lambda: run_update(ctx, None, with_weights=True), None, sample_ui.run_id),
                 (lambda r: run_refresh(ctx, r, with_weights=True), ideas_ui.run_id, ideas_ui.run_id), look_inside,
                 data_ui.load, *train_ui.load, *compare_ui.load, *ideas_ui.load]
        inputs, outputs, on_load = combine(loads)
        demo.load(lambda current: current if KEY.match(current or "") else owners.new_key(), key, key,
                  **private).then(ctx.owned(on_load), [*inputs, key], outputs, **private).then(
            ctx.owned(shared), key, [train_ui.run_id, sample_ui.run_id, compare_ui.runs], **private).then(
            None, js=LOADED_JS)  # the page now shows this visitor's work: a choice made from here on is kept
        gr.api(friendly(new_workspace(owners)), api_name="new_workspace")
        assistant.build(ctx)
    demo.ctx = ctx
    return demo


def new_workspace(owners: Owners):
    def new_workspace(request: gr.Request) -> str:
        """A fresh anonymous workspace key. Pass it as `workspace` to every other endpoint: your data sets and
        runs are then yours alone (on a public server; locally there is one workspace and no key is needed)."""
        return owners.new_key(request_client(request))
    return new_workspace


def combine(loads):
    """Several (fn, inputs, outputs) page-load handlers as one: (inputs, outputs, fn)."""
    inputs, outputs, parts = [], [], []
    for fn, ins, outs in loads:
        ins = [] if ins is None else list(ins) if isinstance(ins, (list, tuple)) else [ins]
        outs = list(outs) if isinstance(outs, (list, tuple)) else [outs]
        parts.append((fn, len(inputs), len(ins), len(outs)))
        inputs, outputs = inputs + ins, outputs + outs

    def on_load(*values):
        results = []
        for fn, start, n_in, n_out in parts:
            result = fn(*values[start:start + n_in])
            results += list(result) if n_out > 1 else [result]
        return tuple(results)
    return inputs, outputs, on_load


def oauth_enabled() -> bool:
    """Sign-in with Hugging Face: on a Space whose README front matter says `hf_oauth: true`."""
    return bool(os.environ.get("OAUTH_CLIENT_ID"))


def launch_options(owners: Owners) -> dict:
    """launch() arguments: no folder of the server is served (downloads are made per request), uploads capped per
    file, and per client on a public server (uploads.UploadGuard)."""
    guard = [Middleware(UploadGuard, uploads=owners.uploads)] if owners.public else []
    return dict(max_file_size=owners.limits.max_upload_bytes, theme=THEME, css=CSS, head=HEAD,
                app_kwargs={"middleware": guard})


def queue_options(limits: Limits) -> dict:
    """queue() arguments: a bounded queue on a shared server, so a flood is turned away instead of piling up."""
    return dict(default_concurrency_limit=4, max_size=64 if limits.public else None)
