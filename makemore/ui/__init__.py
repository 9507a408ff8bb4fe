"""The web app: an intro, then one tab per module (Data, Train, Sample, Compare), wired together here."""
import gradio as gr

from ..jobs import JobManager
from ..workspace import Workspace
from . import compare_tab, data_tab, lookinside_tab, sample_tab, train_tab
from .common import Context, dataset_update, run_update, runs_update

INTRO = """# makemore playground
Character-level language models that *make more* of what you give them: feed in a list of names (or company
names, words, anything one-per-line) and a model learns to invent new ones. Pick or upload a data set in **Data**,
train one of eight architectures, from a bigram count table to a small GPT, in **Train** and watch the loss fall,
draw new lines from any checkpoint in **Sample**, and race the architectures against each other in **Compare**.
The defaults (names, a Transformer, one minute of CPU) already make plausible new names.
"""
THEME = gr.themes.Soft(primary_hue="indigo", neutral_hue="slate")
CSS = """
.gradio-container { max-width: 1400px !important; margin: auto; }
#train-status p, #data-summary p { margin: 0.2em 0; }
/* a phone: the tab bar may not stretch the page; gradio then moves the tabs that do not fit into its "..." menu */
.tab-container:not(.visually-hidden) { flex-wrap: wrap; }
""" + lookinside_tab.CSS


def build_demo(workspace: Workspace | None = None, jobs: JobManager | None = None) -> gr.Blocks:
    ws = workspace or Workspace()
    ctx = Context(ws, jobs or JobManager(ws))
    with gr.Blocks(title="makemore playground", delete_cache=(3600, 3600)) as demo:
        gr.Markdown(INTRO, elem_id="intro")
        with gr.Tabs():
            with gr.Tab("Data", id="data") as data:
                data_set, show_data, data_outputs = data_tab.build(ctx)
            with gr.Tab("Train", id="train") as train:
                train_set, train_run, (arch_in, arch_out, on_arch) = train_tab.build(ctx)
            with gr.Tab("Sample", id="sample") as sample:
                sample_run = sample_tab.build(ctx)
            with gr.Tab("Compare", id="compare") as compare:
                compare_runs, compare_set = compare_tab.build(ctx)
            with gr.Tab("Look inside", id="inside") as inside:
                inside_run = lookinside_tab.build(ctx, inside)

        # lists change in other tabs (an upload, a new run): refresh them when a tab is opened
        def datasets(current):
            return dataset_update(ws, current)

        def runs(current, with_weights=False):
            return run_update(ws, current, with_weights)

        private = dict(api_visibility="private", show_progress="hidden")
        data.select(datasets, data_set, data_set, **private)
        train.select(lambda d, r: (datasets(d), runs(r)), [train_set, train_run], [train_set, train_run], **private)
        sample.select(lambda r: runs(r, True), sample_run, sample_run, **private)
        inside.select(lambda r: runs(r, True), inside_run, inside_run, **private)
        compare.select(lambda r, d: (runs_update(ws, r), datasets(d)), [compare_runs, compare_set],
                       [compare_runs, compare_set], **private)
        demo.load(show_data, data_set, data_outputs, **private)
        demo.load(on_arch, arch_in, arch_out, **private)
    demo.ctx = ctx
    return demo


def launch_options(ws: Workspace) -> dict:
    """launch() arguments: files served only from the data and run roots, uploads capped by the limits."""
    return dict(allowed_paths=[str(ws.datasets), str(ws.runs)], max_file_size=ws.limits.max_upload_bytes,
                theme=THEME, css=CSS)
