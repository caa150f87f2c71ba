"""pywd.sgd against pywd.reference.sgd, and the maths of weight decay versus L2."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import pywd
from helpers import (DTYPES, array_lists, assert_matches, copies, make_array, sgd_hypers,
                     small_or_threaded)
from pywd import reference


def run_both(arrays, hyper):
    """The kernel and the reference on copies of the same arrays: (kernel, reference)."""
    out = []
    for fn in (pywd.sgd, reference.sgd):
        params, grads, bufs = copies(arrays)
        fn(params, grads, bufs if hyper["momentum"] else None, **hyper)
        out.append((params, bufs))
    return out


@given(small_or_threaded(3), sgd_hypers())
def test_sgd_matches_reference(arrays, hyper):
    (params, bufs), (ref_params, ref_bufs) = run_both(arrays, hyper)
    for a, b in zip(params + bufs, ref_params + ref_bufs):
        assert_matches(a, b)


@given(array_lists(count=3, min_arrays=2, max_arrays=6, big=True), sgd_hypers())
def test_list_call_equals_per_array_calls_bit_for_bit(arrays, hyper):
    together = copies(arrays)
    pywd.sgd(*together, **hyper)
    for i, (w, g, b) in enumerate(zip(*copies(arrays))):
        pywd.sgd(w, g, b, **hyper)
        assert w.tobytes() == together[0][i].tobytes()
        assert b.tobytes() == together[2][i].tobytes()


def test_single_array_and_tuple_forms_are_accepted():
    w, g = np.ones(5), np.full(5, 2.0)
    pywd.sgd(w, g, lr=0.25)
    np.testing.assert_array_equal(w, 0.5)
    pywd.sgd((w,), (g,), lr=0.25)
    np.testing.assert_array_equal(w, 0.0)
    assert pywd.sgd([], [], lr=0.1).applied


@pytest.mark.parametrize("dtype", DTYPES)
@given(seed=st.integers(0, 2**32 - 1), lr=st.floats(1e-4, 1.0), wd=st.floats(1e-4, 1.0))
def test_plain_sgd_l2_and_decoupled_are_the_same_step(dtype, seed, lr, wd):
    # w - lr*(g + wd*w) == w*(1 - lr*wd) - lr*g: for plain SGD, L2 *is* weight decay
    rng = np.random.default_rng(seed)
    w, g = make_array(rng, 257, dtype), make_array(rng, 257, dtype)
    l2, decoupled = w.copy(), w.copy()
    pywd.sgd(l2, g, lr=lr, weight_decay=wd, decay="l2")
    pywd.sgd(decoupled, g, lr=lr, weight_decay=wd, decay="decoupled")
    eps = np.finfo(dtype).eps
    scale = np.abs(w) + lr * np.abs(g) + lr * wd * np.abs(w)   # what rounding errors scale with
    assert np.all(np.abs(l2 - decoupled) <= 4 * eps * scale)


def test_with_momentum_l2_and_decoupled_differ():
    # w0 = 1, g = 0, lr = 0.1, wd = 0.1, momentum = 0.9. Decoupled decay shrinks w by 0.99 a
    # step and never enters the buffer. L2's wd*w enters the buffer and keeps acting through
    # it: b1 = 0.1, w1 = 0.99; b2 = 0.9*0.1 + 0.099 = 0.189, w2 = 0.99 - 0.0189 = 0.9711.
    l2, dec = np.ones(1), np.ones(1)
    b_l2, b_dec = np.zeros(1), np.zeros(1)
    zero = np.zeros(1)
    for first in (True, False):
        pywd.sgd(l2, zero, b_l2, lr=0.1, momentum=0.9, weight_decay=0.1, decay="l2",
                 first_step=first)
        pywd.sgd(dec, zero, b_dec, lr=0.1, momentum=0.9, weight_decay=0.1,
                 decay="decoupled", first_step=first)
    assert l2[0] == pytest.approx(0.9711, abs=1e-14)
    assert dec[0] == pytest.approx(0.99 ** 2, abs=1e-14)
    assert b_dec[0] == 0.0 and b_l2[0] == pytest.approx(0.189, abs=1e-14)


@pytest.mark.parametrize("dtype", DTYPES)
@given(seed=st.integers(0, 2**32 - 1), lr=st.floats(1e-3, 1.0), wd=st.floats(1e-3, 1.0))
def test_l1_gives_exact_zeros_inside_the_threshold(dtype, seed, lr, wd):
    rng = np.random.default_rng(seed)
    w, g = make_array(rng, 300, dtype, scale=0.5), make_array(rng, 300, dtype, scale=0.5)
    moved = (w - dtype(lr) * g).astype(dtype)     # w' = w - lr*u, in the kernel's rounding
    threshold = dtype(lr * wd)
    pywd.sgd(w, g, lr=lr, weight_decay=wd, decay="l1")
    inside = np.abs(moved) <= threshold
    assert np.all(w[inside] == 0.0)
    np.testing.assert_array_equal(np.abs(w[~inside]), np.abs(moved[~inside]) - threshold)
    np.testing.assert_array_equal(np.sign(w[~inside]), np.sign(moved[~inside]))


@pytest.mark.parametrize("dtype", DTYPES)
def test_independent_decay_ignores_lr(dtype):
    rng = np.random.default_rng(5)
    w, g = make_array(rng, 100, dtype), make_array(rng, 100, dtype)
    for lr in (0.0, 0.01, 0.5):
        out = w.copy()
        pywd.sgd(out, g, lr=lr, weight_decay=0.1, decay="independent")
        expected = w * dtype(0.9) - dtype(lr) * g
        np.testing.assert_array_equal(out, expected)
        bare = w.copy()
        pywd.decay(bare, lr=lr, weight_decay=0.1, decay="independent")
        np.testing.assert_array_equal(bare, w * dtype(0.9))


def test_zero_weight_decay_leaves_every_mode_identical():
    rng = np.random.default_rng(1)
    w, g = make_array(rng, 99, np.float32), make_array(rng, 99, np.float32)
    outs = []
    for mode in ("l2", "decoupled", "independent", "l1"):
        out = w.copy()
        pywd.sgd(out, g, lr=0.1, weight_decay=0.0, decay=mode)
        outs.append(out.tobytes())
    assert len(set(outs)) == 1


def test_first_step_sets_the_buffer_to_the_gradient():
    w, g, b = np.ones(3), np.array([1.0, -2.0, 3.0]), np.full(3, 123.0)
    pywd.sgd(w, g, b, lr=0.1, momentum=0.9, dampening=0.5, first_step=True)
    np.testing.assert_array_equal(b, g)          # torch: buf = clone(grad), no dampening
    np.testing.assert_allclose(w, 1 - 0.1 * g, rtol=1e-15)


def test_maximize_ascends():
    w, g = np.zeros(4), np.ones(4)
    pywd.sgd(w, g, lr=0.5, maximize=True)
    np.testing.assert_array_equal(w, 0.5)


def test_non_finite_values_propagate():
    # torch's behaviour: a NaN or inf gradient reaches the weight (no silent masking)
    w = np.ones(4, np.float32)
    g = np.array([np.nan, np.inf, -np.inf, 1.0], np.float32)
    for mode in ("l2", "decoupled", "l1"):
        out = w.copy()
        pywd.sgd(out, g, lr=0.1, weight_decay=0.1, decay=mode)
        assert np.isnan(out[0]) and out[1] == -np.inf and out[2] == np.inf and np.isfinite(out[3])
