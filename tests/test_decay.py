"""pywd.decay (weight decay alone) against pywd.reference.decay."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import pywd
from helpers import DECAY_MODES, assert_matches, small_or_threaded
from pywd import reference


@given(small_or_threaded(1), st.sampled_from(DECAY_MODES),
       st.sampled_from([0.0, 1e-3, 0.1, 1.0]), st.sampled_from([0.0, 1e-4, 0.05, 1.0]),
       st.sampled_from([None, 1.0, 3.0]))
def test_decay_matches_reference(arrays, mode, lr, wd, max_lr):
    (params,) = arrays
    ours, ref = [a.copy(order="K") for a in params], [a.copy(order="K") for a in params]
    pywd.decay(ours, lr=lr, weight_decay=wd, decay=mode, max_lr=max_lr)
    reference.decay(ref, lr=lr, weight_decay=wd, decay=mode, max_lr=max_lr)
    for a, b in zip(ours, ref):
        assert_matches(a, b)


@pytest.mark.parametrize("mode", DECAY_MODES)
def test_decay_is_the_sgd_step_with_zero_gradient(mode):
    rng = np.random.default_rng(3)
    w = rng.standard_normal(1000)
    by_decay, by_sgd = w.copy(), w.copy()
    pywd.decay(by_decay, lr=0.1, weight_decay=0.5, decay=mode)
    pywd.sgd(by_sgd, np.zeros_like(w), lr=0.1, weight_decay=0.5, decay=mode)
    np.testing.assert_allclose(by_decay, by_sgd, rtol=1e-15, atol=0)


def test_decoupled_decay_multiplies_by_one_minus_lr_wd():
    w = np.array([2.0, -4.0], np.float32)
    pywd.decay(w, lr=0.5, weight_decay=0.5)
    np.testing.assert_array_equal(w, [1.5, -3.0])
