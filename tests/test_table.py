"""The table of optimisers (pywd/_optimisers.py) says what the code does: its kernels are
the C list's, their slots the C files', its updates pywd's functions with those arrays, its
classes pywd.optim's with those state keys, its twins torch.optim's."""
import inspect
import re
from pathlib import Path

import pytest

import pywd
from pywd import _optimisers, optim

CSRC = Path(__file__).resolve().parents[1] / "csrc"


def c_list():
    text = (CSRC / "optim" / "list.h").read_text()
    body = text[text.index("#define PYWD_ELEMENTWISE_OPTIMISERS"):]
    return re.findall(r"X\((\w+)\)", body)


def test_the_kernels_are_the_c_list():
    assert list(_optimisers.KERNELS) == c_list()


@pytest.mark.parametrize("name", c_list())
def test_each_kernels_slots_are_its_c_files(name):
    """The slots a kernel's arrays go to are those its math file reads and writes, and its
    hyper-parameter struct is pywd.h's."""
    kernel = _optimisers.KERNELS[name]
    slots = [a.slot for a in kernel.arrays]
    assert len(set(slots)) == len(slots) and slots[0] == 0
    assert f"}} {kernel.hyper};" in (CSRC / "pywd.h").read_text()
    math = next(p for p in (CSRC / "optim").glob("*.h")
                if f"PYWD_OPTIMISER({name}," in p.read_text()).read_text()
    bodies = re.findall(rf"NAME\({name}_(?:reads|writes)\)\(const int \w+\)\s*\{{(.*?)\}}",
                        math, re.S)
    masks = [m for body in bodies for m in re.findall(r"0x([0-9A-F]+)u", body)]
    used = 0
    for mask in masks:                 # every slot any variant reads or writes
        used |= int(mask, 16)
    assert masks and set(slots) <= {k for k in range(5) if used >> k & 1}, (name, masks)


@pytest.mark.parametrize("name", sorted(_optimisers.UPDATES))
def test_each_update_is_pywds_function_with_its_arrays(name):
    update = _optimisers.UPDATES[name]
    parameters = inspect.signature(getattr(pywd, name)).parameters
    states = [s.name for s in update.state]
    arrays = [p for p in parameters if p in ("params", "grads", *states)]
    assert arrays == ["params"] + (["grads"] if name != "decay" else []) + states
    for s in update.state:
        assert (parameters[s.name].default is None) == s.optional, s.name
    if update.kernel is not None:
        names = {a.name for a in _optimisers.KERNELS[update.kernel].arrays}
        assert set(states) <= names


@pytest.mark.parametrize("name", sorted(n for n, u in _optimisers.UPDATES.items() if u.cls))
def test_each_class_keeps_the_tables_state(name):
    update = _optimisers.UPDATES[name]
    cls = getattr(optim, update.cls)
    assert cls.state_arrays == tuple(s.state_key for s in update.state)
    assert cls.nonnegative_state == tuple(s.state_key for s in update.state if s.nonnegative)
    assert update.cls in optim.__all__


@pytest.mark.parametrize("name", [n for n, u in _optimisers.UPDATES.items() if u.cls])
def test_each_class_has_its_torch_drop_in(name):
    pytest.importorskip("torch")
    import pywd.torch as pt
    cls = _optimisers.UPDATES[name].cls
    assert cls in pt.__all__ and getattr(pt, cls).pywd_class is getattr(optim, cls)


@pytest.mark.parametrize("name", sorted(n for n, u in _optimisers.UPDATES.items() if u.torch))
def test_each_twin_is_torchs(name):
    torch = pytest.importorskip("torch")
    assert issubclass(getattr(torch.optim, _optimisers.UPDATES[name].torch),
                      torch.optim.Optimizer)


def test_each_element_wise_update_has_a_bench_row():
    """The bench (pywd.bench.KERNELS, which bench/bench_optimisers.py runs at every size)
    times every element-wise kernel that a functional update calls."""
    from pywd import bench
    timed = {_optimisers.UPDATES[k.fn].kernel for k in bench.KERNELS.values()}
    wanted = {name for name, k in _optimisers.KERNELS.items() if k.finite is not None}
    assert wanted <= timed, sorted(wanted - timed)


def test_the_tests_valid_calls_name_every_update():
    """tests/helpers.py's VALID_CALLS, where the per-optimiser tests start, has a row for
    each functional update of the table, with the optional state it names."""
    from helpers import VALID_CALLS
    assert sorted(VALID_CALLS) == sorted(_optimisers.UPDATES)
    for name, (optional, _) in VALID_CALLS.items():
        states = {s.name for s in _optimisers.UPDATES[name].state if s.optional}
        assert set(optional) <= states, name
