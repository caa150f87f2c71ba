"""Every public function and class documents its equation, its NumPy equivalent and its torch
equivalent (README's porting table relies on them)."""
import pathlib

import pytest

import pywd
from pywd import init, optim

PUBLIC = ([(f"pywd.{n}", getattr(pywd, n)) for n in pywd.__all__ if callable(getattr(pywd, n))]
          + [(f"pywd.init.{n}", getattr(init, n)) for n in init.__all__]
          + [(f"pywd.optim.{n}", getattr(optim, n)) for n in optim.__all__])


@pytest.mark.parametrize("name, obj", PUBLIC, ids=[n for n, _ in PUBLIC])
def test_docstring_names_numpy_and_torch_equivalents(name, obj):
    doc = obj.__doc__ or ""
    assert "NumPy" in doc and "torch" in doc, name
    assert "=" in doc or "(" in doc, f"{name}: no equation"


@pytest.mark.parametrize("fn", [pywd.sgd, pywd.adam, pywd.adamw, pywd.rmsprop, pywd.adagrad,
                                pywd.lion, pywd.adamax, pywd.radam, pywd.adadelta,
                                pywd.nadam, pywd.rprop, pywd.asgd, pywd.lamb, pywd.lars,
                                pywd.adamw_schedulefree, pywd.sgd_schedulefree, pywd.muon,
                                pywd.adafactor])
def test_update_docstrings_give_every_option(fn):
    for option in ("nonfinite", "grad_scale", "max_grad_norm", "StepResult", "Raises"):
        assert option in fn.__doc__, (fn.__name__, option)


def test_the_repository_names_package_indexes_not_hosts():
    """Issue 17: the README's release steps name indexes (PyPI, TestPyPI) and leave their
    addresses to the releaser's configuration: no URL in the README or pyproject.toml."""
    root = pathlib.Path(__file__).resolve().parent.parent
    for name in ("README.md", "pyproject.toml"):
        text = (root / name).read_text()
        assert "http://" not in text and "https://" not in text, name
