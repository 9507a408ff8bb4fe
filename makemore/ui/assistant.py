"""The playground as a tool for AI assistants: the endpoints an assistant gets over MCP, and only those.

Gradio's MCP server (launch(mcp_server=True), served at /gradio_api/mcp/) offers every public API endpoint
as a tool, named after its Python function and described by its docstring ("Args:" lines describe the
arguments; the types come from the type hints). The page's own events are private and never listed. Many
public endpoints are made for the page or for scripts (plots, tables, a form's sixteen fields); an assistant
gets a short, typed set instead: list data sets and models, train one, poll it, generate ideas under
constraints, keep a shortlist. `TOOLS` names them; launched with `mcp_options`, the MCP server offers no other.
"""
import contextlib
from typing import Literal

import gradio as gr

from ..models import ARCHITECTURES
from .common import Context, bound

Architecture = Literal[tuple(ARCHITECTURES)]
# the endpoints an assistant sees as tools; /new_workspace only where visitors need a key (a public server)
TOOLS = ("/list_datasets", "/list_models", "/train_model", "/training_status", "/generate_ideas", "/shortlist",
         "/shortlist_add", "/shortlist_remove")
EXAMPLES = 5  # lines of a data set shown to the assistant
TRAINING = ("queued", "running")


def rounded(loss):
    return None if loss is None else round(loss, 4)


def tools(public: bool) -> tuple[str, ...]:
    return ("/new_workspace", *TOOLS) if public else TOOLS


def list_datasets(ctx: Context) -> list[dict]:
    """The data sets you can train on: the bundled ones (names, companies), then your uploads.

    Args:
        workspace (str | None): your key from new_workspace (on a public server; ignored locally).

    Returns:
        [{"name", "lines", "characters": how many distinct characters, "longest": its longest line's length
        "examples": its first lines}].
    """
    found = []
    for name in ctx.session.datasets():
        data = ctx.session.dataset(name)
        found.append({"name": name, "lines": len(data.lines), "characters": len(data.vocab.chars),
                      "longest": data.block_size - 1, "examples": data.lines[:EXAMPLES]})
    return found


def list_models(ctx: Context, with_weights_only: bool = True) -> list[dict]:
    """The trained models (runs) that generate_ideas can use, newest first: yours, then the gallery (the
    shipped names-transformer, companies-transformer and others, read-only, and runs others published).

    Args:
        with_weights_only (bool): true: only runs with saved weights (the ones generate_ideas can use).
        workspace (str | None): your key from new_workspace (on a public server; ignored locally).

    Returns:
        [{"run_id", "name", "dataset", "arch", "state", "best_test_loss": lower is better, "params", "gallery",
        "labels": the labels generate_ideas takes for this model ([] for a model trained without labels)}].
    """
    return [{"run_id": s.id, "name": s.name, "dataset": s.dataset, "arch": s.arch, "state": s.state.value,
             "best_test_loss": rounded(s.status.best_test_loss), "params": s.params, "gallery": s.readonly,
             "labels": ctx.session.labels(s.id)} for s in ctx.session.runs(with_weights_only)]


def train_model(ctx: Context, dataset: str, arch: Architecture = "transformer", seconds: float = 60.0) -> dict:
    """Start training a new model on a data set; it returns at once. Poll training_status until the state is
    "finished", then pass the run_id to generate_ideas.

    Args:
        dataset (str): a data set name from list_datasets.
        arch (str): the architecture: "transformer" (a small GPT) is the best all-rounder, "bigram" the fastest.
        seconds (float): how long to train (60 already gives plausible names; the server may cap it).
        workspace (str | None): your key from new_workspace (on a public server; ignored locally).

    Returns:
        {"run_id", "name", "state", "message"}.
    """
    summary = ctx.session.start_training(dataset, arch, None, seconds=seconds)
    run_id = summary.id
    return {"run_id": run_id, "name": summary.name, "state": summary.state.value,
            "message": f"Training for {seconds:g} s; poll training_status(run_id={run_id!r})."}


def training_status(ctx: Context, run_id: str) -> dict:
    """How far a model's training got: its state, progress, test loss and a few lines it wrote.

    Args:
        run_id (str): a run id from train_model or list_models.
        workspace (str | None): your key from new_workspace (on a public server; ignored locally).

    Returns:
        {"run_id", "name", "state": queued, running, finished, stopped, failed or interrupted
        "progress": 0 to 1, "step", "seconds_trained", "best_test_loss", "can_generate": it has weights
        "samples", "error", "next": what to do now}.
    """
    summary = ctx.session.run(run_id)
    status = summary.status
    if status.state.value in TRAINING:
        next_step = "Still training: call training_status again in a few seconds."
    elif summary.has_weights:
        next_step = f"Ready: call generate_ideas(run_id={run_id!r})."
    else:
        next_step = "It has no saved weights: start a new run with train_model."
    return {"run_id": run_id, "name": summary.name, "state": status.state.value,
            "progress": round(status.progress, 3), "step": status.step,
            "seconds_trained": round(status.elapsed, 1), "best_test_loss": rounded(status.best_test_loss),
            "can_generate": summary.has_weights, "samples": ctx.session.samples(run_id)[:10], "error": status.error,
            "next": next_step}


def build(ctx: Context):
    """Add the assistant's endpoints that no tab has (/list_datasets, /list_models, /train_model,
    /training_status); /generate_ideas and the shortlist ones come from the Ideas tab."""
    for fn in (list_datasets, list_models, train_model, training_status):
        ctx.api(bound(fn, ctx))


def mcp_options(demo: gr.Blocks) -> dict:
    """launch() arguments that serve `demo` over MCP with the assistant's tools only.

    Gradio makes its tool list while launch() builds the server app; the list is cut down in that app's
    lifespan, which runs before the server answers its first request."""

    @contextlib.asynccontextmanager
    async def assistant_tools(app):
        assistant_tools_only(demo)
        yield

    return dict(mcp_server=True, app_kwargs={"lifespan": assistant_tools})


def assistant_tools_only(demo: gr.Blocks):
    """Keep only the assistant's endpoints (`tools`) as tools of the app's MCP server, if it has one."""
    server = getattr(demo, "mcp_server_obj", None)
    if server is None:
        return
    wanted = tools(demo.ctx.engine.public)
    server.tool_to_endpoint = {tool: endpoint for tool, endpoint in server.tool_to_endpoint.items()
                               if endpoint in wanted}
