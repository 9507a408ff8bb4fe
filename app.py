"""The makemore playground web app: python app.py [--host 0.0.0.0] [--port 7860] [--share] [--mcp].

Data sets and runs live under $MAKEMORE_ROOT (default: ./workspace beside the code). Shared with others
(--share, --host 0.0.0.0, or on a Hugging Face Space) the app applies the public preset: a private
workspace per visitor and fair-use limits (README, "Limits"); MAKEMORE_PUBLIC=0 turns that off.

SIGTERM or SIGINT stop every mode completely (the server, Gradio's Node front end if it started one, the
scheduler); training workers are their own sessions and keep training: the next start adopts them.

--mcp also serves the app as an MCP server for AI assistants at /gradio_api/mcp/ (streamable HTTP); it is on by
default on a Hugging Face Space, where MAKEMORE_MCP=0 turns it off (MAKEMORE_MCP=1 turns it on anywhere).
"""
import argparse
import importlib.util
import os
import signal
import subprocess
import sys
import threading

import torch

# Gradio's queue recomputes a pandas summary of its last 10,000 events after every event (for its monitoring
# page): on a busy Space that is a large share of each request's CPU. Once per 1,000 events, over 1,000, is enough.
os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", "1000")
os.environ.setdefault("GRADIO_ANALYTICS_MAX_EVENTS", "1000")

from makemore.ui import build_demo, launch_options, queue_options
from makemore.ui.assistant import mcp_options


def main():
    p = argparse.ArgumentParser(description="makemore playground: train character-level models in the browser")
    p.add_argument("--host", default=None,
                   help="address to listen on (default: $GRADIO_SERVER_NAME or 127.0.0.1; 0.0.0.0 for every interface)")
    p.add_argument("--port", type=int, default=None, help="default: $GRADIO_SERVER_PORT or 7860")
    p.add_argument("--share", action="store_true", help="also make a temporary public gradio.live link")
    p.add_argument("--mcp", action="store_true",
                   help="also serve the app to AI assistants over MCP at /gradio_api/mcp/ (default on a Space)")
    args = p.parse_args()
    host = args.host or os.environ.get("GRADIO_SERVER_NAME") or "127.0.0.1"
    if (args.share or host not in ("127.0.0.1", "localhost", "::1")) and "MAKEMORE_PUBLIC" not in os.environ:
        os.environ["MAKEMORE_PUBLIC"] = "1"  # strangers may come: private workspaces and fair-use limits
    demo = build_demo()
    if demo.ctx.engine.limits.public:
        # requests are served side by side, one core each (the "cpu" queue group): the tiny models' sampling
        # gains nothing from more threads per request, which would only spin on the cores others need
        torch.set_num_threads(1)
    demo.queue(**queue_options(demo.ctx.engine.limits))
    mcp = args.mcp or (mcp_wanted(os.environ) and importlib.util.find_spec("mcp") is not None)
    options = launch_options(demo.ctx.engine)
    if mcp:
        extra = mcp_options(demo)
        options.update(extra, app_kwargs={**options["app_kwargs"], **extra["app_kwargs"]})
    demo.launch(server_name=host, server_port=args.port, share=args.share, prevent_thread_lock=True, **options)
    stop_on_signals(demo)
    demo.block_thread()


def stop_on_signals(demo):
    """SIGTERM and SIGINT end the process within seconds, whatever is open. (Gradio's own Ctrl-C handling waited
    for ever once an MCP client had opened a session, and a signal that only reached the Python server left
    Gradio's Node front end, when there is one, holding the port.)"""
    def stop(signum, frame):
        demo.ctx.engine.jobs.close()
        closing = threading.Thread(target=demo.close, daemon=True)
        closing.start()
        closing.join(5)
        node = getattr(demo, "node_process", None)
        if node is not None and node.poll() is None:
            node.terminate()
            try:
                node.wait(5)
            except subprocess.TimeoutExpired:
                node.kill()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)  # no thread left behind (an open MCP stream) can keep the process, or the port, alive
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)


def mcp_wanted(env) -> bool:
    """MCP without --mcp: MAKEMORE_MCP=1 or 0 decides; unset, it is on on a Hugging Face Space (SPACE_ID)."""
    setting = env.get("MAKEMORE_MCP", "").strip()
    return setting not in ("0", "false", "no", "off") if setting else bool(env.get("SPACE_ID"))


if __name__ == "__main__":
    main()
