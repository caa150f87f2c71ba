"""The bad-input battery, run systematically over every public function: every array argument
of every update function, optimiser class and initialiser gets every kind of bad array, and
every hyper-parameter every kind of bad value. Each must raise a TypeError/ValueError naming
the argument (with its list index) and leave every array byte-identical."""
import inspect
import io
import math

import numpy as np
import pytest

import pywd
from helpers import VALID_CALLS, same_state, snapshot, table_arrays
from pywd import init, optim

N = 3      # arrays per list; the bad one is the last, so errors name index 2
SHAPE = (4, 5)

CALLS = VALID_CALLS
# name -> (array arguments as (name, written), the rest of a valid call); the arrays from the
# table of optimisers (pywd/_optimisers.py): every state array is written, grads only read
UPDATES = {name: ([(arg, arg != "grads") for arg in table_arrays(name, optional)], options)
           for name, (optional, options) in CALLS.items()}


def lists(count, dtype=np.float32, shape=SHAPE):
    rng = np.random.default_rng(0)
    return [[np.array(np.abs(rng.standard_normal(shape)), dtype=dtype) for _ in range(N)]
            for _ in range(count)]


def call(name, arrays, **override):
    names = [a for a, _ in UPDATES[name][0]]
    return getattr(pywd, name)(**dict(zip(names, arrays)), **{**UPDATES[name][1], **override})


def unaligned(like):
    raw = np.zeros(like.nbytes + 1, np.uint8)
    a = raw[1:].view(like.dtype).reshape(like.shape)
    a[...] = like
    return a


def read_only(like):
    a = like.copy()
    a.flags.writeable = False
    return a


# (id, make the bad array from the good one, error, message after "<arg>[2]: " or None)
BAD_ARRAYS = [
    ("list-not-array", lambda a: a.tolist(), TypeError, "expected a numpy.ndarray"),
    ("int64", lambda a: a.astype(np.int64), TypeError, "expected float32"),
    ("float16", lambda a: a.astype(np.float16), TypeError, "expected float32"),
    ("float64-among-float32", lambda a: a.astype(np.float64), TypeError, "expected float32"),
    ("complex", lambda a: a.astype(np.complex64), TypeError, "expected float32"),
    ("byte-swapped", lambda a: a.astype(a.dtype.newbyteorder(">")), TypeError,
     "expected native byte order"),
    ("unaligned", unaligned, ValueError, "not aligned"),
    ("strided", lambda a: np.repeat(a, 2, axis=1)[:, ::2], ValueError, "C- or F-contiguous"),
    ("transposed-order", lambda a: np.asfortranarray(a), ValueError, "memory order"),
    ("wrong-shape", lambda a: a[:, :-1].copy(), ValueError, "shape"),
    ("zero-d", lambda a: np.array(a.flat[0]), ValueError, "shape"),
    ("empty", lambda a: a[:0].copy(), ValueError, "shape"),
]
WRITTEN_ONLY = [("read-only", read_only, ValueError, "is read-only")]


def array_cases():
    for name, (args, _) in UPDATES.items():
        for k, (arg, written) in enumerate(args):
            for case in BAD_ARRAYS + (WRITTEN_ONLY if written else []):
                # params sets the reference shape and order: shape cases apply to the others
                if k == 0 and case[0] in ("wrong-shape", "zero-d", "empty", "transposed-order"):
                    continue
                yield pytest.param(name, k, arg, *case[1:], id=f"{name}-{arg}-{case[0]}")


@pytest.mark.parametrize("name, k, arg, make, error, message", list(array_cases()))
def test_every_bad_array_is_refused_and_nothing_changes(name, k, arg, make, error, message):
    arrays = lists(len(UPDATES[name][0]))
    arrays[k][-1] = make(arrays[k][-1])
    before = [snapshot(lst) for lst in arrays]
    with pytest.raises(error, match=rf"^{arg}\[2\]: .*{message}"):
        call(name, arrays)
    assert [snapshot(lst) for lst in arrays] == before


def structure_cases():
    for name, (args, _) in UPDATES.items():
        for k, (arg, _) in enumerate(args):
            if k > 0:
                yield pytest.param(name, k, arg, "short", id=f"{name}-{arg}-short-list")
                yield pytest.param(name, k, arg, "params-alias", id=f"{name}-{arg}-is-params")
            if arg != "grads":      # only read: one grad for two params is fine (below)
                yield pytest.param(name, k, arg, "duplicate", id=f"{name}-{arg}-duplicate")
            yield pytest.param(name, k, arg, "dict", id=f"{name}-{arg}-dict")


@pytest.mark.parametrize("name, k, arg, kind", list(structure_cases()))
def test_every_bad_list_is_refused_and_nothing_changes(name, k, arg, kind):
    arrays = lists(len(UPDATES[name][0]))
    if kind == "short":
        arrays[k] = arrays[k][:-1]
        error, pattern = ValueError, rf"{arg} has 2 arrays but params has 3"
    elif kind == "params-alias":
        arrays[k][-1] = arrays[0][-1]
        error, pattern = ValueError, rf"params\[2\] and {arg}\[2\] overlap"
    elif kind == "duplicate":
        arrays[k][-1] = arrays[k][0][::-1][::-1]  # a view of array 0: same memory
        error, pattern = ValueError, rf"{arg}\[0\] and {arg}\[2\] overlap"
    else:
        arrays[k] = dict(enumerate(arrays[k]))
        error, pattern = TypeError, rf"{arg} must be a numpy.ndarray or a list/tuple"
    before = [snapshot(lst if isinstance(lst, list) else list(lst.values())) for lst in arrays]
    with pytest.raises(error, match=pattern):
        call(name, arrays)
    assert [snapshot(lst if isinstance(lst, list) else list(lst.values()))
            for lst in arrays] == before


@pytest.mark.parametrize("name", sorted(n for n in UPDATES if n != "decay"))
def test_one_gradient_may_serve_two_parameters(name):
    """Gradients are only read, so sharing one (or views of one) between parameters is
    allowed and gives what separate copies give; written arrays may not share."""
    k = [arg for arg, _ in UPDATES[name][0]].index("grads")
    arrays = lists(len(UPDATES[name][0]))
    arrays[k][-1] = arrays[k][0][::-1][::-1]
    separate = [[a.copy() for a in lst] for lst in arrays]
    call(name, arrays)
    call(name, separate)
    assert [snapshot(lst) for lst in arrays] == [snapshot(lst) for lst in separate]


@pytest.mark.parametrize("name", sorted(UPDATES))
@pytest.mark.parametrize("shape", [(), (0,), (3, 0)])
def test_zero_d_and_empty_arrays_are_valid(name, shape):
    if name == "muon" and len(shape) != 2:
        shape = (0, 3)                     # Muon takes matrices only: an empty one
    arrays = lists(len(UPDATES[name][0]), np.float64, shape)
    result = call(name, arrays)
    assert result is None if name == "decay" else result.applied


# Real hyper-parameters of each update, from its signature: a float default, or required and
# not the step (max_grad_norm, which may be None or inf, is covered in test_grad_options.py;
# ASGD's t0, which may be negative, has its own cases below); its bools (cautious_decay is
# the decay's: tests/test_decay_rules.py); and the values every one of them refuses.
def options_of(name, kind):
    params = inspect.signature(getattr(pywd, name)).parameters.items()
    if kind is bool:
        return [p for p, v in params if isinstance(v.default, bool) and p != "cautious_decay"]
    return [p for p, v in params if p != "t0" and (
        (isinstance(v.default, float) and not isinstance(v.default, bool))
        or (v.default is v.empty and v.kind is v.KEYWORD_ONLY and p != "step"))]


REALS = {name: options_of(name, float) for name in CALLS}
BOOLS = {name: options_of(name, bool) for name in CALLS}
BAD_REALS = [(math.nan, ValueError), (math.inf, ValueError), (-math.inf, ValueError),
             (-1.0, ValueError), ("0.1", TypeError), (None, TypeError), (1j, TypeError),
             ([0.1], TypeError), (np.array([0.1, 0.2]), TypeError), (True, TypeError)]
BAD_BOOLS = [("yes", TypeError), (1, TypeError), (None, TypeError)]


def hyper_cases():
    for name in UPDATES:
        for hyper in REALS[name]:
            for value, error in BAD_REALS:
                yield pytest.param(name, hyper, value, error, id=f"{name}-{hyper}-{value!r}")
        for hyper in BOOLS[name]:
            for value, error in BAD_BOOLS:
                yield pytest.param(name, hyper, value, error, id=f"{name}-{hyper}-{value!r}")
        if name in ("adam", "adamw", "adagrad", "adamw_schedulefree"):
            for value, error in [(0, ValueError), (-1, ValueError), (1.5, TypeError),
                                 (True, TypeError), ("1", TypeError)]:
                yield pytest.param(name, "step", value, error, id=f"{name}-step-{value!r}")
    # None: computed from the step, so valid; above 1 (a product, a weight): refused
    for name, hyper in [("nadam", "mu_product"), ("asgd", "eta"), ("asgd", "mu"),
                        ("adamw_schedulefree", "average_weight"),
                        ("sgd_schedulefree", "average_weight")]:
        for value, error in BAD_REALS + ([(1.5, ValueError)] if hyper != "eta" else []):
            if value is not None:
                yield pytest.param(name, hyper, value, error, id=f"{name}-{hyper}-{value!r}")
    for value, error in BAD_REALS[:3] + BAD_REALS[4:]:      # t0 may be negative
        if value is not None:
            yield pytest.param("asgd", "t0", value, error, id=f"asgd-t0-{value!r}")


@pytest.mark.parametrize("name, hyper, value, error", list(hyper_cases()))
def test_every_bad_hyper_parameter_is_refused_and_nothing_changes(name, hyper, value, error):
    arrays = lists(len(UPDATES[name][0]))
    before = [snapshot(lst) for lst in arrays]
    with pytest.raises(error, match=rf"^{hyper} must be"):
        call(name, arrays, **{hyper: value})
    assert [snapshot(lst) for lst in arrays] == before


# ------------------------------------------------------------------- optimiser classes
CLASSES = [optim.SGD, optim.SGDW, optim.Adam, optim.AdamW, optim.RMSprop, optim.Adagrad,
           optim.Lion, optim.Adamax, optim.RAdam,
           optim.Adadelta, optim.NAdam, optim.Rprop, optim.ASGD, optim.Lamb, optim.LARS,
           optim.AdamWScheduleFree, optim.SGDScheduleFree, optim.Muon, optim.Adafactor]
# (optimisers take a float64 parameter among float32 ones: one kernel call per dtype)
# an optimiser takes a dtype per parameter: float16 among float32 params is fine there
CLASS_ARRAY_CASES = [c for c in BAD_ARRAYS[:8] if c[0] not in (
    "float64-among-float32", "float16")] + WRITTEN_ONLY


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
@pytest.mark.parametrize("make, error, message", [c[1:] for c in CLASS_ARRAY_CASES],
                         ids=[c[0] for c in CLASS_ARRAY_CASES])
def test_optimizer_refuses_bad_params(cls, make, error, message):
    params = lists(1)[0]
    params[-1] = make(params[-1])
    with pytest.raises(error, match=rf"^params\[2\]: .*{message}"):
        cls(params, lr=0.01)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
@pytest.mark.parametrize("make, error, message", [c[1:] for c in BAD_ARRAYS if c[0] not in (
    "float64-among-float32", "float16", "zero-d", "empty", "wrong-shape")],
    ids=lambda c: str(c)[:20])
def test_optimizer_refuses_bad_grads_before_touching_anything(cls, make, error, message):
    params = lists(1)[0]
    opt = cls(params, lr=0.01)
    grads = [np.ones_like(p) for p in params]
    opt.step(grads)                        # state exists now, so it must stay unchanged too
    before, state = snapshot(params), opt.state_dict()
    grads[-1] = make(grads[-1])
    with pytest.raises(error, match=rf"^grads\[2\]: .*{message}"):
        opt.step(grads)
    assert snapshot(params) == before
    after = opt.state_dict()
    assert same_state(state, after)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
@pytest.mark.parametrize("hyper, value", [("lr", math.nan), ("lr", -1.0), ("lr", "1"),
                                          ("weight_decay", math.inf), ("maximize", "no")])
def test_optimizer_refuses_bad_hyper_parameters(cls, hyper, value):
    with pytest.raises((TypeError, ValueError), match=hyper):
        cls(lists(1)[0], **{hyper: value})


def test_optimizer_refuses_wrong_length_and_shape_of_grads():
    params = lists(1)[0]
    opt = optim.Adam(params)
    with pytest.raises(ValueError, match="grads has 2 arrays but the optimizer has 3"):
        opt.step([np.ones_like(p) for p in params][:2])
    with pytest.raises(ValueError, match=r"grads\[1\]: shape \(4, 4\) does not match"):
        opt.step([np.ones_like(params[0]), np.ones((4, 4), np.float32), None])


def trained(cls):
    params = lists(1, np.float64)[0]
    opt = cls(params, lr=0.01,
              **(dict(momentum=0.9) if issubclass(cls, (optim.SGD, optim.LARS)) else {}))
    opt.step([np.ones_like(p) for p in params])
    return opt


def state_edits(cls):
    """For each saved state array of cls: a wrong shape and a wrong dtype."""
    keys = trained(cls).state_dict()
    for key in keys:
        if key.startswith("state/") and key.split("/")[2] != "step":
            yield pytest.param(cls, key, np.zeros((5, 4)), id=f"{cls.__name__}-{key}-shape")
            yield pytest.param(cls, key, np.zeros(SHAPE, np.float32),
                               id=f"{cls.__name__}-{key}-dtype")
    if "state/0/step" in keys:
        for value in (np.array(-1), np.array(1.5), np.array([1, 2])):
            yield pytest.param(cls, "state/0/step", value, id=f"{cls.__name__}-step-{value}")


@pytest.mark.parametrize("cls, key, value", [p for c in CLASSES for p in state_edits(c)])
def test_load_state_dict_refuses_bad_state_and_changes_nothing(cls, key, value):
    opt = trained(cls)
    before = opt.state_dict()
    with pytest.raises(ValueError, match=rf"state_dict\['{key}'\]|{key}"):
        opt.load_state_dict({**before, key: value})
    after = opt.state_dict()
    assert same_state(before, after)


def npz_bytes(state):
    buf = io.BytesIO()
    np.savez(buf, **state)
    return bytearray(buf.getvalue())


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_load_state_dict_refuses_corrupt_and_pickled_npz(cls):
    opt = trained(cls)
    before = opt.state_dict()
    data = npz_bytes(before)
    key = next(k for k in before if k.startswith("state/"))
    entry = data.find(b"\x93NUMPY", data.find(f"{key}.npy".encode()))
    data[entry + 60:entry + 70] = b"\xff" * 10           # damaged bytes: the CRC fails
    with pytest.raises(ValueError, match=rf"state_dict\['{key}'\] cannot be read"):
        opt.load_state_dict(np.load(io.BytesIO(bytes(data))))
    pickled = npz_bytes({**before, key: np.array([{"evil": 1}], dtype=object)})
    with pytest.raises(ValueError, match=rf"state_dict\['{key}'\] cannot be loaded without "
                                         r"pickle"):
        opt.load_state_dict(np.load(io.BytesIO(bytes(pickled))))
    after = opt.state_dict()
    assert same_state(before, after)


# ------------------------------------------------------------------------- initialisers
INITS = {
    "uniform_": init.uniform_, "normal_": init.normal_, "trunc_normal_": init.trunc_normal_,
    "constant_": lambda t: init.constant_(t, 0.5), "zeros_": init.zeros_, "ones_": init.ones_,
    "eye_": init.eye_, "xavier_uniform_": init.xavier_uniform_,
    "xavier_normal_": init.xavier_normal_, "kaiming_uniform_": init.kaiming_uniform_,
    "kaiming_normal_": init.kaiming_normal_, "variance_scaling_": init.variance_scaling_,
    "lecun_uniform_": init.lecun_uniform_, "lecun_normal_": init.lecun_normal_,
    "orthogonal_": init.orthogonal_, "sparse_": lambda t: init.sparse_(t, 0.5),
    "martens_sparse_": lambda t: init.martens_sparse_(t, 2),
}
INIT_ARRAY_CASES = [c for c in BAD_ARRAYS if c[0] in (
    "list-not-array", "int64", "float16", "complex", "byte-swapped", "unaligned",
    "strided")] + WRITTEN_ONLY


@pytest.mark.parametrize("name", sorted(INITS))
@pytest.mark.parametrize("make, error, message", [c[1:] for c in INIT_ARRAY_CASES],
                         ids=[c[0] for c in INIT_ARRAY_CASES])
def test_every_initialiser_refuses_bad_tensors(name, make, error, message):
    tensor = make(np.full(SHAPE, 3.0, np.float32))
    before = snapshot([tensor]) if isinstance(tensor, np.ndarray) else None
    with pytest.raises(error, match=rf"^tensor(: | must).*{message.split()[-1]}"):
        INITS[name](tensor)
    if before is not None:
        assert snapshot([tensor]) == before


def test_dirac_refuses_bad_tensors_too():
    for make, error, message in [c[1:] for c in INIT_ARRAY_CASES]:
        tensor = make(np.full((2, 2, 3), 3.0, np.float32))
        with pytest.raises(error):
            init.dirac_(tensor)


INIT_HYPER_CASES = [
    (init.uniform_, dict(a=math.nan)), (init.uniform_, dict(b=math.inf)),
    (init.normal_, dict(std=math.nan)), (init.normal_, dict(mean="0")),
    (init.trunc_normal_, dict(a=math.nan)), (init.trunc_normal_, dict(std=-1.0)),
    (init.constant_, dict(val=math.nan)), (init.eye_, dict(gain=math.inf)),
    (init.xavier_normal_, dict(gain=math.nan)), (init.kaiming_uniform_, dict(a=math.nan)),
    (init.kaiming_normal_, dict(mode=None)), (init.variance_scaling_, dict(scale=-1.0)),
    (init.orthogonal_, dict(gain=math.nan)), (init.sparse_, dict(sparsity=math.nan)),
    (init.sparse_, dict(sparsity=0.5, std=-1.0)), (init.martens_sparse_, dict(nonzeros=-1)),
    (init.normal_, dict(rng="seed")), (init.uniform_, dict(rng=2**64)),
    (init.normal_, dict(offset=1.5)), (init.xavier_uniform_, dict(layout="tf")),
]


@pytest.mark.parametrize("fill, kwargs", INIT_HYPER_CASES,
                         ids=[f"{f.__name__}-{k}" for f, k in INIT_HYPER_CASES])
def test_every_initialiser_refuses_bad_hyper_parameters(fill, kwargs):
    tensor = np.full(SHAPE, 3.0)
    with pytest.raises((TypeError, ValueError), match="|".join(kwargs) + "|seed"):
        fill(tensor, **kwargs)
    assert (tensor == 3.0).all()
