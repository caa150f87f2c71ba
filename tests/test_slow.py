"""Arrays beyond 2**31 elements (64-bit indexing everywhere in csrc): fill, gradient norm,
update and decay of a 2**31 + 5 element float32 array, checked at both ends. Needs ~18 GB of
memory and a minute, so it runs only with PYWD_SLOW_TESTS=1."""
import math
import os

import numpy as np
import pytest

import pywd
from pywd import init, reference

pytestmark = pytest.mark.skipif(os.environ.get("PYWD_SLOW_TESTS") != "1",
                                reason="set PYWD_SLOW_TESTS=1 (needs ~18 GB)")

N = 2**31 + 5
ENDS = np.r_[0:5, N - 5:N]       # both ends: the last elements sit beyond 2**31


def test_update_beyond_two_to_the_31_elements():
    w = np.empty(N, np.float32)
    init.uniform_(w, -1.0, 1.0, rng=5)
    head = reference.fill_uniform((5,), np.float32, -1.0, 1.0, seed=5)
    tail = reference.fill_uniform((5,), np.float32, -1.0, 1.0, seed=5, offset=N - 5)
    np.testing.assert_array_equal(w[ENDS], np.r_[head, tail])

    g = np.empty(N, np.float32)
    init.constant_(g, 0.5)
    g[0], g[-1] = -3.0, 2.0
    before = w[ENDS].copy()
    result = pywd.sgd(w, g, lr=0.1, max_grad_norm=math.inf, nonfinite="skip")
    assert result.applied
    assert result.grad_norm == math.sqrt((N - 2) * 0.25 + 9.0 + 4.0)   # exact in float64
    expected = before - np.float32(0.1) * g[ENDS]
    np.testing.assert_array_equal(w[ENDS], expected)
    del g

    pywd.decay(w, lr=0.5, weight_decay=0.5)
    np.testing.assert_array_equal(w[ENDS], expected * np.float32(0.75))
