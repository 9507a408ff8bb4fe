"""The core knows no UI: importing every core module never imports gradio."""
import pkgutil
import subprocess
import sys

import makemore
from tests.conftest import ROOT

CORE = [f"makemore.{m.name}" for m in pkgutil.iter_modules(makemore.__path__) if m.name not in ("ui", "__main__")]


def test_core_modules_do_not_import_gradio():
    assert "makemore.data" in CORE and "makemore.store" in CORE
    code = "import sys\n" + "".join(f"import {m}\n" for m in CORE + ["makemore.models"])
    code += "bad = [m for m in sys.modules if m.split('.')[0] in ('gradio', 'gradio_client')]\nprint(bad)\n"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
