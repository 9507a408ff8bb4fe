"""Sweeps on Ray Tune: a local Ray of 2 CPUs, a two-node cluster on this machine, and bad grids refused
before Ray starts. Each trial must leave an ordinary run directory the command line can sample from."""
import json
import os
import re
import shutil
import signal
import sys
from pathlib import Path

import pytest

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
import ray  # noqa: E402
from ray.cluster_utils import Cluster  # noqa: E402

from makemore.cli import main as cli_main  # noqa: E402
from makemore.errors import ConfigError  # noqa: E402
from makemore.limits import load_limits  # noqa: E402
from makemore.store import Run  # noqa: E402
from makemore.sweep import plan_sweep, run_sweep  # noqa: E402
from makemore.manifests import read_manifests  # noqa: E402
from tests.conftest import ROOT  # noqa: E402

QUIET = dict(include_dashboard=False, object_store_memory=80 * 2**20)


@pytest.fixture(scope="module")
def names_2000(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "names2000.txt"
    lines = (ROOT / "datasets" / "names.txt").read_text(encoding="utf-8").splitlines()[:2000]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def local_ray():
    ray.init(num_cpus=2, log_to_driver=False, **QUIET)
    yield
    ray.shutdown()


@pytest.fixture
def two_nodes():
    cluster = Cluster(initialize_head=True, head_node_args=dict(num_cpus=1, **QUIET))
    cluster.add_node(num_cpus=1, object_store_memory=QUIET["object_store_memory"])
    cluster.wait_for_nodes()
    yield cluster  # run_sweep joins it by its address, as --address does, and leaves it when done
    ray.shutdown()
    cluster.shutdown()


def metrics_of(run_dir):
    """The raw metrics log, read here independently of the code under test."""
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines() if line.strip()]


def sample_count(run_dir, data_file, capsys) -> int:
    """How many samples `python -m makemore -i FILE -o RUNDIR --sample-only` prints (through the same entry
    point), by its group headers ("3 samples that are new:"); a sample may be the empty line."""
    capsys.readouterr()
    code = cli_main(["-i", str(data_file), "-o", str(run_dir), "--sample-only", "--num-samples", "5",
                     "--device", "cpu", "--seed", "1"])
    out = capsys.readouterr().out
    assert code == 0, out
    return sum(int(n) for n in re.findall(r"^(\d+) samples", out, re.MULTILINE))


def test_local_sweep_with_asha_leaves_ordinary_runs_and_names_the_best(names_2000, tmp_path, local_ray, capsys):
    root = tmp_path / "runs"
    plan = plan_sweep(names_2000, root, ["bigram", "mlp"], ["learning_rate=1e-3,3e-3"], budget=4,
                      scheduler="asha")
    manifest = run_sweep(plan, progress=lambda line: None)

    assert [p.name for p in root.glob("sweep-*.json")] == [plan.manifest_path.name]
    on_disk = json.loads(plan.manifest_path.read_text())
    assert on_disk["state"] == "finished" and on_disk["grid"] == {"learning_rate": [1e-3, 3e-3]}
    assert sorted((t["arch"], t["params"]["learning_rate"]) for t in on_disk["trials"]) == [
        ("bigram", 1e-3), ("bigram", 3e-3), ("mlp", 1e-3), ("mlp", 3e-3)]
    best_by_run = {}
    for trial in on_disk["trials"]:
        run_dir = root / trial["run_id"]
        config = Run(run_dir).read_config()
        assert config["arch"] == trial["arch"] and config["train"]["learning_rate"] == trial["params"]["learning_rate"]
        status = json.loads((run_dir / "status.json").read_text())
        assert status["state"] in ("finished", "stopped"), status  # ASHA may stop the weak ones early
        evals = [r for r in metrics_of(run_dir) if r["kind"] == "eval"]
        assert evals and status["elapsed"] <= 4 + 3
        if status["state"] == "finished":
            assert status["elapsed"] >= 4
        kept = min(evals, key=lambda r: r["val_loss"])  # each run keeps its checkpoint best on validation
        assert trial["best_test_loss"] == pytest.approx(kept["test_loss"])
        best_by_run[trial["run_id"]] = kept["val_loss"]  # and the sweep's winner is chosen on validation too
        assert sample_count(run_dir, names_2000, capsys) == 5
    best_run = min(best_by_run, key=best_by_run.get)
    assert on_disk["best"]["run_id"] == best_run == manifest["best"]["run_id"]
    assert set(on_disk["best_per_arch"]) == {"bigram", "mlp"}
    assert [m["sweep_id"] for m in read_manifests(root)] == [plan.sweep_id]


def test_the_sweep_command_writes_into_the_workspace_root_by_default_so_the_app_lists_its_trials(
        names_2000, tmp_path, local_ray, capsys, monkeypatch):
    from makemore.workspace import Workspace

    monkeypatch.setenv("MAKEMORE_ROOT", str(tmp_path / "root"))
    monkeypatch.chdir(tmp_path)  # the old default, ./runs/sweep, would land here
    assert cli_main(["sweep", "-i", str(names_2000), "--archs", "bigram", "--budget", "2", "--scheduler", "none"]) == 0
    assert not (tmp_path / "runs").exists()
    ws = Workspace(tmp_path / "root")  # what the app reads
    (trial,) = [s for s in ws.summaries() if s.id.startswith("sweep-")]
    assert trial.arch == "bigram" and trial.state.value == "finished"
    (manifest,) = read_manifests(ws.runs)
    assert manifest["best"]["run_id"] == trial.id
    assert f"manifest: {ws.runs}" in capsys.readouterr().out


def test_two_node_sweep_retries_a_killed_trial_from_its_checkpoint(names_2000, tmp_path, two_nodes, capsys):
    root, storage = tmp_path / "runs", tmp_path / "storage"
    plan = plan_sweep(names_2000, root, ["mlp"], ["learning_rate=1e-3,3e-3", "eval_interval=50"], budget=12,
                      scheduler="none", max_failures=2, storage_path=storage)
    victim = plan.trials[0]["run_id"]
    killed, removed, uploaded = [], [], [0]
    ray_tmp = Path(os.environ.get("RAY_TMPDIR", "/tmp")) / "ray"

    def kill_once(result):
        # SIGKILL the victim's worker process mid-trial, as a node's failure would, once an upload past step 0
        # is done (Tune saves a result's checkpoint before the next result); then remove the run from the
        # trial's working directory on this "node": the retry must start from the copy in the storage path,
        # as on a node that never saw the run
        if result.get("run_id") != victim or killed:
            return
        if uploaded[0] < 50 or result["elapsed"] > 9:  # a loaded machine may be slow to reach step 50
            uploaded[0] = max(uploaded[0], result["step"])
        else:
            killed.append((result["pid"], result["step"]))
            os.kill(result["pid"], signal.SIGKILL)
            for local in ray_tmp.glob(f"session_*/artifacts/*/sweep-{plan.sweep_id}/working_dirs/{victim}/{victim}"):
                shutil.rmtree(local)
                removed.append(local)

    manifest = run_sweep(plan, address=two_nodes.address, progress=lambda line: None, on_result=kill_once)

    assert not ray.is_initialized()
    assert killed and len(removed) == 1, "the victim trial was never killed mid-trial"
    trials = {t["run_id"]: t for t in manifest["trials"]}
    assert len({node for t in trials.values() for node in t["nodes"]}) == 2  # one trial on each 1-CPU node
    assert all(t["status"] == "finished" for t in trials.values()), trials
    assert len(trials[victim]["pids"]) == 2 and killed[0][0] in trials[victim]["pids"]
    assert trials[victim]["resumes"] == 1
    records = metrics_of(root / victim)  # copied from the storage path into the output root
    resumes = [r for r in records if r["kind"] == "resume"]
    assert len(resumes) == 1 and 50 <= resumes[0]["step"] <= killed[0][1]
    steps = [r["step"] for r in Run(root / victim).read_metrics() if r["kind"] == "eval"]
    assert steps == sorted(steps) and steps[-1] > resumes[0]["step"]
    every_50 = [s for s in steps if s % 50 == 0]  # nothing before the kill is lost, nothing after it skipped
    assert sorted(set(every_50)) == list(range(0, every_50[-1] + 1, 50))
    assert json.loads((root / victim / "status.json").read_text())["elapsed"] >= 12
    assert sample_count(root / victim, names_2000, capsys) == 5


@pytest.mark.parametrize("grid, message", [
    (["lr=1e-3,3e-3"], "Unknown hyperparameter 'lr'"),
    (["n_embd2=64"], "Unknown hyperparameter 'n_embd2'"),  # the transformer has no n_embd2
    (["learning_rate="], "empty value"),
    (["learning_rate=1e-3,,3e-3"], "empty value"),
    (["n_layer=1.5"], "not a valid int"),
    (["learning_rate=20"], "learning rate must be"),
    (["n_embd=64,4096"], "over the limit"),
    (["time_budget=5"], "cannot be swept"),
    (["learning_rate=1e-3", "learning_rate=3e-3"], "appears twice"),
])
def test_bad_grids_are_refused_before_ray_starts(names_2000, tmp_path, grid, message):
    root = tmp_path / "runs"
    with pytest.raises(ConfigError, match=message):
        plan_sweep(names_2000, root, ["transformer"], grid, budget=5, limits=load_limits({}))
    assert not ray.is_initialized() and not root.exists()


def test_sweep_command_refuses_a_bad_grid_in_one_line_and_says_what_to_install_without_ray(
        names_2000, tmp_path, capsys, monkeypatch):
    root = tmp_path / "runs"
    args = ["sweep", "-i", str(names_2000), "-o", str(root), "--archs", "gru", "--budget", "5"]
    assert cli_main(args + ["--grid", "n_head=2"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Unknown hyperparameter 'n_head' for gru" in err
    assert not ray.is_initialized() and not root.exists()

    monkeypatch.setitem(sys.modules, "ray", None)  # as if requirements-scale.txt were not installed
    assert cli_main(args + ["--grid", "learning_rate=1e-3"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install -r requirements-scale.txt" in err


def test_a_grid_name_an_architecture_does_not_use_is_left_out_of_its_trials(names_2000, tmp_path):
    plan = plan_sweep(names_2000, tmp_path / "runs", ["transformer", "cnn"],
                      ["learning_rate=1e-3,3e-3", "n_embd=64,128"], budget=5)
    points = sorted((t["arch"], tuple(sorted(t["params"].items()))) for t in plan.trials)
    assert points == sorted([("transformer", (("learning_rate", lr), ("n_embd", n))) for lr in (1e-3, 3e-3)
                             for n in (64, 128)] + [("cnn", (("learning_rate", lr),)) for lr in (1e-3, 3e-3)])
    assert len({t["run_id"] for t in plan.trials}) == 6
    assert all(t["train"]["time_budget"] == 5 and t["train"]["max_steps"] == -1 for t in plan.trials)
    assert {t["model"].get("n_embd") for t in plan.trials if t["arch"] == "transformer"} == {64, 128}


def test_read_manifests_skips_damaged_files(tmp_path):
    (tmp_path / "sweep-a.json").write_text(json.dumps({"sweep_id": "a", "created": 1, "trials": []}))
    (tmp_path / "sweep-b.json").write_text(json.dumps({"sweep_id": "b", "created": 2, "trials": []}))
    (tmp_path / "sweep-c.json").write_text('{"sweep_id": "c", "trials": [')  # cut off mid-write
    (tmp_path / "sweep-d.json").write_text("[]")
    assert [(m["sweep_id"], m["file"]) for m in read_manifests(tmp_path)] == [("b", "sweep-b.json"),
                                                                              ("a", "sweep-a.json")]
    assert read_manifests(tmp_path / "missing") == []


def test_the_compare_tab_shows_a_sweeps_best_trial_per_architecture(tmp_path):
    from types import SimpleNamespace

    from makemore.ui.compare_tab import sweep_rows

    best = {"gru": {"run_id": "sweep-a-01-gru", "arch": "gru", "params": 100, "best_test_loss": 2.0, "status": "finished"},
            "mlp": {"run_id": "sweep-a-02-mlp", "arch": "mlp", "params": 50, "best_test_loss": 1.9, "status": "stopped"}}
    (tmp_path / "sweep-a.json").write_text(json.dumps({"sweep_id": "a", "created": 1, "trials": [],
                                                      "best_per_arch": best}))
    (tmp_path / "sweep-b.json").write_text("{damaged")
    rows = sweep_rows(SimpleNamespace(session=SimpleNamespace(sweeps=lambda: read_manifests(tmp_path))))
    assert rows["run id"].tolist() == ["sweep-a-02-mlp", "sweep-a-01-gru"]  # best first
    assert rows["best test loss"].tolist() == ["1.9000", "2.0000"]
