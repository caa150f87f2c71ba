"""pywd.lion against the reference, and the paper's update rule."""
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import pywd
from helpers import assert_all_match, copies, decays, small_or_threaded
from pywd import reference


@st.composite
def lion_hypers(draw):
    return dict(lr=draw(st.sampled_from([0.0, 1e-4, 0.1])),
                beta1=draw(st.sampled_from([0.0, 0.9])),
                beta2=draw(st.sampled_from([0.0, 0.99])),
                maximize=draw(st.booleans()), **draw(decays()))


@given(small_or_threaded(3), lion_hypers())
def test_lion_matches_reference(arrays, hyper):
    ours, ref = copies(arrays), copies(arrays)
    pywd.lion(*ours, **hyper)
    reference.lion(*ref, **hyper)
    assert_all_match(ours, ref)


def test_every_weight_moves_by_exactly_lr_or_not_at_all():
    # u = sign(beta1*m + (1-beta1)*g): the step is +-lr, or 0 where the interpolation is 0
    g = np.array([3.0, -1e-9, 0.0, 2.0])
    m = np.array([0.0, 0.0, 0.0, -18.0 / 0.9 * 0.1 - 1.0])
    w = np.zeros(4)
    pywd.lion(w, g, m, lr=0.5, beta1=0.9, beta2=0.99)
    np.testing.assert_array_equal(w, [-0.5, 0.5, 0.0, 0.5])
    np.testing.assert_allclose(m, [0.03, -1e-11, 0.0, 0.99 * (-3.0) + 0.02], rtol=1e-12)
