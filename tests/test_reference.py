"""pywd.reference against the equations, written out per element on Python floats.

The reference is the oracle for every kernel, so it is itself checked here against docs/design.md's
decay table evaluated element by element in double precision (exact equality on float64:
both do the same operations in the same order), and against hand-computed values.
"""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers import array_lists, sgd_hypers
from pywd import reference


def sgd_equation(w, g, b, *, lr, momentum, dampening, nesterov, weight_decay, decay,
                 maximize, first_step, max_lr=None, cautious_decay=False):
    """One element of one SGD step, as docs/design.md's table writes it. Returns (w, b)."""
    wd = weight_decay
    ratio = 1.0 if max_lr is None else lr / max_lr    # "independent", "corrected": lr / max_lr
    if maximize:
        g = -g
    if decay == "l2" and wd:
        g = g + wd * w
    if momentum:
        b = g if first_step else momentum * b + (1 - dampening) * g
        u = g + momentum * b if nesterov else b
    else:
        u = g
    step = lr * u
    # cautious (Chen et al. 2025): no decay where the step moves w away from 0
    decays = wd and not (cautious_decay and step * w < 0)
    if decay == "decoupled" and decays:
        w = w * (1 - lr * wd)
    if decay == "independent" and decays:             # Wortsman et al. 2023
        w = w * (1 - wd * ratio)
    if decay == "corrected" and decays:               # AdamC, Defazio 2025: wd * lr^2 / max_lr
        w = w * (1 - wd * lr * ratio)
    w = w - step
    if decay == "l1" and wd:
        w = math.copysign(max(abs(w) - lr * wd, 0.0), w)
    return w, b


@given(array_lists(count=3, max_arrays=3), sgd_hypers())
def test_sgd_reference_is_the_equation(arrays, hyper):
    params, grads, bufs = (
        [np.asarray(a, dtype=np.float64) for a in lst] for lst in arrays)
    expected = [[sgd_equation(w, g, b, **hyper) for w, g, b in zip(p.flat, q.flat, r.flat)]
                for p, q, r in zip(params, grads, bufs)]
    reference.sgd(params, grads, bufs if hyper["momentum"] else None, **hyper)
    for p, r, exp in zip(params, bufs, expected):
        np.testing.assert_array_equal(p.ravel(), [w for w, _ in exp])
        if hyper["momentum"]:
            np.testing.assert_array_equal(r.ravel(), [b for _, b in exp])


@given(st.lists(st.floats(-10, 10), min_size=1, max_size=50),
       st.sampled_from(reference.DECAY_MODES),
       st.floats(0, 1), st.floats(0, 1))
def test_decay_reference_is_sgd_with_zero_gradient(values, decay, lr, wd):
    w = np.array(values)
    expected = [sgd_equation(x, 0.0, 0.0, lr=lr, momentum=0.0, dampening=0.0, nesterov=False,
                             weight_decay=wd, decay=decay, maximize=False, first_step=False)[0]
                for x in values]
    reference.decay(w, lr=lr, weight_decay=wd, decay=decay)
    # "l2" computes w - lr*(wd*w) rather than w - lr*(0 + wd*w): the same rounding
    np.testing.assert_array_equal(w, expected)


def test_hand_computed_momentum_steps():
    # torch.optim.SGD semantics: first step b = g, then b = m*b + (1-d)*g, w -= lr*b
    w, g, b = np.array([1.0]), np.array([0.5]), np.zeros(1)
    reference.sgd(w, g, b, lr=0.1, momentum=0.9, dampening=0.5, first_step=True)
    assert b[0] == 0.5 and w[0] == 1.0 - 0.05
    reference.sgd(w, g, b, lr=0.1, momentum=0.9, dampening=0.5)
    assert b[0] == pytest.approx(0.9 * 0.5 + 0.5 * 0.5, abs=1e-15)
    assert w[0] == pytest.approx(0.95 - 0.1 * 0.7, abs=1e-15)


def test_soft_threshold_gives_exact_zeros():
    w = np.array([-0.3, -0.1, 0.0, 0.05, 0.1, 0.25])
    out = reference.soft_threshold(w, 0.1)
    np.testing.assert_array_equal(out[1:5], 0.0)
    np.testing.assert_allclose(out[[0, 5]], [-0.2, 0.15], rtol=1e-15)


def test_unknown_decay_mode_is_refused():
    with pytest.raises(ValueError, match="decay must be one of"):
        reference.decay(np.ones(2), lr=0.1, weight_decay=0.1, decay="L2")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("sizes", [[0], [1], [15, 17], [8192 * 2 + 3, 5, 8191], [40_000]])
def test_global_norm_is_the_two_norm(dtype, sizes):
    """The blocked sum of squares against math.fsum (exactly rounded): a blocked float64 sum
    of n terms is within n*eps of it, far inside 1e-13 here. F order is summed as stored."""
    rng = np.random.default_rng(len(sizes))
    grads = [np.asfortranarray(rng.standard_normal((n, 1)) * 10.0 ** rng.uniform(-3, 3))
             .astype(dtype) for n in sizes]
    exact = math.sqrt(math.fsum(float(x) ** 2 for g in grads for x in g.ravel()))
    assert reference.global_norm(grads) == pytest.approx(exact, rel=1e-13, abs=0)


def test_global_norm_survives_float64_overflow_and_sees_nonfinite():
    assert reference.global_norm([np.full(4, 1e200)]) == pytest.approx(2e200, rel=1e-15)
    assert reference.global_norm([np.array([1.0, np.inf])]) == math.inf
    assert math.isnan(reference.global_norm([np.array([np.nan, 1.0]), np.ones(2)]))


def test_prepared_gradients_follow_torch_clip_and_unscale():
    """grad_scale divides, max_grad_norm multiplies by max/(norm + 1e-6) when that is < 1."""
    g = [np.array([3.0, 4.0]) * 8.0]
    w = [np.zeros(2)]
    applied, norm = reference.sgd(w, g, lr=1.0, grad_scale=8.0, max_grad_norm=1.0)
    assert applied and norm == 5.0
    np.testing.assert_allclose(w[0], -np.array([3.0, 4.0]) / (5.0 + 1e-6), rtol=1e-15)
