"""The layers keep to their rules (ARCHITECTURE.md): the core knows no UI, the UI reaches runs only through the
engine, no tab imports another, no module imports itself back through others, and every function is short."""
import ast
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

PACKAGE = ROOT / "makemore"
CORE = [f"makemore.{p.stem}" for p in PACKAGE.glob("*.py") if p.stem not in ("__init__", "__main__")]
# what the UI may not import: it acts through makemore.engine, never on run folders, owners or jobs themselves
BELOW_THE_ENGINE = {"makemore.store", "makemore.jobs", "makemore.owners", "makemore.workspace", "makemore.sweep",
                    "makemore.worker", "makemore.train"}
MAX_FUNCTION_LINES = 60


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """The makemore modules a file imports (at any depth of its code), as dotted names."""
    package = module_name(path) if path.stem == "__init__" else module_name(path).rsplit(".", 1)[0]
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return {n for n in names if n.split(".")[0] == "makemore"}


def graph() -> dict[str, set[str]]:
    """Module -> the makemore modules it imports (a name imported from a package counts as that package)."""
    files = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    edges = {}
    for name, path in files.items():
        targets = set()
        for imported in imports_of(path):
            while imported and imported not in files:
                imported = imported.rpartition(".")[0]
            if imported and imported != name:
                targets.add(imported)
        edges[name] = targets
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every import cycle found by a depth-first search (packages importing their own modules excepted)."""
    found, state = [], {}

    def visit(node, trail):
        state[node] = "open"
        for target in sorted(edges.get(node, ())):
            if target.startswith(node + "."):
                continue  # a package's __init__ gathering its own modules
            if state.get(target) == "open":
                found.append(trail[trail.index(target):] + [target])
            elif target not in state:
                visit(target, trail + [target])
        state[node] = "done"
    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    return found


def test_no_import_cycles():
    assert not cycles(graph())


def test_the_ui_reaches_runs_only_through_the_engine_and_no_tab_imports_another():
    edges = graph()
    ui = {m: targets for m, targets in edges.items() if m.startswith("makemore.ui")}
    tabs = {m for m in ui if m.endswith("_tab")}
    assert {"makemore.ui.train_tab", "makemore.ui.data_tab", "makemore.ui.compare_tab"} <= tabs
    for module, targets in ui.items():
        assert not targets & BELOW_THE_ENGINE, f"{module} imports {targets & BELOW_THE_ENGINE}"
        if module in tabs:
            assert not targets & (tabs - {module}), f"{module} imports another tab: {targets & tabs}"


def test_the_core_never_imports_the_ui():
    for module, targets in graph().items():
        if not module.startswith("makemore.ui"):
            assert not {t for t in targets if t.startswith("makemore.ui")}, module


def test_core_modules_do_not_import_gradio():
    assert "makemore.data" in CORE and "makemore.store" in CORE and "makemore.engine" in CORE
    code = "import sys\n" + "".join(f"import {m}\n" for m in CORE + ["makemore.models"])
    code += "bad = [m for m in sys.modules if m.split('.')[0] in ('gradio', 'gradio_client', 'ray')]\nprint(bad)\n"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_every_function_in_the_package_is_short():
    long = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long.append((str(path.relative_to(ROOT)), node.name, length))
    assert not long
