"""What the tabs share: the app context, turning errors into messages, run listings and loss charts."""
import functools
import math
import sys
import time
import traceback
from dataclasses import dataclass, field

import gradio as gr
import pandas as pd
import plotly.graph_objects as go

from ..errors import CheckpointError, MakemoreError
from ..jobs import JobManager
from ..sample import mark_origin
from ..store import WEIGHTS, Run
from ..workspace import Workspace, safe_config


@dataclass
class Context:
    ws: Workspace
    jobs: JobManager
    _models: dict = field(default_factory=dict)

    def model(self, run_id: str):
        """(model, config) of a run's best weights, cached until the weights change."""
        run = self.ws.run(run_id)
        path = run.file(WEIGHTS)
        if not path.is_file():
            raise CheckpointError(f"{run_id} has no saved weights yet: wait for its first evaluation.")
        key = (run_id, path.stat().st_mtime_ns)
        if key not in self._models:
            if len(self._models) > 16:
                self._models.clear()
            self._models[key] = run.load_model("cpu")
        return self._models[key]

    def run_ids(self, with_weights=True) -> list[str]:
        """Run ids for a dropdown, newest first; with_weights: only runs that have saved weights."""
        return run_choices(self.ws, with_weights)

    def mark(self, samples, config: dict):
        """Tag samples new/train/test when the run's data set is still at hand (else '?')."""
        dataset = self.dataset_of(config)
        return mark_origin(samples, dataset.train_lines, dataset.test_lines) if dataset else samples

    def dataset_of(self, config: dict):
        try:
            dataset = self.ws.load_dataset(config["dataset"]["name"])
        except MakemoreError:
            return None
        return dataset if dataset.sha256 == config["dataset"]["sha256"] else None


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


def run_choices(ws: Workspace, with_weights=False) -> list[str]:
    """Run ids for a dropdown, newest first."""
    return [run.id for run in ws.list_runs() if not with_weights or run.file(WEIGHTS).is_file()]


def dataset_update(ws: Workspace, current):
    """Fresh dropdown choices, keeping the current data set if it still exists."""
    names = ws.list_datasets()
    return gr.update(choices=names, value=current if current in names else "names")


def run_update(ws: Workspace, current, with_weights=False):
    ids = run_choices(ws, with_weights)
    return gr.update(choices=ids, value=current if current in ids else (ids[0] if ids else None))


def runs_update(ws: Workspace, current):
    """For a multiselect: fresh choices, keeping the chosen runs that still exist."""
    ids = run_choices(ws)
    return gr.update(choices=ids, value=[r for r in current or [] if r in ids])


def runs_table(ws: Workspace) -> pd.DataFrame:
    rows = []
    for run in ws.list_runs():
        config, status = safe_config(run), run.read_status()
        best = config.get("best_test_loss")
        rows.append({
            "run": run.id, "architecture": config.get("arch", "?"), "data set": config.get("dataset", {}).get("name"),
            "state": status["state"], "step": status.get("step") or config.get("step") or 0,
            "best test loss": round(best, 4) if isinstance(best, float) else None,
            "params": config.get("params"),
            "created": time.strftime("%Y-%m-%d %H:%M", time.localtime(config.get("created", 0))),
        })
    columns = ["run", "architecture", "data set", "state", "step", "best test loss", "params", "created"]
    return pd.DataFrame(rows, columns=columns)


def tokens_per_s(run: Run) -> float | None:
    """Median training speed over the run's logged steps."""
    speeds = sorted(r["tokens_per_s"] for r in run.read_metrics() if r.get("kind") == "train" and r.get("tokens_per_s"))
    return speeds[len(speeds) // 2] if speeds else None


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
