"""Every Python example in the README and in docs/ runs as written: each ```python block,
alone, in a fresh interpreter, in an empty folder (skipped, saying so, where it needs a
package that is not installed: torch, mpi4py, scikit-learn, matplotlib, ml_dtypes)."""
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
OPTIONAL = ("torch", "mpi4py", "sklearn", "matplotlib", "ml_dtypes", "schedulefree")


def blocks():
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = path.read_text()
        for k, match in enumerate(re.finditer(r"^```python\n(.*?)^```", text, re.M | re.S)):
            line = text[:match.start()].count("\n") + 1
            yield pytest.param(match.group(1), id=f"{path.name}:{line}")


def needs(code):
    """The optional packages a block imports (directly, or through pywd.torch)."""
    names = set(re.findall(r"^\s*(?:import|from)\s+([\w.]+)", code, re.M))
    names = {{"pywd.torch": "torch", "pywd.distributed": "mpi4py"}.get(n, n.split(".")[0])
             for n in names}
    if "bfloat16" in code:
        names.add("ml_dtypes")
    return sorted(names & set(OPTIONAL))


def test_there_are_examples():
    assert len(list(blocks())) >= 8


@pytest.mark.parametrize("code", list(blocks()))
def test_the_example_runs_as_written(code, tmp_path):
    for name in needs(code):
        pytest.importorskip(name)
    run = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
