"""The web app: an intro, then one tab per module (Data, Train, Sample, Compare), wired together here.

The selection follows the user across tabs: a data set picked or uploaded in Data is selected in Train and
Compare; the run Train shows is selected in Sample once it has weights; a reloaded page shows the newest
queued or running run.
"""
import gradio as gr

from ..errors import MakemoreError
from ..jobs import JobManager
from ..workspace import Workspace
from . import compare_tab, data_tab, sample_tab, train_tab
from .common import Context, dataset_refresh, dataset_update, run_refresh, run_update, runs_update

INTRO = """# makemore playground
Character-level language models that *make more* of what you give them: feed in a list of names (or company
names, words, anything one-per-line) and a model learns to invent new ones. Pick or upload a data set in **Data**,
train one of eight architectures, from a bigram count table to a small GPT, in **Train** and watch the loss fall,
draw new lines from any checkpoint in **Sample**, and race the architectures against each other in **Compare**.
The defaults (names, a Transformer, one minute of CPU) already make plausible new names.
"""
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
@media (max-width: 640px) {
  .gradio-container { padding-left: 6px !important; padding-right: 6px !important; }
  #intro h1 { font-size: 1.5em; }
  .gradio-container .tab-container button { padding: 0 var(--size-2) !important; }
  .js-plotly-plot .modebar-container { display: none; }  /* it covers the legend; pinch-zoom works anyway */
  .mm-run-row > * { min-width: 80px !important; }
  .mm-run-row > :first-child { flex-basis: 100% !important; }
}
"""


def build_demo(workspace: Workspace | None = None, jobs: JobManager | None = None) -> gr.Blocks:
    ws = workspace or Workspace()
    ctx = Context(ws, jobs or JobManager(ws))
    with gr.Blocks(title="makemore playground", delete_cache=(3600, 3600)) as demo:
        gr.Markdown(INTRO, elem_id="intro")
        with gr.Tabs(overflow_behavior="wrap"):  # every tab in sight on a phone, never behind a "..." menu
            with gr.Tab("Data", id="data") as data:
                data_ui = data_tab.build(ctx)
            with gr.Tab("Train", id="train") as train:
                train_ui = train_tab.build(ctx)
            with gr.Tab("Sample", id="sample") as sample:
                sample_ui = sample_tab.build(ctx)
            with gr.Tab("Compare", id="compare") as compare:
                compare_ui = compare_tab.build(ctx)
        followed = gr.State(None)  # the Train tab's run that the Sample tab last switched to
        applied = {tab: gr.State(None) for tab in ("train", "compare")}  # the Data pick each tab last took
        private = dict(api_visibility="private", show_progress="hidden")

        # lists change in other tabs (an upload, a new run): refresh them when a tab is opened
        def datasets(current):
            return dataset_refresh(ws, current)

        def follow_dataset(current, picked, applied):
            """A tab's data set: the one last picked or uploaded in Data (once per pick), else its own choice."""
            if picked and picked != applied:
                return dataset_update(ws, picked), picked
            return datasets(current), applied

        def follow(current, train_run, followed):
            """Sample switches (once) to the run the Train tab shows when it has weights; else keeps its run."""
            try:
                summary = ws.run(train_run).summary() if train_run and train_run != followed else None
            except MakemoreError:
                summary = None
            if summary and summary.has_weights and summary.state.value in ("running", "finished", "stopped"):
                return run_update(ctx, train_run, with_weights=True), train_run
            return run_refresh(ctx, current, with_weights=True), followed

        data.select(datasets, data_ui.dataset, data_ui.dataset, **private)
        # a data set picked or uploaded in Data is the one Train and Compare use next
        train.select(lambda d, p, a, r: (*follow_dataset(d, p, a), run_refresh(ctx, r)),
                     [train_ui.dataset, data_ui.picked, applied["train"], train_ui.run_id],
                     [train_ui.dataset, applied["train"], train_ui.run_id], **private)
        sample.select(follow, [sample_ui.run_id, train_ui.run_id, followed], [sample_ui.run_id, followed], **private)
        compare.select(lambda d, p, a, r: (*follow_dataset(d, p, a), runs_update(ctx, r, refresh=True)),
                       [compare_ui.dataset, data_ui.picked, applied["compare"], compare_ui.runs],
                       [compare_ui.dataset, applied["compare"], compare_ui.runs], **private)
        # a (re)loaded page shows what is there now, not what was there when the app started
        demo.load(lambda d, t, c: (datasets(d), datasets(t), datasets(c)),
                  [data_ui.dataset, train_ui.dataset, compare_ui.dataset],
                  [data_ui.dataset, train_ui.dataset, compare_ui.dataset], **private)
        demo.load(lambda: run_update(ctx, None, with_weights=True), None, sample_ui.run_id, **private)
        for fn, inputs, outputs in [data_ui.load, *train_ui.load, *compare_ui.load]:
            demo.load(fn, inputs, outputs, **private)
    demo.ctx = ctx
    return demo


def launch_options(ws: Workspace) -> dict:
    """launch() arguments: files served only from the data and run roots, uploads capped by the limits."""
    return dict(allowed_paths=[str(ws.datasets), str(ws.runs)], max_file_size=ws.limits.max_upload_bytes,
                theme=THEME, css=CSS)
