"""Type checking: the installed package (py.typed plus the extension's stub) lets user code
that calls every public function pass ``mypy --strict``; the same code runs."""
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import pywd
import stubgen

USER_CODE = Path(__file__).with_name("typed_user_code.py")
PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def test_installed_package_is_typed():
    package = Path(pywd.__file__).parent
    assert (package / "py.typed").exists() and (package / "_kernels.pyi").exists()


def test_the_updates_stubs_are_the_generated_ones():
    """The functional updates' part of the stub is tests/stubgen.py's, from the built
    functions' signatures: after a new update or option, `python tests/stubgen.py --write`."""
    installed = (Path(pywd.__file__).parent / "_kernels.pyi").read_text()
    assert stubgen.BEGIN in installed and stubgen.END in installed
    assert stubgen.with_block(installed) == installed, "stale stub: run tests/stubgen.py"


def test_stub_types_follow_names_and_defaults():
    """A parameter the generator cannot type is refused, not typed Any."""
    import inspect

    def update(params, *, lr=1e-3, step=None, odd="x"):
        pass
    p = inspect.signature(update).parameters
    assert [stubgen.annotation("f", p[n]) for n in ("params", "lr", "step")] == [
        "Arrays", "float", "int | None"]
    with pytest.raises(TypeError, match="odd"):
        stubgen.annotation("f", p["odd"])


def test_user_code_passes_mypy_strict(tmp_path):
    pytest.importorskip("mypy")
    code = shutil.copy(USER_CODE, tmp_path)          # away from the source tree: the
    out = subprocess.run(                            # installed package is what is checked
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(code)],
        cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_user_code_runs(capsys):
    runpy.run_path(str(USER_CODE), run_name="__main__")
    assert capsys.readouterr().out


def test_the_installed_package_itself_type_checks(tmp_path):
    """pywd's own modules against its annotations and stub (mypy's default strictness),
    so that the types users see are the types the code has."""
    pytest.importorskip("mypy")
    out = subprocess.run(
        [sys.executable, "-m", "mypy", "-p", "pywd", "--no-incremental",
         "--config-file", str(PYPROJECT)],
        cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
