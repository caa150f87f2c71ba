"""Adafactor: the kernels against the NumPy twin (hypothesis over shapes, memory orders,
dtypes, hyper-parameters, decay modes, lists mixing factored and unfactored params, thread
counts), the twin against the equations, bad input, the class, and (when torch is installed)
torch.optim.Adafactor step for step.

Tolerance against the twin: the kernel sums the means and norms in float64 in blocks of its
own, the twin with NumPy's pairwise sums, so a rounded mean or step size may differ in its
last bit. The factors and variances are compared within 2 ulp (float32) or 1e-12 relative
(float64); the weights within 4 ulp (float32) or 1e-12 (float64) of the tensor's largest
weight, as a step size one ulp off moves every element by one ulp of its update."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pywd
from helpers import (assert_matches, assert_matches_at_scale, assert_same_at_thread_counts,
                     decays, make_array, saved, snapshot)
from pywd import optim, reference

SHAPES = st.one_of(
    st.sampled_from([(), (0,), (1,), (3, 0), (0, 4, 2)]),
    st.tuples(st.integers(1, 40)),
    st.tuples(st.integers(1, 12), st.integers(1, 13)),
    st.tuples(st.integers(1, 4), st.integers(1, 5), st.integers(1, 6)),
    st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 4), st.integers(1, 4)),
)
# big enough for a team of threads: a matrix cut into row blocks, many small matrices
# grouped into blocks, a long vector
BIG_SHAPES = st.sampled_from([(70, 600), (40, 1100), (3000, 3, 4), (9000, 5, 1, 1),
                              (70_001,)])


def state_for(shape, dtype, rng=None):
    """(row_var, col_var, variance) for a param of `shape`, zeros or (rng) positive."""
    def make(s):
        return np.zeros(s, dtype) if rng is None else \
            np.array(np.abs(rng.standard_normal(s)), dtype)
    if len(shape) >= 2:
        rows, cols = list(shape), list(shape)
        rows[-1], cols[-2] = 1, 1
        return make(tuple(rows)), make(tuple(cols)), None
    return None, None, make(shape)


@st.composite
def adafactor_lists(draw, big=False):
    """params, grads, row_vars, col_vars, variances (lists with None where a param has no
    such state) of one dtype; 2-D params in C or F order."""
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    layout = draw(st.lists(SHAPES, min_size=1, max_size=4))
    if big:
        layout.append(draw(BIG_SHAPES))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    params, grads, rows, cols, variances = [], [], [], [], []
    for shape in layout:
        order = draw(st.sampled_from("CF")) if len(shape) == 2 else "C"
        params.append(make_array(rng, shape, dtype, order))
        grads.append(make_array(rng, shape, dtype, order))
        row, col, var = state_for(shape, dtype, rng if draw(st.booleans()) else None)
        rows.append(row)
        cols.append(col)
        variances.append(var)
    return [params, grads, rows, cols, variances]


def copied(lists):
    return [[None if a is None else a.copy(order="K") for a in lst] for lst in lists]


def assert_close_to_twin(ours, ref):
    for k, (xs, ys) in enumerate(zip(ours, ref)):
        for a, b in zip(xs, ys):
            if a is None:
                assert b is None
            elif k == 0:                               # weights: see the module docstring
                assert_matches_at_scale(a, b)
            else:
                assert_matches(a, b)


@st.composite
def adafactor_hypers(draw):
    return dict(step=draw(st.sampled_from([1, 2, 7, 1000])),
                lr=draw(st.sampled_from([0.0, 1e-3, 0.05, 0.5])),
                beta2_decay=draw(st.sampled_from([-0.8, 0.0, -0.3])),
                eps=draw(st.sampled_from([(None, 1e-3), (1e-30, 1e-3), (1e-3, 0.0)])),
                d=draw(st.sampled_from([1.0, 2.5])),
                maximize=draw(st.booleans()), **draw(decays()))


@settings(deadline=None)
@given(st.one_of(adafactor_lists(), adafactor_lists(big=True)), adafactor_hypers(),
       st.booleans())
def test_adafactor_matches_reference(arrays, hyper, anchored):
    ours, ref = copied(arrays), copied(arrays)
    anchors = copied(arrays[:1])[0] if anchored else None
    for anchor in anchors or ():
        anchor *= 0.5
    pywd.adafactor(*ours, decay_to=anchors, **hyper)
    reference.adafactor(*ref, decay_to=anchors, **hyper)
    assert_close_to_twin(ours, ref)


@settings(deadline=None, max_examples=20)
@given(adafactor_lists(big=True), adafactor_hypers())
def test_the_result_does_not_depend_on_the_thread_count(arrays, hyper):
    def run():
        mine = copied(arrays)
        pywd.adafactor(*mine, **hyper)
        return [[None if a is None else a.tobytes() for a in lst] for lst in mine]
    assert_same_at_thread_counts(run)


def test_the_twin_follows_the_equations():
    """One step on a 2x3 matrix and a vector, written out: the factors, v, u, the RMS clip
    and alpha from the weights' RMS."""
    w = np.array([[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]])
    g = np.array([[0.5, 1.0, -2.0], [3.0, 0.0, 1.0]])
    row, col = np.full((2, 1), 0.25), np.full((1, 3), 0.5)
    t, lr, d, eps2 = 4, 0.3, 1.5, 1e-3
    weight = t ** -0.8
    new_row = row + weight * ((g ** 2).mean(1, keepdims=True) - row)
    new_col = col + weight * ((g ** 2).mean(0, keepdims=True) - col)
    v = new_row * new_col / new_row.mean()
    u = g / np.sqrt(v)
    alpha = max(eps2, np.sqrt((w ** 2).mean())) * min(lr, 1 / np.sqrt(t))
    expected = w * (1 - lr * 0.1) - alpha / max(1, np.sqrt((u ** 2).mean()) / d) * u
    weights, rows, cols = w.copy(), row.copy(), col.copy()
    reference.adafactor([weights], [g], [rows], [cols], None, step=t, lr=lr, d=d,
                        weight_decay=0.1)
    np.testing.assert_allclose(rows, new_row, rtol=1e-15)
    np.testing.assert_allclose(cols, new_col, rtol=1e-15)
    np.testing.assert_allclose(weights, expected, rtol=1e-14)
    vec, gv, var = np.array([2.0, -1.0]), np.array([1e-3, 4.0]), np.zeros(2)
    new_var = (gv ** 2) * 1.0                     # step 1: the weight is 1, lerp to g^2
    uv = gv / np.sqrt(new_var)
    alpha = max(eps2, np.sqrt((vec ** 2).mean())) * min(0.01, 1.0)
    expected = vec - alpha / max(1, np.sqrt((uv ** 2).mean())) * uv
    reference.adafactor(vec, gv, None, None, var, step=1)
    np.testing.assert_allclose(var, new_var, rtol=1e-15)
    np.testing.assert_allclose(vec, expected, rtol=1e-14)


def test_eps1_defaults_to_the_machine_epsilon_of_the_dtype():
    """eps1 None floors v at finfo(dtype).eps**2: a zero gradient gives u = 0."""
    for dtype in (np.float32, np.float64):
        w = np.ones((3, 4), dtype)
        g = np.zeros((3, 4), dtype)
        g[0, 0] = 1e-30
        ours, ref = state_for((3, 4), dtype), state_for((3, 4), dtype)
        wo, wr = w.copy(), w.copy()
        pywd.adafactor(wo, g, *ours, step=1)
        reference.adafactor(wr, g, *ref, step=1)
        np.testing.assert_array_equal(wo, wr)
        eps = np.finfo(dtype).eps
        np.testing.assert_allclose(wo[0, 0], 1 - 0.01 * 1e-30 / eps, rtol=1e-6)


def test_a_parameter_without_elements_is_left_as_it_is():
    p, g = np.zeros((0, 3)), np.zeros((0, 3))
    row, col, _ = state_for((0, 3), np.float64, np.random.default_rng(0))
    before = col.copy()
    assert pywd.adafactor(p, g, row, col, None, step=1)
    np.testing.assert_array_equal(col, before)


def bad_inputs():
    rng = np.random.default_rng(3)
    w, g = rng.standard_normal((4, 5)), rng.standard_normal((4, 5))
    row, col, _ = state_for((4, 5), np.float64)
    v, gv = rng.standard_normal(6), rng.standard_normal(6)
    var = np.zeros(6)
    ok = dict(params=[w, v], grads=[g, gv], row_vars=[row, None], col_vars=[col, None],
              variances=[None, var])
    cube = np.asfortranarray(rng.standard_normal((2, 3, 4)))
    cases = [
        (dict(row_vars=[None, None]), ValueError, "row_vars[0] is None"),
        (dict(variances=[np.zeros((4, 5)), var]), ValueError, "variances[0] is given"),
        (dict(row_vars=[np.zeros((4, 5)), None]), ValueError, "expected (4, 1)"),
        (dict(col_vars=[np.zeros((4, 1)), None]), ValueError, "expected (1, 5)"),
        (dict(row_vars=[row, np.zeros((6, 1))]), ValueError, "factors are for 2 or more"),
        (dict(col_vars=[w[:1, :], None]), ValueError, "overlap"),
        (dict(grads=[g, gv[:5]]), ValueError, "shape"),
        (dict(params=[cube, v], grads=[cube.copy(order="F"), gv],
              row_vars=[np.zeros((2, 3, 1)), None], col_vars=[np.zeros((2, 1, 4)), None]),
         ValueError, "must be C-contiguous"),
        (dict(beta2_decay=0.5), ValueError, "beta2_decay"),
        (dict(eps=(1e-30,)), TypeError, "eps"),
        (dict(eps=(-1.0, 1e-3)), ValueError, "eps[0]"),
        (dict(d=0.5), ValueError, "d must be"),
        (dict(lr=-1.0), ValueError, "lr"),
        (dict(step=0), ValueError, "step"),
    ]
    return ok, cases


@pytest.mark.parametrize("index", range(len(bad_inputs()[1])))
def test_bad_input_is_refused_before_anything_changes(index):
    ok, cases = bad_inputs()
    change, error, words = cases[index]
    args = {**ok, **change}
    hyper = {k: args.pop(k) for k in list(args) if k not in ok}
    hyper.setdefault("step", 1)
    arrays = [a for lst in args.values() for a in lst if a is not None]
    before = snapshot(arrays)
    with pytest.raises(error, match=__import__("re").escape(words)):
        pywd.adafactor(args["params"], args["grads"], args["row_vars"], args["col_vars"],
                       args["variances"], **hyper)
    assert snapshot(arrays) == before


def test_16bit_params_are_refused_naming_them():
    ml_dtypes = pytest.importorskip("ml_dtypes")
    w = np.zeros((2, 3), ml_dtypes.bfloat16)
    with pytest.raises(TypeError, match=r"params\[0\].*16-bit storage is not supported"):
        pywd.adafactor([w], [w.copy()], [None], [None], [None], step=1)
    with pytest.raises(TypeError, match="16-bit storage is not supported"):
        optim.Adafactor([np.zeros(3, np.float16)])


# ---------------------------------------------------------------- the class
def model(dtype=np.float64):
    rng = np.random.default_rng(0)
    shapes = [(5, 7), (3, 4, 6), (9,), (), (2, 1)]
    params = [rng.standard_normal(s).astype(dtype) for s in shapes]
    params[0] = np.asfortranarray(params[0])
    return params


def grads_like(params, rng):
    """Normal gradients in each param's dtype and memory order."""
    return [np.array(rng.standard_normal(p.shape), p.dtype,
                     order="C" if p.flags.c_contiguous else "F") for p in params]


def steps(opt, params, count, seed=1):
    rng = np.random.default_rng(seed)
    for _ in range(count):
        opt.step(grads_like(params, rng))


def test_the_class_keeps_torchs_state_shapes_and_equals_the_function():
    params = model()
    mine = [p.copy(order="K") for p in params]
    opt = optim.Adafactor(params, lr=0.05, weight_decay=0.1)
    steps(opt, params, 3)
    assert sorted(opt.state[0]) == ["col_var", "row_var", "step"]
    assert opt.state[0]["row_var"].shape == (5, 1)
    assert opt.state[1]["col_var"].shape == (3, 1, 6)
    assert sorted(opt.state[2]) == ["step", "variance"] and opt.state[3]["variance"].shape == ()
    assert opt.state[0]["step"] == 3
    states = [state_for(p.shape, p.dtype) for p in mine]
    rng = np.random.default_rng(1)
    for t in range(1, 4):
        pywd.adafactor(mine, grads_like(mine, rng), *[list(s) for s in zip(*states)], step=t, lr=0.05,
                       weight_decay=0.1)
    for a, b in zip(params, mine):
        np.testing.assert_array_equal(a, b)


def test_state_dict_round_trips_through_npz_and_recreates_deleted_state():
    params = model()
    opt = optim.Adafactor(params, eps=(None, 1e-2))
    steps(opt, params, 2)
    twin = [p.copy(order="K") for p in params]
    other = optim.Adafactor(twin, eps=(None, 1e-2))
    other.load_state_dict(saved(opt))
    assert other.param_groups[0]["eps"] == (None, 1e-2)
    steps(opt, params, 2, seed=5)
    steps(other, twin, 2, seed=5)
    for a, b in zip(params, twin):
        np.testing.assert_array_equal(a, b)
    del opt.state[0]["row_var"]
    steps(opt, params, 1)
    assert opt.state[0]["row_var"].shape == (5, 1)
    bad = dict(saved(opt))
    bad["state/2/row_var"] = np.zeros((9, 1))
    with pytest.raises(ValueError, match="has no 'row_var'"):
        other.load_state_dict(bad)


def test_a_f_ordered_cube_is_refused_when_the_group_is_added():
    with pytest.raises(ValueError, match="must be C-contiguous"):
        optim.Adafactor([np.asfortranarray(np.zeros((2, 3, 4)))])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_class_equals_torch_step_for_step(dtype):
    """20 steps with decay and a mixed model (a 2-D F-ordered matrix, a 3-D tensor, vectors,
    a scalar): float64 within 1e-12, float32 within 1e-6 of the largest weight; torch's
    state_dict then loads."""
    torch = pytest.importorskip("torch")
    ours = model(dtype)
    theirs = [torch.tensor(np.array(p, order="C"), requires_grad=True) for p in ours]
    opt = optim.Adafactor(ours, lr=0.05, weight_decay=0.1, maximize=True)
    reference_opt = torch.optim.Adafactor(theirs, lr=0.05, weight_decay=0.1, maximize=True)
    rng = np.random.default_rng(2)
    for _ in range(20):
        grads = [rng.standard_normal(p.shape).astype(dtype) for p in ours]
        for t, g in zip(theirs, grads):
            t.grad = torch.from_numpy(g.copy())
        reference_opt.step()
        opt.step([np.asfortranarray(g) if not p.flags.c_contiguous else g
                  for p, g in zip(ours, grads)])
    tol = 1e-12 if dtype == np.float64 else 1e-6
    for p, t in zip(ours, theirs):
        expected = t.detach().numpy()
        np.testing.assert_allclose(p, expected, rtol=tol, atol=tol * np.abs(expected).max())
    loaded = optim.Adafactor(model(dtype), lr=0.05, weight_decay=0.1, maximize=True)
    loaded.load_state_dict(reference_opt.state_dict())
    assert loaded.state[1]["step"] == 20
    np.testing.assert_allclose(loaded.state[1]["col_var"], opt.state[1]["col_var"],
                               rtol=1e-5)


# ---------------------------------------------------------------- the bad-input battery
# test_battery.py's bad arrays and values, for Adafactor's arguments (its state is not
# shaped like its params, so it has its own lists): three (4, 5) matrices per list
from test_battery import BAD_ARRAYS, BAD_BOOLS, BAD_REALS, WRITTEN_ONLY  # noqa: E402

ARGS = [("params", True), ("grads", False), ("row_vars", True), ("col_vars", True)]


def battery_lists():
    rng = np.random.default_rng(0)
    params, grads = ([np.array(np.abs(rng.standard_normal((4, 5))), np.float32)
                      for _ in range(3)] for _ in range(2))
    return [params, grads, [np.zeros((4, 1), np.float32) for _ in range(3)],
            [np.zeros((1, 5), np.float32) for _ in range(3)]]


def battery_cases():
    for k, (arg, written) in enumerate(ARGS):
        for name, make, error, message in BAD_ARRAYS + (WRITTEN_ONLY if written else []):
            if k == 0 and name in ("wrong-shape", "zero-d", "empty", "transposed-order"):
                continue                  # params set the shapes
            if k >= 2 and name in ("strided", "transposed-order"):
                continue                  # a (4, 1) or (1, 5) array is C- and F-contiguous
            if k == 0 and name == "float16":
                message = "16-bit storage is not supported"
            yield pytest.param(k, arg, make, error, message, id=f"{arg}-{name}")


@pytest.mark.parametrize("k, arg, make, error, message", list(battery_cases()))
def test_every_bad_array_is_refused_naming_it(k, arg, make, error, message):
    arrays = battery_lists()
    arrays[k][-1] = make(arrays[k][-1])
    before = [snapshot(lst) for lst in arrays]
    with pytest.raises(error, match=rf"^{arg}\[2\]: .*{message}"):
        pywd.adafactor(*arrays, None, step=2)
    assert [snapshot(lst) for lst in arrays] == before


def hyper_battery():
    for hyper in ("lr", "weight_decay", "grad_scale", "d", "beta2_decay"):
        for value, error in BAD_REALS:
            if hyper == "beta2_decay" and isinstance(value, float) and value == -1.0:
                value, error = 0.5, ValueError          # <= 0 is its range
            yield pytest.param(hyper, value, error, id=f"{hyper}-{value!r}")
    for value, error in BAD_BOOLS:
        yield pytest.param("maximize", value, error, id=f"maximize-{value!r}")


@pytest.mark.parametrize("hyper, value, error", list(hyper_battery()))
def test_every_bad_hyper_parameter_is_refused(hyper, value, error):
    arrays = battery_lists()
    before = [snapshot(lst) for lst in arrays]
    with pytest.raises(error, match=rf"^{hyper} must be"):
        pywd.adafactor(*arrays, None, step=2, **{hyper: value})
    assert [snapshot(lst) for lst in arrays] == before
