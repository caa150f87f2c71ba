"""pywd.asgd against the reference, Polyak averaging, and the class's eta and mu state."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import pywd
from helpers import (assert_all_match, copies, decays, grads_for, model, small_or_threaded,
                     torch_scalars_in)
from pywd import optim, reference


@st.composite
def asgd_hypers(draw):
    return dict(step=draw(st.sampled_from([1, 2, 10, 1000])),
                lr=draw(st.sampled_from([0.0, 1e-2, 0.5])),
                lambd=draw(st.sampled_from([0.0, 1e-4, 0.5])),
                alpha=draw(st.sampled_from([0.0, 0.75])),
                t0=draw(st.sampled_from([1e6, 0.0, 5.0, -2.0])),
                eta=draw(st.sampled_from([None, 0.0, 0.1])),
                mu=draw(st.sampled_from([None, 1.0, 0.25, 0.0])),
                maximize=draw(st.booleans()), **draw(decays()))


@given(small_or_threaded(3), asgd_hypers())
def test_asgd_matches_reference(arrays, hyper):
    ours, ref = copies(arrays), copies(arrays)
    pywd.asgd(*ours, **hyper)
    reference.asgd(*ref, **hyper)
    assert_all_match(ours, ref)


def test_ax_is_the_mean_of_the_weights_since_averaging_began():
    """Polyak & Juditsky: with torch's schedule, mu = 1/(t - 1 - t0) from step t0 + 2 on,
    so ax is the arithmetic mean of the weights after steps t0 + 2 .. t."""
    rng = np.random.default_rng(1)
    (w,) = model(shapes=((6,),))
    opt = optim.ASGD([w], lr=0.05, t0=3)
    seen = []
    for _ in range(12):
        opt.step([rng.standard_normal(6)])
        seen.append(w.copy())
    np.testing.assert_allclose(opt.state[0]["ax"], np.mean(seen[4:], axis=0), rtol=1e-12,
                               atol=1e-15)


def test_the_schedule_follows_the_group_lr_step_by_step():
    """eta for step t + 1 is computed after step t from the lr of that moment (torch's
    order), so a scheduler's changes reach eta one step late."""
    (w,) = model(shapes=((3,),))
    opt = optim.ASGD([w], lr=0.1, lambd=0.5, alpha=0.75, t0=1)
    assert opt.param_groups[0]["lr"] == 0.1
    opt.step([np.ones(3)])
    assert opt.state[0]["eta"] == 0.1 / (1 + 0.5 * 0.1 * 1) ** 0.75
    assert opt.state[0]["mu"] == 1.0
    opt.param_groups[0]["lr"] = 0.2
    opt.step([np.ones(3)])
    assert opt.state[0]["eta"] == 0.2 / (1 + 0.5 * 0.2 * 2) ** 0.75
    assert opt.state[0]["mu"] == 1.0
    opt.step([np.ones(3)])
    assert opt.state[0]["mu"] == 1 / (3 - 1)
    eta, mu = reference.asgd_schedule(4, lr=0.2, lambd=0.5, alpha=0.75, t0=1)
    assert (opt.state[0]["eta"], opt.state[0]["mu"]) == (eta, mu)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_average_equals_torch_over_20_steps(dtype):
    torch = pytest.importorskip("torch")
    with torch_scalars_in(torch, dtype):
        ours = model(dtype, 2)
        theirs = [torch.tensor(p.copy(), requires_grad=True) for p in ours]
        opt_ours = optim.ASGD(ours, lr=0.05, t0=4, weight_decay=0.01)
        opt_theirs = torch.optim.ASGD(theirs, lr=0.05, t0=4, weight_decay=0.01)
        rng = np.random.default_rng(2)
        for _ in range(20):
            grads = grads_for(ours, rng)
            for t, g in zip(theirs, grads):
                t.grad = torch.from_numpy(g.copy())
            opt_theirs.step()
            opt_ours.step(grads)
        rtol = 1e-12 if dtype == np.float64 else 1e-6
        for i, t in enumerate(theirs):
            ax = opt_theirs.state[t]["ax"].numpy()
            np.testing.assert_allclose(opt_ours.state[i]["ax"], ax, rtol=rtol,
                                       atol=rtol * np.abs(ax).max())
            assert opt_ours.state[i]["eta"] == pytest.approx(float(opt_theirs.state[t]["eta"]),
                                                             rel=rtol)


@pytest.mark.parametrize("alpha", [118297474.0, 1e300])
def test_a_power_past_the_float_range_gives_eta_its_limit_zero(alpha):
    """(1 + lambd*lr*t)**alpha overflows for a huge alpha: eta is then 0 (its limit) in the
    library and the reference alike, an update without its SGD step, not an error."""
    assert reference.asgd_schedule(7, alpha=alpha) == (0.0, 1.0)
    w, ax = np.linspace(-1, 1, 5), np.zeros(5)
    ours, ref = copies([[w], [np.ones(5)], [ax]]), copies([[w], [np.ones(5)], [ax]])
    pywd.asgd(*ours, step=7, alpha=alpha)
    reference.asgd(*ref, step=7, alpha=alpha)
    assert_all_match(ours, ref)
    np.testing.assert_array_equal(ours[0][0], w)
    np.testing.assert_array_equal(ours[2][0], w)
