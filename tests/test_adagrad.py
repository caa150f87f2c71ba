"""pywd.adagrad against the reference."""
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import pywd
from helpers import assert_all_match, copies, decays, nonnegative, small_or_threaded
from pywd import reference


@st.composite
def adagrad_hypers(draw):
    return dict(step=draw(st.sampled_from([1, 2, 100])),
                lr=draw(st.sampled_from([0.0, 1e-2, 0.5])),
                lr_decay=draw(st.sampled_from([0.0, 1e-3, 0.5])),
                eps=draw(st.sampled_from([0.0, 1e-10, 1e-3])),
                maximize=draw(st.booleans()), **draw(decays()))


def run_adagrad(fn, lists, hyper):
    fn(*lists, **hyper)


@given(small_or_threaded(3), adagrad_hypers())
def test_adagrad_matches_reference(arrays, hyper):
    params, grads, sums = arrays
    arrays = [params, grads, *nonnegative([sums])]
    ours, ref = copies(arrays), copies(arrays)
    run_adagrad(pywd.adagrad, ours, hyper)
    run_adagrad(reference.adagrad, ref, hyper)
    assert_all_match(ours, ref)


def test_lr_decay_and_decoupled_decay_use_the_steps_learning_rate():
    # clr = 0.1 / (1 + 9 * 0.1) at step 10; with zero gradient only the decay acts
    w, s = np.ones(2), np.ones(2)
    pywd.adagrad(w, np.zeros(2), s, step=10, lr=0.1, lr_decay=0.1, weight_decay=0.5,
                 decay="decoupled")
    np.testing.assert_allclose(w, 1 - 0.1 / 1.9 * 0.5, rtol=1e-15)
