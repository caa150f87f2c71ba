"""pywd.lars against the reference, LARS's trust ratio, and thread-independent norms."""
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import pywd
from helpers import (assert_all_match, assert_same_at_thread_counts, copies, decays,
                     small_or_threaded, snapshot)
from pywd import reference


@st.composite
def lars_hypers(draw):
    momentum = draw(st.sampled_from([0.0, 0.9]))
    dampening = draw(st.sampled_from([0.0, 0.1])) if momentum else 0.0
    return dict(lr=draw(st.sampled_from([0.0, 0.1, 1.0])), momentum=momentum,
                dampening=dampening,
                nesterov=bool(momentum) and not dampening and draw(st.booleans()),
                first_step=draw(st.booleans()),
                trust_coeff=draw(st.sampled_from([1e-3, 0.02])),
                eps=draw(st.sampled_from([0.0, 1e-8])),
                trust_clip=draw(st.booleans()), always_adapt=draw(st.booleans()),
                maximize=draw(st.booleans()), **draw(decays()))


@given(small_or_threaded(3), lars_hypers())
def test_lars_matches_reference(arrays, hyper):
    ours, ref = copies(arrays), copies(arrays)
    pywd.lars(*ours, **hyper)
    reference.lars(*ref, **hyper)
    assert_all_match(ours, ref)


def test_each_tensor_moves_by_its_trust_ratio():
    """Without momentum, a tensor moves by lr * trust_coeff * ||w|| / (||g|| + wd*||w||
    + eps) * (g + wd*w): the same relative step whatever its gradients' scale."""
    rng = np.random.default_rng(1)
    w = [rng.standard_normal(40) * 5, rng.standard_normal((3, 7)) * 0.01]
    g = [rng.standard_normal(40) * 1e4, rng.standard_normal((3, 7))]
    before = [x.copy() for x in w]
    pywd.lars(w, g, lr=0.5, trust_coeff=0.01, weight_decay=1e-3, eps=0.0)
    for new, old, grad in zip(w, before, g):
        wn, gn = np.linalg.norm(old), np.linalg.norm(grad)
        phi = 0.01 * wn / (gn + 1e-3 * wn)
        np.testing.assert_allclose(new, old - 0.5 * phi * (grad + 1e-3 * old), rtol=1e-13)


def test_no_adaptation_without_decay_unless_always_adapt_and_larc_caps_phi_over_lr():
    w0, g = np.array([3.0, 4.0]), np.array([0.6, 0.8])
    w = w0.copy()
    pywd.lars(w, g, lr=0.1)                            # timm: wd = 0 leaves g alone
    np.testing.assert_array_equal(w, w0 - 0.1 * g)
    w = w0.copy()
    pywd.lars(w, g, lr=0.1, trust_coeff=0.5, always_adapt=True, eps=0.0)
    np.testing.assert_allclose(w, w0 - 0.1 * (0.5 * 5 / 1) * g, rtol=1e-15)
    w = w0.copy()                                      # phi / lr = 25 > 1: capped at 1
    pywd.lars(w, g, lr=0.1, trust_coeff=0.5, always_adapt=True, eps=0.0, trust_clip=True)
    np.testing.assert_allclose(w, w0 - 0.1 * g, rtol=1e-15)
    w = np.zeros(2)                                    # ||w|| = 0: phi = 1
    pywd.lars(w, g, lr=0.1, always_adapt=True)
    np.testing.assert_array_equal(w, -0.1 * g)


def test_the_bytes_do_not_depend_on_the_thread_count():
    rng = np.random.default_rng(2)
    shapes = [(300_001,), (70_000,), (5,)]
    start = [[rng.standard_normal(s).astype(np.float32) for s in shapes] for _ in range(3)]
    anchors = [rng.standard_normal(s).astype(np.float32) for s in shapes]

    def run():
        arrays = copies(start)
        pywd.lars(*arrays, lr=0.1, momentum=0.9, weight_decay=1e-3, decay_to=anchors)
        return snapshot([a for lst in arrays for a in lst])
    assert_same_at_thread_counts(run)
