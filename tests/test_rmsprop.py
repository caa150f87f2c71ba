"""pywd.rmsprop against the reference."""
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import pywd
from helpers import assert_all_match, copies, decays, nonnegative, small_or_threaded
from pywd import reference


@st.composite
def rmsprop_hypers(draw):
    return dict(lr=draw(st.sampled_from([0.0, 1e-3, 0.1])),
                alpha=draw(st.sampled_from([0.0, 0.9, 0.99, 1.0])),
                eps=draw(st.sampled_from([0.0, 1e-8, 1e-2])),
                momentum=draw(st.sampled_from([0.0, 0.9])),
                centered=draw(st.booleans()), maximize=draw(st.booleans()), **draw(decays()))


def run_rmsprop(fn, lists, hyper):
    params, grads, square_avgs, bufs, grad_avgs = lists
    fn(params, grads, square_avgs, bufs if hyper["momentum"] else None,
       grad_avgs if hyper["centered"] else None, **hyper)


def rmsprop_state(arrays):
    params, grads, s, bufs, a = arrays
    (s,) = nonnegative([s])
    for si, ai in zip(s, a):
        si += ai * ai                                # a centered variance s - a^2 stays >= 0
    return [params, grads, s, bufs, a]


@given(small_or_threaded(5), rmsprop_hypers())
def test_rmsprop_matches_reference(arrays, hyper):
    arrays = rmsprop_state(arrays)
    ours, ref = copies(arrays), copies(arrays)
    run_rmsprop(pywd.rmsprop, ours, hyper)
    run_rmsprop(reference.rmsprop, ref, hyper)
    assert_all_match(ours, ref)


def test_rmsprop_first_step_normalises_by_the_gradient_rms():
    # s = (1 - alpha) g^2, so w moves by lr * g / (sqrt(1 - alpha) |g|): lr / sqrt(0.01)
    g = np.array([1e-3, -1.0, 1e3])
    w, s = np.zeros(3), np.zeros(3)
    pywd.rmsprop(w, g, s, lr=0.01, alpha=0.99, eps=0.0)
    np.testing.assert_allclose(w, -0.1 * np.sign(g), rtol=1e-12)
