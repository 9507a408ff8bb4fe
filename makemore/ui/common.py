"""What the tabs share: the app context, wiring by name, errors as messages, run listings and loss charts.

Tabs act only through the visitor's engine session (`ctx.session`, makemore/engine.py): typed summaries
in, never run files or paths, and no tab imports another. Every component is known by its name in the
page's Manager ("tab.element"), and tabs are joined by those names. Runs are shown by their human name;
the id is the value behind it (what API callers pass).

An action a person takes in the page shows its outcome (or its error, styled as one) in a message beside
its control, and keeps what the page showed before when it fails (`in_page`); its named API endpoint
(`Context.endpoint`, registered once) is the same plain function, raising errors to the client.
"""
import contextlib
import contextvars
import functools
import inspect
import math
import re
import shutil
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import gradio as gr
import pandas as pd
import plotly.graph_objects as go

from ..clients import client_address, trusted_proxies
from ..engine import NO_OWNER, Engine, Session
from ..errors import AccessError, MakemoreError, without_paths
from ..limits import usable_cpus
from .vocabulary import VOCABULARY

VISITOR: contextvars.ContextVar[Session] = contextvars.ContextVar("visitor")
# Sampling, scoring and comparing (page events and API endpoints alike) share one queue group, as many at once as
# there are cores: more would only take turns on the same cores and slow every request of a burst down.
CPU_BOUND = dict(concurrency_id="cpu", concurrency_limit=usable_cpus())
PRIVATE = dict(api_visibility="private", show_progress="hidden")  # a page's own event, never an API endpoint


class Manager:
    """Every component of the page by name, "tab.element" (e.g. "train.run_id"): tabs are joined by these
    names, never by position."""

    def __init__(self):
        self.elements: dict[str, gr.components.Component] = {}

    def add(self, tab: str, elements: dict):
        for name, component in elements.items():
            self.elements[f"{tab}.{name}"] = component

    def __getitem__(self, name: str):
        return self.elements[name]

    def names_of(self, components) -> dict:
        """component -> its name, for the given components."""
        wanted = {id(c) for c in components}
        return {c: name for name, c in self.elements.items() if id(c) in wanted}


@dataclass
class Context:
    """What every tab gets: the engine, the visitor's workspace key component and the page's components.

    Inside an event wrapped by `owned`, `session` is the session of the visitor who sent it (from the key the
    browser keeps, or the signed-in user); outside one there is none, and asking for it is an error."""

    engine: Engine
    key: gr.BrowserState | None = None
    manager: Manager = field(default_factory=Manager)

    @property
    def session(self) -> Session:
        try:
            return VISITOR.get()
        except LookupError:
            raise AccessError(NO_OWNER) from None

    def owned(self, fn, quiet_outputs: int | None = None):
        """`fn` as an event handler that knows its visitor: it takes `workspace` (the key) as its last input
        (the page sends `ctx.key`; API clients pass it by name), and the signed-in user's profile and the request,
        which Gradio injects and nobody can forge; while it runs, `ctx.session` is that visitor's session, and
        what it takes counts to the visitor's client (clients.py)."""
        signature = inspect.signature(fn)
        params = list(signature.parameters.values())
        variadic = any(p.kind == p.VAR_POSITIONAL for p in params)
        profile = inspect.Parameter("profile", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                    annotation=gr.OAuthProfile | None)
        workspace = inspect.Parameter("workspace", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None,
                                      annotation=str | None)
        request = inspect.Parameter("client_request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=gr.Request)
        params = [profile, request, *params] if variadic else [profile, request, *params, workspace]

        @functools.wraps(fn)
        def wrapper(profile, request, *args):
            *args, key = args if args else ("",)
            return self.as_visitor(profile, request, key, lambda: fn(*args), quiet_outputs)
        wrapper.__signature__ = signature.replace(parameters=params)
        wrapper.__annotations__ = {**getattr(fn, "__annotations__", {}), "profile": gr.OAuthProfile | None,
                                   "client_request": gr.Request, "workspace": str | None}
        return wrapper

    def as_visitor(self, profile, request, key, call, quiet_outputs: int | None = None):
        """`call()` with `ctx.session` the session of the visitor the key, profile and request say. A key that is
        missing or malformed is said to the caller; a page's own event (`quiet_outputs`: a timer before the page
        has its key) is skipped quietly instead."""
        user = getattr(profile, "username", None) if profile is not None else None
        try:
            session = self.engine.session(key, user, request_client(request))
        except MakemoreError as e:
            if quiet_outputs is not None:
                return gr.skip() if quiet_outputs == 1 else (gr.skip(),) * quiet_outputs
            raise gr.Error(str(e), duration=20, print_exception=False) from None
        with self.visiting(session):
            return call()

    @contextlib.contextmanager
    def visiting(self, session: Session):
        """Act for `session`'s owner outside an event (a test, a script)."""
        token = VISITOR.set(session)
        try:
            yield self
        finally:
            VISITOR.reset(token)

    def on(self, trigger, fn, inputs=None, outputs=None, **options):
        """Register `fn` on `trigger` (e.g. button.click) as an owned event: the key goes in as the last input."""
        inputs = [] if inputs is None else list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        private = options.get("api_visibility") == "private"
        count = len(outputs) if isinstance(outputs, (list, tuple, set)) else 0 if outputs is None else 1
        return trigger(self.owned(fn, count if private else None), [*inputs, self.key], outputs, **options)

    def on_names(self, triggers, fn, reads, writes, **options):
        """Wire `fn(values) -> updates` on `triggers` (a list of event triggers, or one) by component names: it gets
        the shown values of `reads` as a dict keyed by name and returns updates keyed by name (any subset of
        `writes`). A private, owned page event."""
        names = {self.manager[n]: n for n in reads}

        def named(values, profile: gr.OAuthProfile | None = None, request: gr.Request = None):
            key = values.pop(self.key, None)
            by_name = {names[c]: v for c, v in values.items()}
            updates = self.as_visitor(profile, request, key, lambda: fn(by_name), len(writes))
            if not isinstance(updates, dict):
                return updates
            return {self.manager[n]: u for n, u in updates.items()}
        inputs, outputs, options = {*names, self.key}, [self.manager[n] for n in writes], {**PRIVATE, **options}
        if isinstance(triggers, list):
            return gr.on(triggers, named, inputs, outputs, **options)
        return triggers(named, inputs, outputs, **options)  # one trigger, e.g. an event's .then

    def endpoint(self, fn, inputs, outputs, api_name: str, **options):
        """The one named API endpoint of `fn` (errors raised to the client): it acts for the visitor whose key it
        gets; the page's own events are private and call the same plain function."""
        check_vocabulary(fn, api_name)
        self.on(gr.Button(visible=False).click, friendly(fn), inputs, outputs, api_name=api_name, **options)

    def api(self, fn, api_name: str | None = None):
        """An endpoint without components (JSON in, JSON out), typed by `fn`'s signature, acting for its caller."""
        check_vocabulary(fn, api_name or fn.__name__)
        gr.api(friendly(self.owned(fn)), api_name=api_name or fn.__name__)

    def gallery_choices(self, with_weights=False) -> list[tuple[str, str]]:
        """(name, id) choices of what everyone may read: a dropdown's choices before the page knows its visitor."""
        return [(s.name + " (gallery)", s.id) for s in self.engine.gallery(with_weights)]


@dataclass(frozen=True)
class PageLoad:
    """What a tab does when the page (re)loads: `fn(shown) -> updates`, both keyed by "tab.element" names;
    `reads` are the components whose shown values it needs, `writes` those it may update."""

    reads: tuple
    writes: tuple
    fn: object


def on_page_load(ctx: Context, trigger, loads: list[PageLoad]):
    """Every tab's PageLoad as one owned event on `trigger`, joined by component names."""
    reads = tuple(dict.fromkeys(n for load in loads for n in load.reads))
    writes = tuple(dict.fromkeys(n for load in loads for n in load.writes))

    def load_all(shown: dict) -> dict:
        updates = {}
        for load in loads:
            updates.update(load.fn(shown))
        return updates
    return ctx.on_names(trigger, load_all, reads, writes)


def bound(fn, ctx: Context):
    """`fn(ctx, ...)` as `fn(...)`: the same name, docs and signature (less `ctx`), which type its endpoint."""
    @functools.wraps(fn)
    def call(*args, **kwargs):
        return fn(ctx, *args, **kwargs)
    signature = inspect.signature(fn)
    call.__signature__ = signature.replace(parameters=list(signature.parameters.values())[1:])
    call.__annotations__ = {k: v for k, v in fn.__annotations__.items() if k != "ctx"}
    return call


def request_client(request: gr.Request | None) -> str | None:
    """The client address of a request: its socket peer, or what a trusted proxy says (clients.client_address)."""
    if request is None or getattr(request, "client", None) is None:
        return None
    return client_address(request.client.host, request.headers.get("x-forwarded-for"), trusted_proxies())


def check_vocabulary(fn, api_name: str):
    """Every parameter of an endpoint comes from the documented list (makemore/ui/vocabulary.py)."""
    unknown = [p for p in inspect.signature(fn).parameters if p not in VOCABULARY]
    if unknown:
        raise TypeError(f"/{api_name} has parameters outside the API vocabulary: {unknown}")


def run_choices(session: Session, with_weights=False) -> list[tuple[str, str]]:
    """(name, id) pairs for a dropdown, newest first: people see names, events get ids."""
    return [(s.name + (" (gallery)" if s.readonly else ""), s.id) for s in session.runs(with_weights)]


class Number(gr.Number):
    """gr.Number that turns NaN and infinity away with a message that names the field (JSON clients can send
    them; gr.Number would pass NaN on, or crash on infinity with no message)."""

    def preprocess(self, payload):
        if isinstance(payload, float) and not math.isfinite(payload):
            raise gr.Error(f"{self.label or 'A number'} must be a finite number, not {payload}.",
                           print_exception=False)
        return super().preprocess(payload)


def inputs_for(fn, components: dict, skip: int = 0) -> list:
    """The input components of an event, in the order of `fn`'s parameters (less the first `skip`, such as
    `ctx`), looked up by parameter name."""
    return [components[name] for name in list(inspect.signature(fn).parameters)[skip:]]


def friendly(fn):
    """Any error becomes a readable message in the page (and for API clients), never a traceback."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except MakemoreError as e:
            raise gr.Error(without_paths(str(e)), duration=20, print_exception=False) from None
        except Exception as e:
            raise gr.Error(unexpected(e), duration=20, print_exception=False) from None
    return wrapper


def unexpected(e: Exception) -> str:
    """The message for a bug (its traceback goes to the server log)."""
    traceback.print_exc(file=sys.stderr)
    detail = e.strerror if isinstance(e, OSError) and e.strerror else e  # an OSError's text names a server path
    return without_paths(f"Something went wrong ({type(e).__name__}: {detail}). Try again; if it keeps happening, "
                         "reload the page.")


def in_page(fn, keep: int):
    """`fn` for a page event: it returns its outputs with a message last (text, or a `note`); the message stays
    until the next action. If `fn` fails, the message shows the error, styled as one, and the other `keep`
    outputs stay as they were."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            result = fn(*args, **kwargs)
        except MakemoreError as e:
            outputs = (*[gr.skip()] * keep, error(without_paths(str(e))))
        except Exception as e:
            outputs = (*[gr.skip()] * keep, error(unexpected(e)))
        else:
            result = result if isinstance(result, tuple) else (result,)
            message = result[-1]
            outputs = (*result[:-1], message if isinstance(message, dict) else note(message))
        return outputs if len(outputs) > 1 else outputs[0]
    wrapper.__name__ = f"{fn.__name__}_in_page"  # the page's event must not take the API endpoint's name
    return wrapper


_last_sweep = 0.0  # when download_folder last looked for stale folders


def download_folder() -> Path:
    """A fresh folder for download files; those older than an hour are removed (looked for once a minute: on a
    busy server, a look on every request cost more than the request)."""
    global _last_sweep
    base = Path(tempfile.gettempdir()) / "makemore-downloads"
    base.mkdir(exist_ok=True)
    if time.time() - _last_sweep > 60:
        _last_sweep = time.time()
        for old in base.iterdir():
            try:
                stale = time.time() - old.stat().st_mtime > 3600
            except FileNotFoundError:  # a request beside this one (or another server on this machine) removed it
                continue
            if stale:
                shutil.rmtree(old, ignore_errors=True)
    return Path(tempfile.mkdtemp(dir=base))


def markdown_text(text: str) -> str:
    """A model's line shown literally in Markdown (company names may hold * or _)."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|<>~])", r"\\\1", text)


def note(text: str, kind: str = ""):
    """A message's new text and style: kind "" (plain), "warn" or "error"."""
    return gr.update(value=text or "", elem_classes=["mm-message"] + ([f"mm-{kind}"] if kind and text else []))


def error(text: str):
    return note(f"⚠ {text}", "error")


def dataset_update(ctx: Context, value):
    """Fresh dropdown choices with `value` selected (names if it is gone)."""
    names = ctx.session.datasets()
    return gr.update(choices=names, value=value if value in names else "names")


def dataset_refresh(ctx: Context, current):
    """Fresh dropdown choices; the selection changes only if the current data set is gone. (Setting the value
    it already has could undo a newer selection still on its way to the page.)"""
    names = ctx.session.datasets()
    return gr.update(choices=names) if current in names else gr.update(choices=names, value="names")


def run_update(ctx: Context, value, with_weights=False):
    """Fresh (name, id) choices with run `value` selected (the newest if it is gone)."""
    choices = run_choices(ctx.session, with_weights)
    ids = [run_id for _, run_id in choices]
    return gr.update(choices=choices, value=value if value in ids else (ids[0] if ids else None))


def run_refresh(ctx: Context, current, with_weights=False):
    """Fresh (name, id) choices; the selection changes only if the current run is gone."""
    update = run_update(ctx, current, with_weights)
    return gr.update(choices=update["choices"]) if update["value"] == current else update


def runs_update(ctx: Context, current, refresh=False):
    """For a multiselect: fresh choices, keeping the chosen runs that still exist. With `refresh`, the
    selection is sent only if a chosen run is gone."""
    choices = run_choices(ctx.session)
    ids = {run_id for _, run_id in choices}
    kept = [r for r in current or [] if r in ids]
    return gr.update(choices=choices) if refresh and kept == list(current or []) else \
        gr.update(choices=choices, value=kept)


ANY_LABEL = ""  # the label choice "any" (no label: the model's unconditioned start)


def label_update(ctx: Context, run_id, current=None):
    """The label picker of a run: its labels (and "any"), shown only for a labelled run; keeps `current`
    if the run has it."""
    try:
        labels = ctx.session.labels(run_id) if run_id else []
    except MakemoreError:
        labels = []
    choices = [("any label", ANY_LABEL)] + [(label, label) for label in labels]
    return gr.update(choices=choices, value=current if current in labels else ANY_LABEL, visible=bool(labels))


def label_picker(elem_id: str) -> gr.Dropdown:
    """A hidden label dropdown; label_update fills and shows it for a labelled run."""
    return gr.Dropdown([("any label", ANY_LABEL)], value=ANY_LABEL, label="label (lines of this kind)",
                       allow_custom_value=True, visible=False, elem_id=elem_id)


def loss4(value) -> str | None:
    """A loss as text with 4 decimals ("2.0000", never "2"); None when there is none."""
    return f"{value:.4f}" if isinstance(value, (int, float)) and math.isfinite(value) else None


def curve_label(summary) -> str:
    """A short legend entry: the run's name, with its architecture and data set if the name leaves them out."""
    if summary.arch and summary.arch in summary.name and (summary.dataset or "") in summary.name:
        return summary.name
    return " · ".join(filter(None, [summary.arch, summary.dataset, summary.name]))


SUMMARY_COLUMNS = {  # column title: value of a RunSummary
    "run": lambda s: s.name,
    "run id": lambda s: s.id,
    "architecture": lambda s: s.arch,
    "data set": lambda s: s.dataset,
    "state": lambda s: s.state.value,
    "steps": lambda s: s.status.step,
    "best test loss": lambda s: loss4(s.status.best_test_loss),  # of the saved checkpoint, chosen on validation
    "lowest test (classic)": lambda s: loss4(s.status.lowest_test_loss or s.status.best_test_loss),
    "params": lambda s: s.params,
    "training time (s)": lambda s: f"{s.status.elapsed:.1f}",
    "tokens/s": lambda s: round(s.status.tokens_per_s) if s.status.tokens_per_s else None,
    "created": lambda s: time.strftime("%Y-%m-%d %H:%M", time.localtime(s.created)),
}


def summary_frame(summaries, columns=("run", "architecture", "data set", "state", "steps", "best test loss",
                                      "params", "created", "run id")) -> pd.DataFrame:
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
