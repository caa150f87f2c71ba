"""pywd.adam / pywd.adamw against the reference, and Loshchilov & Hutter's point as tests."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import pywd
from helpers import (DTYPES, array_lists, assert_all_match, copies,
                     decays, nonnegative, small_or_threaded)
from pywd import reference


@st.composite
def adam_hypers(draw):
    return dict(step=draw(st.sampled_from([1, 2, 10, 1000])),
                lr=draw(st.sampled_from([0.0, 1e-3, 0.1])),
                beta1=draw(st.sampled_from([0.0, 0.5, 0.9])),
                beta2=draw(st.sampled_from([0.0, 0.9, 0.999])),
                eps=draw(st.sampled_from([0.0, 1e-8, 1e-3])),
                amsgrad=draw(st.booleans()), maximize=draw(st.booleans()), **draw(decays()))


def run_adam(fn, lists, hyper):
    params, grads, m, v, vmax = lists
    fn(params, grads, m, v, max_exp_avg_sqs=vmax if hyper["amsgrad"] else None, **hyper)


def adam_state(arrays):
    params, grads, m, v, vmax = arrays
    return [params, grads, m, *nonnegative([v, vmax])]


@given(small_or_threaded(5), adam_hypers())
def test_adam_matches_reference(arrays, hyper):
    arrays = adam_state(arrays)
    ours, ref = copies(arrays), copies(arrays)
    run_adam(pywd.adam, ours, hyper)
    run_adam(reference.adam, ref, hyper)
    assert_all_match(ours, ref)


@given(array_lists(count=5, min_arrays=2, max_arrays=5, big=True), adam_hypers())
def test_adam_list_call_equals_per_array_calls_bit_for_bit(arrays, hyper):
    arrays = adam_state(arrays)
    together = copies(arrays)
    run_adam(pywd.adam, together, hyper)
    for i, one in enumerate(zip(*copies(arrays))):
        run_adam(pywd.adam, [[a] for a in one], hyper)
        for k in (0, 2, 3, 4):
            assert one[k].tobytes() == together[k][i].tobytes()


def test_adamw_is_adam_with_decoupled_decay_by_default():
    rng = np.random.default_rng(0)
    w, g = rng.standard_normal(100), rng.standard_normal(100)
    a, b = [w.copy(), g, np.zeros(100), np.zeros(100)], [w.copy(), g, np.zeros(100), np.zeros(100)]
    pywd.adamw(*a, step=1, lr=0.01)
    pywd.adam(*b, step=1, lr=0.01, weight_decay=0.01, decay="decoupled")
    assert a[0].tobytes() == b[0].tobytes()


@pytest.mark.parametrize("dtype", DTYPES)
def test_first_bias_corrected_step_has_magnitude_lr(dtype):
    # step 1: m = (1-b1) g, v = (1-b2) g^2, so m/(1-b1) / sqrt(v/(1-b2)) = sign(g):
    # every weight moves by lr (up to eps), whatever the gradient's scale.
    rng = np.random.default_rng(1)
    g = (rng.standard_normal(1000) * 10.0 ** rng.integers(-3, 4, 1000)).astype(dtype)
    w = np.zeros(1000, dtype)
    pywd.adam(w, g, np.zeros_like(w), np.zeros_like(w), step=1, lr=0.01, eps=0.0)
    np.testing.assert_allclose(w, -0.01 * np.sign(g), rtol=8 * np.finfo(dtype).eps)


def effective_decay_rate(decay, lr=1e-3, wd=0.1, steps=200):
    """Trains three weights of 1 with Adam on gradient noise of scale 1e-3, 1 and 1e3, then
    measures, for one more step, how much the decay term shrank each weight, per unit of lr
    and weight: (step without decay - step with decay) / (lr * w)."""
    rng = np.random.default_rng(2)
    noise = rng.standard_normal((steps + 1, 3)) * np.array([1e-3, 1.0, 1e3])
    w, m, v = np.ones(3), np.zeros(3), np.zeros(3)
    for t in range(steps):
        pywd.adam(w, noise[t], m, v, step=t + 1, lr=lr, weight_decay=wd, decay=decay)
    results = []
    for weight_decay in (0.0, wd):
        w1, m1, v1 = w.copy(), m.copy(), v.copy()
        pywd.adam(w1, noise[steps], m1, v1, step=steps + 1, lr=lr, weight_decay=weight_decay,
                  decay=decay)
        results.append(w1)
    return (results[0] - results[1]) / (lr * w)


def test_decoupled_decay_shrinks_every_weight_alike_l2_spares_noisy_ones():
    # Loshchilov & Hutter: under Adam, L2's wd*w is divided by the gradient's RMS, so weights
    # whose gradients vary a lot are barely decayed; decoupled decay shrinks every weight by
    # the same factor (1 - lr*wd) per step whatever its gradient history.
    decoupled = effective_decay_rate("decoupled")
    np.testing.assert_allclose(decoupled, 0.1, rtol=1e-6)
    l2 = effective_decay_rate("l2")       # measured: about [0.11, 0.0098, 1e-5]
    assert l2[0] > 10 * l2[1] and l2[1] > 100 * l2[2]    # the noisier, the less decayed
    assert 0 < l2[2] < 1e-3 * 0.1                        # the noisiest hardly at all


def test_with_adam_l2_and_decoupled_differ():
    grads = np.random.default_rng(3).standard_normal((20, 10))
    runs = {}
    for decay in ("l2", "decoupled"):
        w, m, v = np.ones(10), np.zeros(10), np.zeros(10)
        for t in range(20):
            pywd.adam(w, grads[t], m, v, step=t + 1, lr=0.01, weight_decay=0.1, decay=decay)
        runs[decay] = w
    assert np.max(np.abs(runs["l2"] - runs["decoupled"])) > 1e-3


def test_amsgrad_keeps_the_running_maximum():
    w, m = np.zeros(2), np.zeros(2)
    v, vmax = np.zeros(2), np.array([5.0, 0.0])
    pywd.adam(w, np.array([1.0, 1.0]), m, v, step=1, lr=0.1, amsgrad=True, max_exp_avg_sqs=vmax)
    np.testing.assert_allclose(vmax, [5.0, 0.001], rtol=1e-12)
