"""pywd.adamax against the reference, and Adamax's infinity norm."""
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import pywd
from helpers import assert_all_match, copies, decays, nonnegative, small_or_threaded
from pywd import reference


@st.composite
def adamax_hypers(draw):
    return dict(step=draw(st.sampled_from([1, 2, 100])),
                lr=draw(st.sampled_from([0.0, 2e-3, 0.5])),
                beta1=draw(st.sampled_from([0.0, 0.9])),
                beta2=draw(st.sampled_from([0.0, 0.999])),
                eps=draw(st.sampled_from([0.0, 1e-8, 1e-3])),
                maximize=draw(st.booleans()), **draw(decays()))


@given(small_or_threaded(4), adamax_hypers())
def test_adamax_matches_reference(arrays, hyper):
    params, grads, m, u = arrays
    arrays = [params, grads, m, *nonnegative([u])]
    ours, ref = copies(arrays), copies(arrays)
    pywd.adamax(*ours, **hyper)
    reference.adamax(*ref, **hyper)
    assert_all_match(ours, ref)


def test_the_norm_is_the_decayed_maximum_of_gradient_sizes():
    """u = max(beta2*u, |g| + eps): a big gradient is remembered, decaying by beta2 a step,
    until a bigger one comes; the step is lr/(1-beta1^t) * m/u."""
    w, m, u = np.zeros(1), np.zeros(1), np.zeros(1)
    for t, g in enumerate([4.0, -1.0, 0.5, 8.0], start=1):
        pywd.adamax(w, np.array([g]), m, u, step=t, lr=0.1, beta1=0.5, beta2=0.5, eps=0.0)
    np.testing.assert_allclose(u, [8.0], rtol=1e-15)       # max(0.5*0.5*0.5*4, 8)
    before = w.copy()
    pywd.adamax(w, np.array([0.0]), m, u, step=5, lr=0.1, beta1=0.5, beta2=0.5, eps=0.0)
    np.testing.assert_allclose(u, [4.0], rtol=1e-15)       # decays when |g| is smaller
    np.testing.assert_allclose(before - w, 0.1 / (1 - 0.5 ** 5) * m / 4.0, rtol=1e-14)


def test_nan_in_the_norm_propagates_as_torch_maximum():
    w, m, u = np.ones(2), np.zeros(2), np.array([np.nan, 1.0])
    pywd.adamax(w, np.array([1.0, np.nan]), m, u, step=1, lr=0.1)
    assert np.isnan(u).all() and np.isnan(w).all()
