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
