"""pywd.adadelta against the reference, and Zeiler's units-correct update."""
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import pywd
from helpers import assert_all_match, copies, decays, nonnegative, small_or_threaded
from pywd import reference


@st.composite
def adadelta_hypers(draw):
    return dict(lr=draw(st.sampled_from([0.0, 1.0, 0.1])),
                rho=draw(st.sampled_from([0.0, 0.9, 1.0])),
                eps=draw(st.sampled_from([0.0, 1e-6, 1e-3])),
                maximize=draw(st.booleans()), **draw(decays()))


@given(small_or_threaded(4), adadelta_hypers())
def test_adadelta_matches_reference(arrays, hyper):
    params, grads, s, a = arrays
    arrays = [params, grads, *nonnegative([s, a])]
    ours, ref = copies(arrays), copies(arrays)
    pywd.adadelta(*ours, **hyper)
    reference.adadelta(*ref, **hyper)
    assert_all_match(ours, ref)


def test_the_update_is_the_ratio_of_running_rms_times_the_gradient():
    """Zeiler's Algorithm 1: d = RMS[dx]_{t-1} / RMS[g]_t * g, then RMS[dx] takes d in."""
    w, s, a = np.zeros(1), np.array([0.25]), np.array([0.01])
    g = np.array([2.0])
    pywd.adadelta(w, g, s, a, lr=1.0, rho=0.9, eps=1e-6)
    s_t = 0.9 * 0.25 + 0.1 * 4.0
    d = np.sqrt(0.01 + 1e-6) / np.sqrt(s_t + 1e-6) * 2.0
    np.testing.assert_allclose(s, [s_t], rtol=1e-15)
    np.testing.assert_allclose(-w, [d], rtol=1e-15)
    np.testing.assert_allclose(a, [0.9 * 0.01 + 0.1 * d * d], rtol=1e-15)
