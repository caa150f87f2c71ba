"""Muon: the kernels and BLAS against the NumPy twin, the twin against the equations
(momentum, the orthogonalisation, the adjusted lr), the class, and (when torch is installed)
torch.optim.Muon with its Newton-Schulz step in float32 (float32 tolerance over 10 steps)
and stock (bfloat16 tolerance)."""
import contextlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pywd
from helpers import assert_all_match, copies, decays, make_array, saved, snapshot
from pywd import optim, reference

matrices = st.tuples(st.integers(1, 40), st.integers(1, 40))


@st.composite
def matrix_lists(draw, count=3):
    """`count` parallel lists of 2-D arrays of one dtype, each in C or F order."""
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    layout = draw(st.lists(st.tuples(matrices, st.sampled_from("CF")), min_size=1,
                           max_size=4))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return [[make_array(rng, shape, dtype, order) for shape, order in layout]
            for _ in range(count)]


@settings(deadline=None)
@given(matrix_lists(), decays(), st.booleans(), st.sampled_from([0.0, 0.5, 0.95]),
       st.sampled_from([None, "original", "match_rms_adamw"]), st.sampled_from([0, 1, 5]),
       st.booleans())
def test_muon_matches_reference(arrays, decay, nesterov, momentum, adjust_lr_fn, ns_steps,
                                maximize):
    ours, ref = copies(arrays), copies(arrays)
    hyper = dict(lr=0.02, momentum=momentum, nesterov=nesterov, adjust_lr_fn=adjust_lr_fn,
                 ns_steps=ns_steps, maximize=maximize, **decay)
    pywd.muon(*ours, **hyper)
    reference.muon(*ref, **hyper)
    assert_all_match(ours, ref)


def test_the_momentum_is_torchs_average_and_nesterov_looks_ahead():
    """b = momentum*b + (1 - momentum)*g (torch writes it as a lerp); the orthogonalised
    direction is then that of g + momentum*(b - g) with nesterov, of b without."""
    rng = np.random.default_rng(1)
    w, g, b = (rng.standard_normal((6, 4)) for _ in range(3))
    for nesterov in (True, False):
        buf, weights = b.copy(), w.copy()
        reference.muon(weights, g, buf, lr=0.1, weight_decay=0.0, momentum=0.9,
                       nesterov=nesterov)
        np.testing.assert_allclose(buf, 0.9 * b + 0.1 * g, rtol=1e-14)
        direction = g + 0.9 * (buf - g) if nesterov else buf
        o = reference.newton_schulz(direction)            # steps with lr sqrt(6/4)
        np.testing.assert_allclose(weights, w - 0.1 * np.sqrt(1.5) * o, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("shape", [(64, 32), (32, 64), (48, 48)])
def test_newton_schulz_makes_the_singular_values_about_one(shape):
    """Jordan et al.: five quintic steps from u/||u|| leave u's singular vectors and put its
    singular values near 1 (within about [0.5, 1.5], not exactly: the coefficients trade
    precision for speed), from a spread of 10 (a spread too wide for five steps leaves the
    smallest below: the slope at 0 is a = 3.4445 a step)."""
    rng = np.random.default_rng(2)
    k = min(shape)
    left = np.linalg.qr(rng.standard_normal((shape[0], k)))[0]
    right = np.linalg.qr(rng.standard_normal((shape[1], k)))[0]
    u = left @ np.diag(np.geomspace(0.1, 1.0, k)) @ right.T
    o = reference.newton_schulz(u)
    assert o.shape == shape and o.dtype == np.float32
    singular = np.linalg.svd(o.astype(np.float64), compute_uv=False)
    assert singular.min() > 0.5 and singular.max() < 1.5
    # the same singular vectors: o = U diag(s') V^T with u's U and V
    inner = left.T @ o @ right
    np.testing.assert_allclose(inner - np.diag(np.diag(inner)), 0, atol=2e-3)


@pytest.mark.parametrize("adjust_lr_fn, expected", [
    (None, 0.1 * np.sqrt(2)), ("original", 0.1 * np.sqrt(2)),
    ("match_rms_adamw", 0.1 * 0.2 * np.sqrt(64))])
def test_the_adjusted_lr_is_torchs(adjust_lr_fn, expected):
    assert reference.muon_lr(0.1, adjust_lr_fn, (64, 32)) == pytest.approx(expected, rel=1e-15)
    assert reference.muon_lr(0.1, None, (32, 64)) == 0.1           # wide: sqrt(max(1, 1/2))
    w, g = np.zeros((64, 32)), np.ones((64, 32))
    pywd.muon(w, g, np.zeros_like(w), lr=0.1, weight_decay=0.0, adjust_lr_fn=adjust_lr_fn,
              nesterov=False)
    o = reference.newton_schulz(0.05 * g)
    np.testing.assert_allclose(w, -expected * o, rtol=1e-6)


def test_decay_uses_the_unadjusted_lr():
    w = np.full((8, 2), 2.0)
    pywd.muon(w, np.zeros_like(w), np.zeros_like(w), lr=0.1, weight_decay=0.5, eps=1.0)
    # a zero gradient orthogonalises to 0 (0 / max(0, eps)): only the decay, by 1 - lr*wd,
    # although this tall matrix steps with lr * 2
    np.testing.assert_array_equal(w, 2.0 * (1 - 0.1 * 0.5))


@pytest.mark.parametrize("shape", [(3,), (2, 3, 4), ()])
def test_arrays_that_are_not_matrices_are_refused_naming_them(shape):
    params = [np.ones((2, 3)), np.ones(shape)]
    grads = [np.ones((2, 3)), np.ones(shape)]
    bufs = [np.zeros((2, 3)), np.zeros(shape)]
    before = snapshot(params + bufs)
    with pytest.raises(ValueError, match=r"^params\[1\]: Muon orthogonalises matrices: "
                                         r"expected a 2-D array, got shape"):
        pywd.muon(params, grads, bufs)
    assert snapshot(params + bufs) == before
    with pytest.raises(ValueError, match=r"parameter 1 of param group 0 has shape"):
        optim.Muon(params)


@pytest.mark.parametrize("kw, error, pattern", [
    (dict(ns_steps=100), ValueError, r"ns_steps must be a whole number in \[0, 100\)"),
    (dict(ns_steps=2.5), ValueError, r"ns_steps must be a whole number"),
    (dict(ns_steps=True), ValueError, r"ns_steps must be a whole number"),
    (dict(ns_coefficients=(1.0, 2.0)), TypeError, r"ns_coefficients must be a tuple of 3"),
    (dict(ns_coefficients=(1.0, np.nan, 2.0)), ValueError, r"ns_coefficients must be finite"),
    (dict(adjust_lr_fn="rms"), ValueError, r"adjust_lr_fn must be one of \(None, "),
    (dict(momentum=1.0), ValueError, r"momentum must be a finite number in \[0, 1\)"),
    (dict(eps=-1.0), ValueError, r"eps must be a finite number >= 0"),
])
def test_bad_hyper_parameters_are_refused_before_anything_changes(kw, error, pattern):
    w, g, b = np.ones((3, 2)), np.ones((3, 2)), np.zeros((3, 2))
    with pytest.raises(error, match=pattern):
        pywd.muon(w, g, b, **kw)
    assert (w == 1).all() and (b == 0).all()
    with pytest.raises(error, match=pattern):
        optim.Muon([w], **kw)


def test_the_class_equals_its_function_and_resumes_from_a_saved_state():
    rng = np.random.default_rng(3)
    params = [rng.standard_normal(s) for s in ((6, 4), (4, 9))]
    twin, resumed = [p.copy() for p in params], [p.copy() for p in params]
    opt = optim.Muon(params, lr=0.02, weight_decay=0.01, adjust_lr_fn="match_rms_adamw")
    bufs = [np.zeros_like(p) for p in params]
    grads_of = [[rng.standard_normal(p.shape) for p in params] for _ in range(4)]
    for step, grads in enumerate(grads_of):
        opt.step(grads)
        pywd.muon(twin, grads, bufs, lr=0.02, weight_decay=0.01,
                  adjust_lr_fn="match_rms_adamw")
        if step == 1:
            checkpoint, resumed = saved(opt), [p.copy() for p in params]
    assert snapshot(params) == snapshot(twin)
    other = optim.Muon(resumed)
    other.load_state_dict(checkpoint)
    assert other.param_groups[0]["adjust_lr_fn"] == "match_rms_adamw"
    for grads in grads_of[2:]:
        other.step(grads)
    assert snapshot(resumed) == snapshot(params)


def test_muon_for_matrices_and_adamw_for_the_rest():
    """README's pairing: the hidden matrices to Muon, biases and the like to AdamW."""
    rng = np.random.default_rng(4)
    params = {"w1": rng.standard_normal((16, 8)), "b1": np.zeros(16),
              "w2": rng.standard_normal((4, 16)), "b2": np.zeros(4)}
    matrices = [(n, p) for n, p in params.items() if p.ndim == 2]
    others = [(n, p) for n, p in params.items() if p.ndim != 2]
    opts = [optim.Muon(matrices, lr=0.02), optim.AdamW(others, lr=1e-3)]
    grads = {n: rng.standard_normal(p.shape) for n, p in params.items()}
    before = {n: p.copy() for n, p in params.items()}
    for opt in opts:
        opt.step({n: grads[n] for n in opt.param_groups[0]["param_names"]})
    assert all(not np.array_equal(before[n], p) for n, p in params.items())


def test_a_skipped_step_changes_nothing_and_options_match_the_reference():
    rng = np.random.default_rng(5)
    arrays = [[rng.standard_normal((5, 3)), rng.standard_normal((3, 3))] for _ in range(3)]
    arrays[2] = [np.abs(b) for b in arrays[2]]
    ours, ref = copies(arrays), copies(arrays)
    result = pywd.muon(*ours, grad_scale=4.0, max_grad_norm=0.5)
    applied, norm = reference.muon(*ref, grad_scale=4.0, max_grad_norm=0.5)
    assert result.applied and applied and result.grad_norm == norm
    assert_all_match(ours, ref)
    ours[1][0][0, 0] = np.nan
    before = snapshot(ours[0] + ours[2])
    assert not pywd.muon(*ours, nonfinite="skip")
    assert snapshot(ours[0] + ours[2]) == before


def test_bfloat16_params_equal_the_twin_around_the_float32_step():
    ml_dtypes = pytest.importorskip("ml_dtypes")
    bf16 = ml_dtypes.bfloat16
    rng = np.random.default_rng(6)
    shapes = [(9, 5), (4, 12)]
    arrays = {"params": [rng.standard_normal(s).astype(bf16) for s in shapes],
              "grads": [rng.standard_normal(s).astype(bf16) for s in shapes],
              "momentum_buffers": [rng.standard_normal(s).astype(bf16) for s in shapes]}
    twin = {k: [a.copy() for a in v] for k, v in arrays.items()}
    kw = dict(lr=0.02, weight_decay=0.1, rounding="nearest")
    pywd.muon(arrays["params"], arrays["grads"], arrays["momentum_buffers"], **kw)
    reference.lowp_step(
        lambda wide: reference.muon(wide["params"], wide["grads"], wide["momentum_buffers"],
                                    **{k: v for k, v in kw.items() if k != "rounding"}),
        twin, ["params", "momentum_buffers"], seed=0, step=1, rounding="nearest",
        slots={"params": 0, "grads": 1, "momentum_buffers": 2})
    for name in arrays:
        for a, b in zip(arrays[name], twin[name]):
            assert a.tobytes() == b.tobytes(), name


def test_kahan_sum_and_decay_to_in_the_class():
    ml_dtypes = pytest.importorskip("ml_dtypes")
    rng = np.random.default_rng(7)
    params = [rng.standard_normal((6, 4)).astype(ml_dtypes.bfloat16)]
    opt = optim.Muon(params, lr=0.02, kahan_sum=True, decay_to="init", rng=1)
    for _ in range(3):
        assert opt.step([rng.standard_normal((6, 4)).astype(ml_dtypes.bfloat16)]).applied
    assert {"compensation", "decay_to", "momentum_buffer"} <= set(opt.state[0])
    assert np.isfinite(params[0].astype(np.float32)).all()


# ------------------------------------------------------------------------------ torch
def _ns_float32(torch):
    """torch's _zeropower_via_newtonschulz with its one bfloat16 conversion made float32."""
    def zeropower(grad, ns_coefficients, ns_steps, eps):
        a, b, c = ns_coefficients
        x = grad.float()
        if grad.size(0) > grad.size(1):
            x = x.T
        x = x.div(x.norm().clamp(min=eps))
        for _ in range(ns_steps):
            gram = x @ x.T
            x = torch.addmm(x, torch.addmm(gram, gram, gram, beta=b, alpha=c), x, beta=a)
        return x.T if grad.size(0) > grad.size(1) else x
    return zeropower


def _race_torch(dtype, options, seed, float32_ns, steps=10):
    torch = pytest.importorskip("torch")
    from torch.optim import _muon
    rng = np.random.default_rng(seed)
    ours = [rng.standard_normal(s).astype(dtype) for s in ((24, 8), (8, 20), (12, 12))]
    start = [p.copy() for p in ours]
    theirs = [torch.tensor(p.copy(), requires_grad=True) for p in ours]
    opt_ours = optim.Muon(ours, **options)
    opt_theirs = torch.optim.Muon(theirs, **options)
    patch = (contextlib.nullcontext() if not float32_ns else
             pytest.MonkeyPatch.context())
    with patch as mp:
        if float32_ns:
            mp.setattr(_muon, "_zeropower_via_newtonschulz", _ns_float32(torch))
        for _ in range(steps):
            grads = [rng.standard_normal(p.shape).astype(dtype) for p in ours]
            for t, g in zip(theirs, grads):
                t.grad = torch.from_numpy(g.copy())
            opt_theirs.step()
            opt_ours.step(grads)
    return ours, [t.detach().numpy() for t in theirs], start


muon_options = st.fixed_dictionaries(dict(
    lr=st.sampled_from([0.02, 0.1]), weight_decay=st.sampled_from([0.0, 0.1]),
    momentum=st.sampled_from([0.95, 0.5]), nesterov=st.booleans(),
    adjust_lr_fn=st.sampled_from([None, "original", "match_rms_adamw"]),
    ns_steps=st.sampled_from([5, 3])))


@settings(max_examples=15, deadline=None)
@given(st.sampled_from([np.float32, np.float64]), muon_options, st.integers(0, 100))
def test_muon_equals_torch_with_its_newton_schulz_in_float32(dtype, options, seed):
    """float32 tolerance (2e-6 of the largest weight) after 10 steps, for float32 and
    float64 params alike: the orthogonalisation is float32 in both."""
    ours, theirs, _ = _race_torch(dtype, options, seed, float32_ns=True)
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(p, t, rtol=0, atol=2e-6 * np.abs(t).max())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_muon_is_within_bfloat16_of_stock_torch(dtype):
    """Stock torch orthogonalises in bfloat16 (8 bits of mantissa): after 10 steps each
    matrix's displacement from its start is within 3% of torch's (bfloat16's relative
    precision, 2**-8 = 0.4%, grown through five iterations and ten steps)."""
    ours, theirs, start = _race_torch(dtype, dict(lr=0.02), 8, float32_ns=False)
    for p, t, s in zip(ours, theirs, start):
        moved = np.abs(t - s).max()
        assert np.abs(p - t).max() <= 0.03 * moved
        assert np.abs(p - t).max() > 0            # (bfloat16 does differ)


def test_a_torch_muon_state_dict_loads():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(9)
    weights = rng.standard_normal((6, 4)).astype(np.float32)
    theirs = [torch.tensor(weights.copy(), requires_grad=True)]
    opt_theirs = torch.optim.Muon(theirs, lr=0.05, adjust_lr_fn="match_rms_adamw")
    theirs[0].grad = torch.ones(6, 4)
    opt_theirs.step()
    ours = optim.Muon([theirs[0].detach().numpy().copy()])
    ours.load_state_dict(opt_theirs.state_dict())
    assert ours.param_groups[0]["lr"] == 0.05
    assert ours.param_groups[0]["adjust_lr_fn"] == "match_rms_adamw"
    np.testing.assert_array_equal(ours.state[0]["momentum_buffer"],
                                  opt_theirs.state[theirs[0]]["momentum_buffer"].numpy())
