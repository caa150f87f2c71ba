"""Type checking: the installed package (py.typed plus the extension's stub) lets user code
that calls every public function pass ``mypy --strict``; the same code runs."""
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import pywd

USER_CODE = Path(__file__).with_name("typed_user_code.py")
PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def test_installed_package_is_typed():
    package = Path(pywd.__file__).parent
    assert (package / "py.typed").exists() and (package / "_kernels.pyi").exists()


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
