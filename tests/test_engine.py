"""The engine under every face: bound to one owner, it fails closed without one, keeps owners apart, and
returns typed summaries, never run files or paths."""
import inspect
import json
import shutil
import urllib.request

import pytest

from makemore.engine import Engine, Session, owned_methods
from makemore.errors import AccessError, MakemoreError
from makemore.jobs import JobManager
from makemore.limits import load_limits
from makemore.owners import Owners
from makemore.store import RunSummary
from makemore.workspace import Workspace

MUTATING = {"upload_dataset", "delete_dataset", "start_training", "stop_training", "resume_training", "rename_run",
            "publish_run", "delete_run", "train_all", "shortlist_add", "shortlist_remove"}


@pytest.fixture
def engine(tmp_path, small_file):
    """A public engine whose scheduler never launches workers (no free slot)."""
    limits = load_limits({"MAKEMORE_MAX_JOBS": "0", "MAKEMORE_PUBLIC": "1"})
    base = Workspace(tmp_path / "root", limits)
    shutil.copyfile(small_file, base.datasets / "twenty.txt")
    jobs = JobManager(Owners(base.root, limits, base=base), scheduler=False, device="cpu")
    yield Engine(jobs.owners, jobs)
    jobs.close()


def dummy(parameter: inspect.Parameter):
    """Some argument for a parameter: the engine must refuse before it looks at any."""
    return {"raw": b"a\nb\n", "archs": ["bigram"], "constraints": {}}.get(parameter.name, "x")


def test_every_session_method_fails_closed_without_an_owner(engine):
    """A session with no owner refuses every call with a message that says what to do, touching nothing."""
    nobody = Session(engine, None)
    names = owned_methods()
    assert MUTATING <= set(names), MUTATING - set(names)
    public = {n for n, v in vars(Session).items() if callable(v) and not n.startswith("_")}
    assert set(names) == public, public - set(names)  # no public method skips the owner check
    before = sorted(p.relative_to(engine.owners.root) for p in engine.owners.root.rglob("*"))
    for name in names:
        method = getattr(nobody, name)
        params = [p for p in inspect.signature(method).parameters.values() if p.default is p.empty]
        with pytest.raises(AccessError, match="no owner"):
            method(*[dummy(p) for p in params])
    assert sorted(p.relative_to(engine.owners.root) for p in engine.owners.root.rglob("*")) == before


def test_a_public_engine_gives_no_session_without_a_key(engine):
    for key in (None, "", "not-a-key", "mk-short"):
        with pytest.raises(AccessError, match="no valid workspace key"):
            engine.session(key)
    assert engine.key_or_new("nonsense").startswith("mk-")
    key = engine.new_key()
    assert engine.key_or_new(key) == key


def test_sessions_keep_owners_apart_and_return_typed_summaries(engine):
    alice, bob = engine.session(engine.new_key()), engine.session(engine.new_key())
    name = alice.upload_dataset("pets.txt", "\n".join(["rex", "fido", "spot", "max", "bella"] * 10).encode())
    assert name in alice.datasets() and name not in bob.datasets()
    run = alice.start_training(name, "bigram", steps=50)
    assert isinstance(run, RunSummary) and run.dataset == name and run.state.value == "queued"
    assert [s.id for s in alice.runs()][0] == run.id
    assert run.id not in {s.id for s in bob.runs()}
    with pytest.raises(AccessError):
        bob.run(run.id)
    with pytest.raises(AccessError):
        bob.stop_training(run.id)
    with pytest.raises(MakemoreError):
        bob.start_training(name, "bigram", steps=50)  # alice's data set is not bob's
    assert alice.stop_training(run.id) == "stopped"
    shipped = [s for s in bob.runs() if s.shipped]
    assert shipped and all(s.readonly for s in shipped)  # the gallery, read-only to everyone


def test_no_session_method_returns_a_run_object_or_a_path():
    """Typed summaries only: a return annotation never names the store's Run nor a filesystem path."""
    for name in owned_methods():
        annotation = inspect.signature(getattr(Session, name)).return_annotation
        text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", str(annotation))
        assert "Run" not in text.replace("RunSummary", "").replace("RunStatus", "") and "Path" not in text, name


def test_every_endpoint_parameter_comes_from_the_api_vocabulary(app_server):
    """/gradio_api/info, as API clients read it: every parameter name of every named endpoint is documented
    in one list (makemore/ui/vocabulary.py), and a run is always `run_id`, a data set always `dataset`."""
    from makemore.ui.vocabulary import VOCABULARY

    with urllib.request.urlopen(app_server.url + "gradio_api/info", timeout=30) as response:
        info = json.loads(response.read())
    endpoints = info["named_endpoints"]
    assert len(endpoints) >= 30
    for endpoint, spec in endpoints.items():
        names = [p["parameter_name"] for p in spec["parameters"]]
        assert set(names) <= set(VOCABULARY), (endpoint, set(names) - set(VOCABULARY))
        assert "run" not in names and "name" not in names or endpoint == "/rename_run", endpoint
    assert all(len(n) > 1 for n in VOCABULARY)  # no one-letter names


def test_the_vocabulary_is_checked_when_the_page_is_built():
    from makemore.ui.common import check_vocabulary

    def sample(run, p, n):
        return run, p, n
    with pytest.raises(TypeError, match=r"outside the API vocabulary: \['run', 'p', 'n'\]"):
        check_vocabulary(sample, "sample")
