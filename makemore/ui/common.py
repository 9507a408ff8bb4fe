"""What the tabs share: the app context, wiring by name, errors as messages, run listings and loss charts.

Tabs see runs only through the core: typed RunSummary rows from the workspace, and run methods; they
never read run files themselves, and no tab imports another.
"""
import functools
import inspect
import math
import sys
import time
import traceback
from dataclasses import dataclass

import gradio as gr
import pandas as pd
import plotly.graph_objects as go

from ..errors import MakemoreError
from ..jobs import JobManager
from ..sample import mark_origin
from ..workspace import Workspace


@dataclass
class Context:
    ws: Workspace
    jobs: JobManager

    def model(self, run_id: str):
        """(model, config) of a run's best weights, cached until the weights change."""
        return self.ws.model(run_id)

    def mark(self, samples, config: dict):
        """Tag samples new/train/test when the run's data set is still at hand (else '?')."""
        dataset = self.ws.dataset_of(config)
        return mark_origin(samples, dataset) if dataset else samples

    def run_ids(self, with_weights=False) -> list[str]:
        """Run ids for a dropdown, newest first."""
        return self.ws.run_ids(with_weights)


def inputs_for(fn, components: dict) -> list:
    """The input components of an event, in the order of `fn`'s parameters, looked up by parameter name."""
    return [components[name] for name in inspect.signature(fn).parameters]


def friendly(fn):
    """Any error becomes a readable message in the page (and for API clients), never a traceback."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except MakemoreError as e:
            raise gr.Error(str(e), duration=20, print_exception=False) from None
        except Exception as e:
            traceback.print_exc(file=sys.stderr)
            raise gr.Error(f"Something went wrong ({type(e).__name__}: {e}). Try again; if it keeps happening, "
                           "reload the page.", duration=20, print_exception=False) from None
    return wrapper


def dataset_update(ws: Workspace, current):
    """Fresh dropdown choices, keeping the current data set if it still exists."""
    names = ws.list_datasets()
    return gr.update(choices=names, value=current if current in names else "names")


def run_update(ctx: Context, current, with_weights=False):
    ids = ctx.run_ids(with_weights)
    return gr.update(choices=ids, value=current if current in ids else (ids[0] if ids else None))


def runs_update(ctx: Context, current):
    """For a multiselect: fresh choices, keeping the chosen runs that still exist."""
    ids = ctx.run_ids()
    return gr.update(choices=ids, value=[r for r in current or [] if r in ids])


def loss4(value):
    return round(value, 4) if isinstance(value, float) and math.isfinite(value) else None


SUMMARY_COLUMNS = {  # column title: value of a RunSummary
    "run": lambda s: s.id,
    "architecture": lambda s: s.arch,
    "data set": lambda s: s.dataset,
    "state": lambda s: s.state.value,
    "steps": lambda s: s.status.step,
    "best test loss": lambda s: loss4(s.status.best_test_loss),
    "params": lambda s: s.params,
    "training time (s)": lambda s: round(s.status.elapsed, 1),
    "tokens/s": lambda s: round(s.status.tokens_per_s) if s.status.tokens_per_s else None,
    "created": lambda s: time.strftime("%Y-%m-%d %H:%M", time.localtime(s.created)),
}


def summary_frame(summaries, columns=("run", "architecture", "data set", "state", "steps", "best test loss",
                                      "params", "created")) -> pd.DataFrame:
    """One row per run summary, with the chosen columns."""
    return pd.DataFrame([{c: SUMMARY_COLUMNS[c](s) for c in columns} for s in summaries], columns=list(columns))


def empty_figure(message: str, height=360) -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, font=dict(size=15, color="#666"), x=0.5, y=0.5,
                       xref="paper", yref="paper")
    fig.update_layout(template="plotly_white", height=height, xaxis=dict(visible=False), yaxis=dict(visible=False),
                      margin=dict(l=20, r=20, t=20, b=20))
    return fig


def style(fig: go.Figure, x_title: str, y_title: str, height=360, title=None) -> go.Figure:
    fig.update_layout(template="plotly_white", height=height, margin=dict(l=60, r=20, t=60 if title else 30, b=50),
                      title=dict(text=title, x=0.02, font=dict(size=15)) if title else None,
                      xaxis_title=x_title, yaxis_title=y_title, hovermode="x unified",
                      legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0))
    return fig


def loss_figure(metrics: list[dict]) -> go.Figure:
    """Train loss (every logged step) and train/test loss at each evaluation, against the step."""
    train = [r for r in metrics if r.get("kind") == "train"]
    evals = [r for r in metrics if r.get("kind") == "eval"]
    if not train and not evals:
        return empty_figure("Waiting for the first metrics…")
    fig = go.Figure()
    if train:
        fig.add_scatter(x=[r["step"] for r in train], y=[r["loss"] for r in train], mode="lines",
                        name="train loss (batch)", line=dict(color="rgba(31,119,180,0.45)", width=1.5))
    if evals:
        fig.add_scatter(x=[r["step"] for r in evals], y=[r["train_loss"] for r in evals], mode="lines+markers",
                        name="train loss (eval)", line=dict(color="#1f77b4", width=2.5))
        fig.add_scatter(x=[r["step"] for r in evals], y=[r["test_loss"] for r in evals], mode="lines+markers",
                        name="test loss", line=dict(color="#d62728", width=2.5))
    return style(fig, "step", "loss (nats per character)")


def fmt_seconds(s) -> str:
    if s is None or not math.isfinite(s):
        return "?"
    s = int(round(s))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"
