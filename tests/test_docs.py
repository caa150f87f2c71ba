"""Every public function and class documents its equation, its NumPy equivalent and its torch
equivalent (README's porting table relies on them)."""
import pathlib

import pytest

import pywd
from pywd import init, optim
from pywd._optimisers import UPDATES

PUBLIC = ([(f"pywd.{n}", getattr(pywd, n)) for n in pywd.__all__ if callable(getattr(pywd, n))]
          + [(f"pywd.init.{n}", getattr(init, n)) for n in init.__all__]
          + [(f"pywd.optim.{n}", getattr(optim, n)) for n in optim.__all__])


@pytest.mark.parametrize("name, obj", PUBLIC, ids=[n for n, _ in PUBLIC])
def test_docstring_names_numpy_and_torch_equivalents(name, obj):
    doc = obj.__doc__ or ""
    assert "NumPy" in doc and "torch" in doc, name
    assert "=" in doc or "(" in doc, f"{name}: no equation"


@pytest.mark.parametrize("fn", [getattr(pywd, name) for name in UPDATES     # (sgdw's points
                                if name not in ("sgdw", "decay")] + [pywd.adafactor])  # to sgd's)
def test_update_docstrings_give_every_option(fn):
    for option in ("nonfinite", "grad_scale", "max_grad_norm", "StepResult", "Raises"):
        assert option in fn.__doc__, (fn.__name__, option)


def test_the_repository_names_package_indexes_not_hosts():
    """The README's release steps name indexes (PyPI, TestPyPI) and leave their
    addresses to the releaser's configuration: no URL in the README or pyproject.toml."""
    root = pathlib.Path(__file__).resolve().parent.parent
    for name in ("README.md", "pyproject.toml"):
        text = (root / name).read_text()
        assert "http://" not in text and "https://" not in text, name


CLASSES = [getattr(optim, n) for n in optim.__all__ if n not in ("Optimizer",
                                                                  "param_groups_weight_decay")]


def documented_options(doc):
    """The option names a numpydoc Parameters section documents."""
    section = doc.split("Parameters\n    ----------\n", 1)[1]
    names = set()
    for line in section.splitlines():
        if line.startswith("    ") and not line.startswith("     ") and " : " in line:
            names.update(n.strip() for n in line.split(" : ", 1)[0].split(","))
    return names


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_every_class_documents_every_option_it_takes(cls):
    """pywd.optim's class and pywd.torch's (when torch is installed): a Parameters entry
    for each option of the signature, the torch switches under their names."""
    import inspect
    classes = [cls]
    try:
        import pywd.torch as pt
        classes.append(getattr(pt, cls.__name__))
    except ImportError:
        pass
    for klass in classes:
        options = {n if p.kind is not p.VAR_KEYWORD else "foreach"
                   for n, p in inspect.signature(klass).parameters.items()}
        assert options - documented_options(klass.__doc__) == set(), klass
        lr = inspect.signature(klass).parameters["lr"].default
        assert f"lr : float, default {lr!r}" in klass.__doc__       # the class's default
    assert "decay_to : \"init\"" in cls.__doc__ and "initial_lr" in cls.__doc__


def test_signatures_read_as_written_not_as_expanded_aliases():
    import inspect
    step = str(inspect.signature(optim.AdamW.step))
    assert len(step) < 400 and "Grads" in step and "numpy.ndarray" not in step
    assert "numpy.ndarray" not in str(inspect.signature(optim.AdamW))
    assert optim.Optimizer.__doc__.startswith("Base class of pywd.optim's optimisers")
    try:
        import pywd.torch as pt
    except ImportError:
        return
    params = inspect.signature(pt.AdamW).parameters["params"]
    assert "torch.Tensor" in str(params.annotation)
    assert "params : iterable of torch.Tensor" in pt.AdamW.__doc__


def test_a_functions_returns_come_after_all_its_parameters():
    for fn in (pywd.adamw, pywd.sgd, pywd.muon):
        doc = fn.__doc__
        assert doc.index("rounding :") < doc.index("Returns\n") < doc.index("Raises\n")


def test_no_issue_numbers_in_code_docs_or_output():
    """The code, tests and docs say why things are as they are, not which ticket asked."""
    import re
    import subprocess
    root = pathlib.Path(__file__).resolve().parent.parent
    try:
        files = subprocess.run(["git", "ls-files"], cwd=root, capture_output=True, text=True,
                               check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    pattern = re.compile(r"\b[Ii]ssues? ?#?\d+")
    found = [f"{name}: {line.strip()}" for name in files
             if name.endswith((".py", ".pyx", ".pxi", ".pyi", ".c", ".h", ".md", ".toml", ".rst"))
             for line in (root / name).read_text().splitlines() if pattern.search(line)]
    assert found == []
