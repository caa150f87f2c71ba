"""pywd.lamb against the reference, LAMB's trust ratio, and thread-independent norms."""
import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import pywd
from helpers import (assert_all_match, assert_same_at_thread_counts, copies, decays, nonnegative,
                     small_or_threaded, snapshot)
from pywd import reference


@st.composite
def lamb_hypers(draw):
    return dict(step=draw(st.sampled_from([1, 2, 100])),
                lr=draw(st.sampled_from([0.0, 1e-3, 0.5])),
                beta1=draw(st.sampled_from([0.0, 0.9])),
                beta2=draw(st.sampled_from([0.5, 0.999])),
                eps=draw(st.sampled_from([0.0, 1e-6, 1e-3])),
                bias_correction=draw(st.booleans()), trust_clip=draw(st.booleans()),
                always_adapt=draw(st.booleans()), maximize=draw(st.booleans()),
                **draw(decays()))


@given(small_or_threaded(4), lamb_hypers())
def test_lamb_matches_reference(arrays, hyper):
    params, grads, m, v = arrays
    arrays = [params, grads, m, *nonnegative([v])]
    ours, ref = copies(arrays), copies(arrays)
    pywd.lamb(*ours, **hyper)
    reference.lamb(*ref, **hyper)
    assert_all_match(ours, ref)


def adam_direction(w, g, step=1, beta1=0.9, beta2=0.999, eps=1e-6, wd=0.0):
    """r of You et al.'s Algorithm 2 from zero moments, in float64."""
    m, v = (1 - beta1) * g, (1 - beta2) * g * g
    return (m / (1 - beta1 ** step)) / (np.sqrt(v / (1 - beta2 ** step)) + eps) + wd * w


def test_each_tensor_moves_by_lr_times_its_weight_norm():
    """phi = ||w|| / ||r||: the step lr * phi * r has norm lr * ||w||, tensor by tensor,
    whatever the gradients' scale (the layer-wise adaptation)."""
    rng = np.random.default_rng(1)
    w = [rng.standard_normal(50) * 3, rng.standard_normal((4, 6)) * 0.01]
    g = [rng.standard_normal(50) * 1e3, rng.standard_normal((4, 6))]
    before = [x.copy() for x in w]
    pywd.lamb(w, g, [np.zeros(50), np.zeros((4, 6))], [np.zeros(50), np.zeros((4, 6))],
              step=1, lr=0.01, weight_decay=0.1)
    for new, old, grad in zip(w, before, g):
        r = adam_direction(old, grad, wd=0.1)
        np.testing.assert_allclose(old - new, 0.01 * np.linalg.norm(old)
                                   / np.linalg.norm(r) * r, rtol=1e-13, atol=1e-16)
        assert math.isclose(np.linalg.norm(old - new), 0.01 * np.linalg.norm(old),
                            rel_tol=1e-13)


def test_the_ratio_is_one_without_decay_or_weights_and_capped_by_trust_clip():
    g = np.array([1.0, -2.0, 3.0])
    r = adam_direction(np.zeros(3), g)
    for w0, hyper, phi in [
            (np.ones(3), dict(weight_decay=0.0), 1.0),                    # timm: no decay,
            (np.ones(3), dict(weight_decay=0.0, always_adapt=True),        # no adaptation
             math.sqrt(3) / np.linalg.norm(r)),
            (np.zeros(3), dict(weight_decay=0.0, always_adapt=True), 1.0),  # ||w|| = 0
            (np.full(3, 100.0), dict(weight_decay=0.0, always_adapt=True, trust_clip=True),
             1.0)]:
        w = w0.copy()
        pywd.lamb(w, g, np.zeros(3), np.zeros(3), step=1, lr=0.1, decay="l2", **hyper)
        np.testing.assert_allclose(w, w0 - 0.1 * phi * r, rtol=1e-15, atol=1e-16)


def test_the_bytes_do_not_depend_on_the_thread_count():
    """The norms are summed in fixed blocks: 1, 2 and 3 threads give the same bytes."""
    rng = np.random.default_rng(2)
    shapes = [(300_001,), (70_000,), (5,)]
    start = [[rng.standard_normal(s).astype(np.float32) for s in shapes] for _ in range(4)]
    start[3] = [np.abs(x) for x in start[3]]

    def run():
        arrays = copies(start)
        pywd.lamb(*arrays, step=3, lr=0.01, weight_decay=0.05)
        return snapshot([a for lst in arrays for a in lst])
    assert_same_at_thread_counts(run)
