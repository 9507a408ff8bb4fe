"""The playground as an MCP server (app.py --mcp): the tool list an assistant reads (names, typed and described
arguments, no internal endpoints), and tools called with the `mcp` package's client over streamable HTTP:
ideas under constraints, the shortlist the page shows, and a short training run polled to the end."""
import ast
import asyncio
import json
import urllib.request
from types import SimpleNamespace

import gradio.mcp
import pytest
from gradio_client import Client
from mcp import ClientSession
from mcp.client.streamable_http import streamablehttp_client

from app import mcp_wanted
from makemore.jobs import JobManager
from makemore.limits import load_limits
from makemore.engine import Engine
from makemore.ui import build_demo
from makemore.ui.assistant import TOOLS, assistant_tools_only
from makemore.workspace import Workspace
from tests.conftest import kill_workers, start_app, stop_app, wait_for, write_tiny_dataset

EXPECTED = {"list_datasets", "list_models", "train_model", "training_status", "generate_ideas", "shortlist",
            "shortlist_add", "shortlist_remove"}


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    root = tmp_path_factory.mktemp("mcp-root")
    write_tiny_dataset(root)
    proc, url = start_app(root, root / "app.log", "--mcp")
    yield SimpleNamespace(url=url, mcp=url + "gradio_api/mcp/", root=root)
    stop_app(proc)
    kill_workers(root)


def call(app, tool: str, **arguments):
    """Call one tool through an MCP client session; the tool's answer, parsed back into Python values."""
    async def session():
        async with streamablehttp_client(app.mcp) as (read, write, _):
            async with ClientSession(read, write) as client:
                await client.initialize()
                return await client.call_tool(tool, arguments)
    result = asyncio.run(session())
    text = result.content[0].text
    if result.isError:
        raise RuntimeError(text)
    return ast.literal_eval(text)  # gradio sends a tool's value as its Python repr


def listed_tools(app):
    async def session():
        async with streamablehttp_client(app.mcp) as (read, write, _):
            async with ClientSession(read, write) as client:
                await client.initialize()
                return (await client.list_tools()).tools
    return asyncio.run(session())


def test_gradio_would_offer_every_public_endpoint_and_no_private_one(tmp_path):
    """Without the curation, Gradio's tool list is every public endpoint (named after its Python function, some
    just "_lambda_"); the page's private events are never among them. The curation keeps the assistant's."""
    ws = Workspace(tmp_path, load_limits({"MAKEMORE_MAX_JOBS": "0"}))
    jobs = JobManager(ws, scheduler=False, device="cpu")
    demo = build_demo(Engine(jobs.owners, jobs))
    server = gradio.mcp.GradioMCPServer(demo)
    offered = server.tool_to_endpoint
    private = {fn.api_name for fn in demo.fns.values() if fn.api_visibility == "private"}
    public = set(demo.get_api_info()["named_endpoints"])
    assert set(offered.values()) == public and not private & set(offered.values())
    assert not {"star", "keep_checked", "generate_in_page", "show_shortlist"} & set(offered)
    assert "_lambda_" in offered  # what an assistant would have read for /list_runs
    demo.mcp_server_obj = server
    assistant_tools_only(demo)
    assert set(server.tool_to_endpoint) == EXPECTED and set(server.tool_to_endpoint.values()) == set(TOOLS)
    jobs.close()


def test_the_tool_schema_over_http_lists_typed_described_tools_and_nothing_else(app):
    with urllib.request.urlopen(app.url + "gradio_api/mcp/schema", timeout=30) as response:
        schema = {tool["name"]: tool for tool in json.load(response)}
    assert set(schema) == EXPECTED
    for name, tool in schema.items():
        assert len(tool["description"]) > 40, name
        for argument, spec in tool["inputSchema"]["properties"].items():
            assert spec.get("description"), f"{name}({argument}) has no description"
    ideas = schema["generate_ideas"]["inputSchema"]
    types = {arg: spec.get("type") or spec.get("enum") or spec.get("oneOf")
             for arg, spec in ideas["properties"].items()}
    assert types == {"run_id": "string", "count": "integer", "only_new": "boolean", "min_len": "integer",
                     "max_len": [{"type": "null"}, {"type": "integer"}], "starts_with": "string",
                     "ends_with": "string", "contains": "string", "exclude": "string", "temperature": "number",
                     "rank": ["logprob", "diverse"], "case": ["as-is", "lower", "title", "upper"], "label": "string",
                     "workspace": [{"type": "null"}, {"type": "string"}]}
    assert ideas["required"] == ["run_id"]
    assert "transformer" in schema["train_model"]["inputSchema"]["properties"]["arch"]["enum"]
    assert [tool.name for tool in listed_tools(app)] == list(schema)  # what a client sees is the same list


def test_an_assistant_generates_ideas_and_stars_one_the_page_then_shows(app):
    found = call(app, "generate_ideas", run_id="names-transformer", count=6, starts_with="el", max_len=7,
                 exclude="y")
    assert found["message"] == "" and len(found["ideas"]) == 6
    names = set((app.root / "datasets" / "names.txt").read_text(encoding="utf-8").split())
    for idea in found["ideas"]:
        text = idea["text"]
        assert text.startswith("el") and len(text) <= 7 and "y" not in text and text not in names, text
    best = found["ideas"][0]
    starred = call(app, "shortlist_add", text=best["text"], score=best["score"], is_new=True,
                   run_id="names-transformer")
    assert [item["text"] for item in starred] == [best["text"]]
    assert Client(app.url, verbose=False).predict(api_name="/shortlist") == starred  # the page's shortlist
    with pytest.raises(RuntimeError, match="There is no run 'nope'"):
        call(app, "generate_ideas", run_id="nope")


def test_an_assistant_trains_a_model_polls_it_and_uses_it(app):
    assert "tiny" in [d["name"] for d in call(app, "list_datasets")]
    started = call(app, "train_model", dataset="tiny", arch="bigram", seconds=2)
    run_id = started["run_id"]
    assert started["state"] in ("queued", "running") and "training_status" in started["message"]
    status = wait_for(lambda: (s := call(app, "training_status", run_id=run_id))["state"] == "finished" and s,
                      120, "the assistant's run", interval=1.0)
    assert status["progress"] == 1.0 and status["can_generate"] and status["best_test_loss"] > 0
    assert "generate_ideas" in status["next"]
    assert run_id in [m["run_id"] for m in call(app, "list_models")]
    found = call(app, "generate_ideas", run_id=run_id, count=3, min_len=3)
    assert len(found["ideas"]) == 3 and all(len(i["text"]) >= 3 for i in found["ideas"])


@pytest.mark.parametrize("env, on", [({}, False), ({"SPACE_ID": "me/makemore"}, True),
                                     ({"SPACE_ID": "me/makemore", "MAKEMORE_MCP": "0"}, False),
                                     ({"MAKEMORE_MCP": "1"}, True)])
def test_mcp_is_on_by_default_on_a_space_only(env, on):
    assert mcp_wanted(env) is on
