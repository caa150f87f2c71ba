"""pywd.radam against the reference, and RAdam's rectification switch."""
import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import pywd
from helpers import assert_all_match, copies, decays, nonnegative, small_or_threaded
from pywd import reference


@st.composite
def radam_hypers(draw):
    return dict(step=draw(st.sampled_from([1, 5, 6, 100])),
                lr=draw(st.sampled_from([0.0, 1e-3, 0.5])),
                beta1=draw(st.sampled_from([0.0, 0.9])),
                beta2=draw(st.sampled_from([0.5, 0.9, 0.999])),
                eps=draw(st.sampled_from([0.0, 1e-8, 1e-3])),
                maximize=draw(st.booleans()), **draw(decays()))


@given(small_or_threaded(4), radam_hypers())
def test_radam_matches_reference(arrays, hyper):
    params, grads, m, v = arrays
    arrays = [params, grads, m, *nonnegative([v])]
    ours, ref = copies(arrays), copies(arrays)
    pywd.radam(*ours, **hyper)
    reference.radam(*ref, **hyper)
    assert_all_match(ours, ref)


def rho(t, beta2):
    rho_inf = 2 / (1 - beta2) - 1
    return rho_inf, rho_inf - 2 * t * beta2 ** t / (1 - beta2 ** t)


def test_the_step_is_momentum_sgd_until_rho_exceeds_5_then_rectified_adam():
    """beta2 = 0.999: rho_t passes 5 at step 6 (Liu et al.: the variance of the adaptive lr
    is intractable before). Before, w moves by lr * m / (1 - beta1^t) whatever v; after, by
    that times sqrt(bc2) / (sqrt(v) + eps) times the rectification."""
    beta1, beta2, lr = 0.9, 0.999, 0.1
    assert rho(5, beta2)[1] <= 5 < rho(6, beta2)[1]
    for t in (5, 6):
        w, m, v = np.zeros(1), np.array([0.2]), np.array([0.04])
        g = np.array([1.0])
        pywd.radam(w, g, m, v, step=t, lr=lr, beta1=beta1, beta2=beta2, eps=0.0)
        m_hat = (beta1 * 0.2 + (1 - beta1)) / (1 - beta1 ** t)
        expected = m_hat * lr
        if t == 6:
            rho_inf, rho_t = rho(t, beta2)
            rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf
                             / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            v_t = beta2 * 0.04 + (1 - beta2)
            expected *= math.sqrt(1 - beta2 ** t) / math.sqrt(v_t) * rect
        np.testing.assert_allclose(-w, [expected], rtol=1e-14)
