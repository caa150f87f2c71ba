"""Shared by the tests: awkward arrays, the stated tolerances, byte snapshots.

Tolerances (kernel against pywd.reference): float64 within 1e-12 relative, float32 within
2 ulp. The kernels round each operation in the reference's order, so in practice they agree
to the last bit; the margin is for compilers that contract a*b+c differently.
"""
import contextlib
import importlib.machinery
import importlib.util
import io
import os
import subprocess
import sys
import types

import numpy as np
from hypothesis import strategies as st

import pywd
from pywd import _optimisers

DTYPES = (np.float32, np.float64)
DECAY_MODES = ("l2", "decoupled", "independent", "corrected", "l1")
MULTIPLICATIVE = ("decoupled", "independent", "corrected")
# every optimiser class's decay options, by default
DECAY_DEFAULTS = dict(max_lr=None, cautious_decay=False, decay_to=None)
# and their storage options (16-bit state, rounding)
STORAGE_DEFAULTS = dict(rounding="stochastic", state_dtype=None, kahan_sum=False)

# One valid call of each functional update (the table of optimisers' names): the optional
# state arrays it passes and the rest of its options. The per-optimiser tests start from it
# (the bad-input battery as it is, the gradient options' tests with a weight decay, the
# 16-bit twins, the decay rules and the defaults where they need nothing of their own), so
# that a new update needs one row here.
VALID_CALLS = {
    "sgd": (("momentum_buffers",), dict(lr=0.1, momentum=0.9, weight_decay=0.01)),
    "sgdw": (("momentum_buffers",), dict(lr=0.1, momentum=0.9, weight_decay=0.01)),
    "adam": (("max_exp_avg_sqs",), dict(step=2, lr=0.01, amsgrad=True)),
    "adamw": ((), dict(step=2, lr=0.01)),
    "rmsprop": (("momentum_buffers", "grad_avgs"), dict(lr=0.01, momentum=0.9, centered=True)),
    "adagrad": ((), dict(step=2, lr=0.1)),
    "lion": ((), dict(lr=0.01)),
    "adamax": ((), dict(step=2, lr=0.01)),
    "radam": ((), dict(step=7, lr=0.01)),
    "adadelta": ((), dict(lr=1.0)),
    "nadam": ((), dict(step=3, lr=0.01)),
    "rprop": ((), dict(lr=0.01)),
    "asgd": ((), dict(step=3, lr=0.01)),
    "lamb": ((), dict(step=3, lr=0.01)),
    "lars": (("momentum_buffers",), dict(lr=0.1, momentum=0.9, weight_decay=1e-4)),
    "adamw_schedulefree": ((), dict(step=3, average_weight=0.5, lr=0.01)),
    "sgd_schedulefree": ((), dict(average_weight=0.5, lr=0.1, weight_decay=1e-4)),
    "muon": ((), dict(lr=0.02, weight_decay=0.01)),
    "decay": ((), dict(lr=0.1, weight_decay=0.01)),
    "ademamix": ((), dict(step=3, lr=0.01, t_alpha=10, t_beta3=10)),
}


def isa_units():
    """The kernel units this CPU runs (PYWD_ISA names), narrowest first: the baseline, and
    AVX2 and AVX-512 where the CPU (and OS) have them and the build has them (setup.py's
    PYWD_UNITS may leave one out)."""
    return list(pywd._kernels._isa_units())


def outputs_by_unit(script, envs):
    """Runs `script` (which writes its unit's name and a hash of its results) in a fresh
    interpreter once per environment of `envs` (PYWD_ISA and the like, over os.environ);
    returns {(unit, position in envs): hash}."""
    outputs = {}
    for k, env in enumerate(envs):
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                             env=dict(os.environ, **env), check=True).stdout.split()
        outputs[out[0], k] = out[1]
    return outputs


def table_arrays(name, optional=()):
    """The array arguments of pywd.<name>, from the table of optimisers (pywd/_optimisers.py):
    {argument: (C slot, non-negative)}, params and grads first (the bare decay has no grads),
    then its state in argument order, an optional state only if named in `optional`. The
    slot is the kernel's (a kernel with passes of its own: 2, 3, ... in state order)."""
    update = _optimisers.UPDATES[name]
    kernel = _optimisers.KERNELS.get(update.kernel)
    slots = {a.name: a.slot for a in kernel.arrays} if kernel else {}
    out = {"params": (0, False)}
    if name != "decay":
        out["grads"] = (1, False)
    for i, state in enumerate(update.state):
        if not state.optional or state.name in optional:
            out[state.name] = (slots.get(state.name, 2 + i), state.nonnegative)
    return out


def draw_update_arrays(data, name):
    """pywd.<name>'s arrays for its VALID_CALLS row, drawn (hypothesis `data`) as parallel
    lists of awkward shapes (or one large enough for several threads), non-negative state
    made so; and, half the time, anchors like the params (else None)."""
    optional, _ = VALID_CALLS[name]
    states = table_states(name, optional)
    count = 3 + len(states)
    lists = data.draw(st.one_of(array_lists(count=count),
                                array_lists(count=count, max_arrays=2, big=True)))
    anchors = lists.pop() if data.draw(st.booleans()) else None
    arrays = dict(zip(["params", "grads", *states], lists))
    for k, (_, nonneg) in states.items():
        for a in arrays[k] if nonneg else ():
            np.abs(a, out=a)
    return arrays, anchors


def table_states(name, optional=()):
    """table_arrays' state arrays only: {argument: (C slot, non-negative)}."""
    return {k: v for k, v in table_arrays(name, optional).items() if k not in ("params", "grads")}


def call_update(name, arrays, **options):
    """pywd.<name>(...) with each array argument by its name (the bare decay takes no
    gradient options)."""
    if name == "decay":
        options.pop("grad_scale", None)
    return getattr(pywd, name)(**arrays, **options)


def assert_same_at_thread_counts(run, counts=(1, 2, 3)):
    """run() makes its arrays afresh, steps them and returns what to compare (bytes): it
    returns the same at each thread count (the count restored after)."""
    results = []
    saved = pywd.get_num_threads()
    try:
        for threads in counts:
            pywd.set_num_threads(threads)
            results.append(run())
    finally:
        pywd.set_num_threads(saved)
    assert all(r == results[0] for r in results[1:])


def assert_matches(actual, expected, what=""):
    """Kernel result against the reference, at the tolerance stated above."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.dtype == expected.dtype and actual.shape == expected.shape, what
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected), err_msg=what)
    if actual.dtype == np.float32:
        np.testing.assert_array_max_ulp(actual, expected, maxulp=2)
    else:
        np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=0, err_msg=what)


def assert_matches_at_scale(actual, expected):
    """For a kernel that adds its per-tensor sums in another order than the reference
    (Adafactor's means and norms): a step size one ulp off moves every element by an ulp of
    its update, so the bound is 4 ulp (float32) or 1e-12 (float64) of the largest value."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.dtype == expected.dtype and actual.shape == expected.shape
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected))
    finite = np.isfinite(expected)
    scale = np.abs(expected[finite]).max() if finite.any() else 0.0
    tol = 4 * np.finfo(np.float32).eps if actual.dtype == np.float32 else 1e-12
    np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol * scale)


def same_state(before, after):
    """Two state_dicts hold equal entries (a NaN equal to a NaN: Adafactor's eps1 of None is
    saved as one)."""
    return before.keys() == after.keys() and all(
        np.array_equal(before[k], after[k], equal_nan=before[k].dtype.kind == "f")
        for k in before)


def snapshot(arrays):
    """The bytes of every array, to prove that a failed call touched nothing."""
    return [a.tobytes() if isinstance(a, np.ndarray) else None for a in arrays]


def make_array(rng, shape, dtype, order="C", scale=1.0):
    """Normal values with some exact zeros, in the requested memory order."""
    a = rng.standard_normal(shape) * scale
    if a.size:
        a.flat[rng.integers(0, a.size, size=max(1, a.size // 16))] = 0.0
    return np.asarray(a, dtype=dtype, order=order)


# Shapes that stress the kernels: empty, one element, 0-d, odd vector tails, 2-D and 3-D.
shapes = st.one_of(
    st.sampled_from([(), (0,), (1,), (3, 0), (7,), (15,), (17,), (31,), (33,), (64,)]),
    st.tuples(st.integers(1, 300)),
    st.tuples(st.integers(1, 17), st.integers(1, 19)),
    st.tuples(st.integers(1, 5), st.integers(1, 6), st.integers(1, 7)),
)


@st.composite
def array_lists(draw, count, min_arrays=1, max_arrays=5, big=False):
    """`count` parallel lists of arrays (e.g. params, grads, buffers) of one dtype: array i of
    every list has the same shape and memory order. With big=True one array is large enough
    to run on several threads."""
    dtype = draw(st.sampled_from(DTYPES))
    n = draw(st.integers(min_arrays, max_arrays))
    layout = [(draw(shapes), draw(st.sampled_from("CF"))) for _ in range(n)]
    if big:
        layout[draw(st.integers(0, n - 1))] = ((draw(st.integers(70_000, 140_001)),), "C")
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return [[make_array(rng, shape, dtype, order) for shape, order in layout]
            for _ in range(count)]


@st.composite
def sgd_hypers(draw, momentum=None):
    """Valid hyper-parameters for pywd.sgd, every option in play."""
    has_momentum = draw(st.booleans()) if momentum is None else momentum
    m = draw(st.floats(0.05, 0.99)) if has_momentum else 0.0
    dampening = draw(st.sampled_from([0.0, 0.1, 0.5, 1.0])) if has_momentum else 0.0
    return dict(
        lr=draw(st.sampled_from([0.0, 1e-3, 0.01, 0.1, 1.0])),
        momentum=m,
        dampening=dampening,
        nesterov=has_momentum and dampening == 0.0 and draw(st.booleans()),
        weight_decay=draw(st.sampled_from([0.0, 1e-4, 0.01, 0.3, 1.0])),
        **draw(decay_rules()),
        maximize=draw(st.booleans()),
        first_step=has_momentum and draw(st.booleans()),
    )


def copies(lists):
    """Independent copies (same memory order) of lists of arrays."""
    return [[a.copy(order="K") for a in lst] for lst in lists]


def assert_all_match(actual_lists, expected_lists):
    for actual, expected in zip(actual_lists, expected_lists):
        for a, b in zip(actual, expected):
            assert_matches(a, b)


def nonnegative(lists):
    """Lists of arrays made >= 0 (second-moment states are sums of squares)."""
    out = copies(lists)
    for lst in out:
        for a in lst:
            np.abs(a, out=a)
    return out


@st.composite
def decay_rules(draw):
    """A decay mode with its options: max_lr (None, or at least any lr the tests draw, 1,
    so that every factor stays in [0, 1]) and cautious_decay for the multiplicative modes."""
    decay = draw(st.sampled_from(DECAY_MODES))
    return dict(decay=decay, max_lr=draw(st.sampled_from([None, 1.0, 4.0])),
                cautious_decay=decay in MULTIPLICATIVE and draw(st.booleans()))


@st.composite
def decays(draw):
    """(weight_decay, decay mode and options), every mode and zero decay in play."""
    return dict(weight_decay=draw(st.sampled_from([0.0, 1e-4, 0.01, 0.3])), **draw(decay_rules()))


# --------------------------------------------------------------------- optimiser classes
def model(dtype=np.float64, seed=0, shapes=((4, 3), (3,), (2, 2, 2))):
    """A few parameters of assorted shapes."""
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(dtype) for s in shapes]


def grads_for(params, rng):
    return [rng.standard_normal(p.shape).astype(p.dtype) for p in params]


def run_steps(opt, params, steps, seed):
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        opt.step(grads_for(params, rng))


def saved(opt):
    """opt.state_dict() through an .npz file, loaded without pickle (numpy's default)."""
    buf = io.BytesIO()
    np.savez(buf, **opt.state_dict())
    buf.seek(0)
    return np.load(buf)


def small_or_threaded(count, **kwargs):
    """Lists of small awkward arrays, or short lists with one array big enough to be split
    across threads."""
    return st.one_of(array_lists(count=count, **kwargs),
                     array_lists(count=count, max_arrays=3, big=True))


@contextlib.contextmanager
def torch_scalars_in(torch, dtype):
    """torch keeps some scalar state (NAdam's mu_product, ASGD's eta and mu) in its default
    dtype, float32 unless set: a float64 run is compared with torch's float64 scalars."""
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64 if dtype == np.float64 else torch.float32)
    try:
        yield
    finally:
        torch.set_default_dtype(before)


def cycles(opt):
    """OneCycleLR and CyclicLR cycle the momentum (Adam's beta1) where the optimiser has one."""
    return "momentum" in opt.defaults or "betas" in opt.defaults


# every scheduler class, set up to change the values within a few steps: name ->
# make(schedulers' module, optimiser) (pywd's and torch's take the same arguments)
SCHEDULERS = {
    "LambdaLR": lambda m, o: m.LambdaLR(o, lambda t: 0.9 ** t),
    "MultiplicativeLR": lambda m, o: m.MultiplicativeLR(o, lambda t: 0.95),
    "StepLR": lambda m, o: m.StepLR(o, step_size=2, gamma=0.5),
    "MultiStepLR": lambda m, o: m.MultiStepLR(o, milestones=[1, 4, 4], gamma=0.5),
    "ConstantLR": lambda m, o: m.ConstantLR(o, factor=0.5, total_iters=4),
    "LinearLR": lambda m, o: m.LinearLR(o, start_factor=0.25, total_iters=5),
    "ExponentialLR": lambda m, o: m.ExponentialLR(o, gamma=0.9),
    "PolynomialLR": lambda m, o: m.PolynomialLR(o, total_iters=5, power=2.0),
    "CosineAnnealingLR": lambda m, o: m.CosineAnnealingLR(o, T_max=4, eta_min=1e-4),
    "CosineAnnealingWarmRestarts": lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=2,
                                                                              T_mult=2),
    "OneCycleLR": lambda m, o: m.OneCycleLR(o, max_lr=[0.02, 0.01], total_steps=10,
                                            cycle_momentum=cycles(o)),
    "CyclicLR": lambda m, o: m.CyclicLR(o, base_lr=1e-3, max_lr=1e-2, step_size_up=2,
                                        cycle_momentum=cycles(o)),
    "SequentialLR": lambda m, o: m.SequentialLR(
        o, [m.LinearLR(o, start_factor=0.5, total_iters=2), m.ExponentialLR(o, 0.8)],
        milestones=[2]),
    "ChainedScheduler": lambda m, o: m.ChainedScheduler([m.ExponentialLR(o, 0.9),
                                                         m.StepLR(o, 2, 0.5)]),
    "ReduceLROnPlateau": lambda m, o: m.ReduceLROnPlateau(o, factor=0.5, patience=0),
}


def timm_optimiser(module, name):
    """timm's optimiser class `name` from timm/optim/<module>.py, where timm is installed.
    timm's package imports its models, which need torchvision (not installed beside torch
    here: it would replace it); its optimisers need only torch, so timm.optim's modules are
    loaded without the package's __init__."""
    import pytest
    pytest.importorskip("torch")
    if "timm.optim" not in sys.modules:
        spec = importlib.util.find_spec("timm")
        if spec is None or not spec.submodule_search_locations:
            pytest.skip("timm is not installed (pip install --no-deps timm)")
        root = list(spec.submodule_search_locations)[0]
        for package, path in (("timm", root), ("timm.optim", f"{root}/optim")):
            stub = types.ModuleType(package)
            stub.__path__ = [path]
            stub.__spec__ = importlib.machinery.ModuleSpec(package, None, is_package=True)
            stub.__spec__.submodule_search_locations = [path]
            sys.modules[package] = stub
    return getattr(importlib.import_module(f"timm.optim.{module}"), name)
