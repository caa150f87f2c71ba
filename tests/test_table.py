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
                if re.search(rf"PYWD_(?:CAUTIOUS_)?OPTIMISER\({name},", p.read_text())).read_text()
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


def _struct_of(name):
    """The hyper-parameter struct a functional update fills (its kernel's, or its own)."""
    kernel = _optimisers.UPDATES[name].kernel
    return _optimisers.KERNELS[kernel].hyper if kernel else f"pywd_{name}_hyper"


def _rule_cases():
    """(update, field, value, error) for each value just outside each rule of CHECKS, and
    error None for one just inside (not for fields with a further rule of their own: Rprop's
    eta order, AdEMAMix's beta3 warm-up, which needs beta1 and beta3 above 0)."""
    from helpers import VALID_CALLS
    further = {("rprop", "etaminus"), ("rprop", "etaplus"), ("ademamix", "beta1"),
               ("ademamix", "beta3")}
    for name in VALID_CALLS:
        parameters = inspect.signature(getattr(pywd, name)).parameters
        for field, rule in _optimisers.CHECKS.get(_struct_of(name), {}).items():
            if isinstance(rule, tuple) and rule[0] == "decay" or field not in parameters:
                continue      # test_decay_rules covers the decay options; SGD's schedule-free
                              # fills the struct's beta2 and eps itself
            if rule == _optimisers.STEP:
                cases = [(0, ValueError), (1.5, TypeError), (1, None)]
            elif rule == _optimisers.BOOL:
                cases = [(1, TypeError), (False, None)]     # (True may need more arrays)
            else:
                low, high = (0.0, 1.0) if rule == _optimisers.BETA else rule
                cases = [(low - 1e-9 * (1 + abs(low)), ValueError), (float("nan"), ValueError),
                         (low, None)]
                if rule == _optimisers.BETA:
                    cases += [(1.0, ValueError), (0.999, None)]
                elif high != float("inf"):
                    cases += [(high + 1e-9, ValueError), (high, None)]
                else:
                    cases += [(float("inf"), ValueError)]
            for value, error in cases:
                if error is None and (name, field) in further:
                    continue
                yield pytest.param(name, field, value, error, id=f"{name}-{field}-{value!r}")


@pytest.mark.parametrize("name, field, value, error", list(_rule_cases()))
def test_each_functions_checks_are_the_tables_rules(name, field, value, error):
    """The rules of CHECKS (pywd/_optimisers.py) are what each function enforces: a value
    just outside is refused naming the argument, before any array changes; one just inside
    is taken."""
    import numpy as np
    from helpers import VALID_CALLS, snapshot, table_arrays
    optional, options = VALID_CALLS[name]
    arrays = {arg: np.full((4, 5), 0.5, np.float32) for arg in table_arrays(name, optional)}
    call = {**options, field: value}
    if error is None:
        getattr(pywd, name)(**arrays, **call)
        return
    before = snapshot(list(arrays.values()))
    with pytest.raises(error, match=rf"\b{field}\b"):
        getattr(pywd, name)(**arrays, **call)
    assert snapshot(list(arrays.values())) == before


def test_every_checked_struct_is_a_functions():
    """Each entry of CHECKS is the struct of a functional update (Adafactor, not a row of
    the table, has its own tests of these checks in tests/test_adafactor.py)."""
    structs = {_struct_of(name) for name in _optimisers.UPDATES} | {"pywd_adafactor_hyper"}
    assert set(_optimisers.CHECKS) <= structs
    for struct, rules in _optimisers.CHECKS.items():      # each rule reaches a function
        takes = set().union(*(inspect.signature(getattr(pywd, name)).parameters
                              for name in _optimisers.UPDATES if _struct_of(name) == struct))
        assert struct == "pywd_adafactor_hyper" or set(rules) - {"decay"} <= takes, struct
