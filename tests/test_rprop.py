"""pywd.rprop against the reference, and Rprop's sign rule."""
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import pywd
from helpers import assert_all_match, copies, decays, nonnegative, small_or_threaded
from pywd import optim, reference


@st.composite
def rprop_hypers(draw):
    return dict(lr=draw(st.sampled_from([0.0, 1e-2, 0.5])),
                etaminus=draw(st.sampled_from([0.5, 0.1])),
                etaplus=draw(st.sampled_from([1.2, 3.0])),
                step_size_min=draw(st.sampled_from([0.0, 1e-6, 0.5])),
                step_size_max=draw(st.sampled_from([50.0, 0.5])),
                maximize=draw(st.booleans()), **draw(decays()))


@given(small_or_threaded(4), rprop_hypers(), st.booleans())
def test_rprop_matches_reference(arrays, hyper, flips):
    params, grads, prev, s = arrays
    if flips:                       # every case of g * prev: kept, flipped, zero
        for p, g in zip(prev, grads):
            every_third = np.arange(p.size).reshape(p.shape) % 3 == 0
            p[every_third] = -g[every_third]
    hyper["step_size_min"] = min(hyper["step_size_min"], hyper["step_size_max"])
    arrays = [params, grads, prev, *nonnegative([s])]
    ours, ref = copies(arrays), copies(arrays)
    pywd.rprop(*ours, **hyper)
    reference.rprop(*ref, **hyper)
    assert_all_match(ours, ref)


def test_step_sizes_grow_on_a_kept_sign_shrink_and_wait_on_a_flip():
    """Riedmiller & Braun's rule as torch has it: kept sign, s * etaplus and a move; flipped,
    s * etaminus, no move and prev = 0 (so the next step counts as a fresh start); no
    history (prev = 0), s unchanged and a move; s stays within the bounds; a NaN product
    makes the step size and the weight NaN."""
    w = np.zeros(5)
    g = np.array([2.0, -2.0, 3.0, 1.0, np.nan])
    prev = np.array([1.0, 1.0, 0.0, 1.0, 1.0])
    s = np.array([0.1, 0.1, 0.1, 0.9, 0.1])
    pywd.rprop(w, g, prev, s, etaminus=0.5, etaplus=1.2, step_size_min=0.01,
               step_size_max=1.0)
    np.testing.assert_array_equal(s, [0.1 * 1.2, 0.1 * 0.5, 0.1, 1.0, np.nan])
    np.testing.assert_array_equal(w, [-0.1 * 1.2, 0.0, -0.1, -1.0, np.nan])
    np.testing.assert_array_equal(prev, [2.0, 0.0, 3.0, 1.0, np.nan])


def test_the_class_starts_each_step_size_at_the_group_lr():
    a, b = np.zeros(3), np.zeros(2)
    opt = optim.Rprop([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.01)
    opt.step([np.ones(3), -np.ones(2)])
    np.testing.assert_array_equal(opt.state[0]["step_size"], 0.01)
    np.testing.assert_array_equal(a, -0.01)
    np.testing.assert_array_equal(b, 0.5)
    opt.step([np.ones(3), np.ones(2)])         # b's sign flipped: it waits, its size halves
    np.testing.assert_array_equal(opt.state[0]["step_size"], 0.01 * 1.2)
    np.testing.assert_array_equal(opt.state[1]["step_size"], 0.25)
    np.testing.assert_array_equal(b, 0.5)
