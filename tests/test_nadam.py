"""pywd.nadam against the reference, NAdam's equations, and the class's mu_product state."""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import pywd
from helpers import assert_all_match, copies, decays, nonnegative, small_or_threaded, snapshot
from pywd import optim, reference


@st.composite
def nadam_hypers(draw):
    return dict(step=draw(st.sampled_from([1, 2, 10, 1000])),
                mu_product=draw(st.sampled_from([None, 1.0, 0.5, 0.0])),
                lr=draw(st.sampled_from([0.0, 1e-3, 0.5])),
                beta1=draw(st.sampled_from([0.0, 0.9])),
                beta2=draw(st.sampled_from([0.5, 0.999])),
                eps=draw(st.sampled_from([0.0, 1e-8, 1e-3])),
                momentum_decay=draw(st.sampled_from([0.0, 4e-3, 0.5])),
                maximize=draw(st.booleans()), **draw(decays()))


@given(small_or_threaded(4), nadam_hypers())
def test_nadam_matches_reference(arrays, hyper):
    params, grads, m, v = arrays
    arrays = [params, grads, m, *nonnegative([v])]
    ours, ref = copies(arrays), copies(arrays)
    pywd.nadam(*ours, **hyper)
    reference.nadam(*ref, **hyper)
    assert_all_match(ours, ref)


def test_the_step_is_nesterov_momentum_bias_corrected_by_the_schedule():
    """Dozat's NAdam with torch's schedule: the step mixes the gradient, weighted by
    (1 - mu_t) / (1 - prod_{i<=t} mu_i), and the next momentum, weighted by
    mu_{t+1} / (1 - prod_{i<=t+1} mu_i), over sqrt(v_hat) + eps."""
    beta1, beta2, lr, psi, t = 0.9, 0.99, 0.1, 0.004, 3
    mus = [beta1 * (1 - 0.5 * 0.96 ** (i * psi)) for i in range(1, t + 2)]
    w, m, v, g = np.zeros(1), np.array([0.2]), np.array([0.04]), np.array([1.0])
    pywd.nadam(w, g, m, v, step=t, lr=lr, beta1=beta1, beta2=beta2, eps=0.0,
               momentum_decay=psi)
    m_t = beta1 * 0.2 + (1 - beta1) * 1.0
    v_hat = (beta2 * 0.04 + (1 - beta2) * 1.0) / (1 - beta2 ** t)
    look_ahead = ((1 - mus[t - 1]) * 1.0 / (1 - math.prod(mus[:t]))
                  + mus[t] * m_t / (1 - math.prod(mus[:t + 1])))
    np.testing.assert_allclose(m, [m_t], rtol=1e-15)
    np.testing.assert_allclose(-w, [lr * look_ahead / math.sqrt(v_hat)], rtol=1e-14)


def test_without_mu_product_the_schedule_is_multiplied_from_step_one():
    rng = np.random.default_rng(3)
    arrays = [rng.standard_normal(50) for _ in range(4)]
    arrays[3] = np.abs(arrays[3])
    product = math.prod(reference.nadam_mu(0.9, 4e-3, i) for i in range(1, 37))
    implicit, explicit = copies([arrays]), copies([arrays])
    pywd.nadam(*implicit[0], step=37)
    pywd.nadam(*explicit[0], step=37, mu_product=product)
    assert snapshot(implicit[0]) == snapshot(explicit[0])


def test_a_vanished_product_is_not_multiplied_out_at_huge_steps():
    """The product falls below 2**-60 within a few thousand steps; past that 1 - P is 1
    exactly, so step 10**15 takes no time and equals mu_product=0."""
    rng = np.random.default_rng(4)
    arrays = [rng.standard_normal(20) for _ in range(4)]
    arrays[3] = np.abs(arrays[3])
    implicit, explicit = copies([arrays]), copies([arrays])
    pywd.nadam(*implicit[0], step=10**15)
    pywd.nadam(*explicit[0], step=10**15, mu_product=0.0)
    assert snapshot(implicit[0]) == snapshot(explicit[0])


def test_the_class_keeps_the_product_per_parameter_and_steps_as_the_function():
    rng = np.random.default_rng(5)
    a, b = rng.standard_normal(6), rng.standard_normal(4)
    twin_a = a.copy()
    opt = optim.NAdam([a, b], lr=0.01, momentum_decay=0.05)
    m, v = np.zeros(6), np.zeros(6)
    for step in range(1, 5):
        g = rng.standard_normal(6)
        opt.step([g, None if step % 2 else rng.standard_normal(4)])
        pywd.nadam(twin_a, g, m, v, step=step, lr=0.01, momentum_decay=0.05)
    assert a.tobytes() == twin_a.tobytes()
    mus = [reference.nadam_mu(0.9, 0.05, i) for i in range(1, 5)]
    assert opt.state[0]["mu_product"] == math.prod(mus)
    assert opt.state[1]["mu_product"] == math.prod(mus[:2])     # b stepped twice
    assert opt.state[1]["step"] == 2


def test_a_bad_mu_product_in_the_state_is_refused_before_anything_changes():
    rng = np.random.default_rng(6)
    params = [rng.standard_normal(3), rng.standard_normal(2)]
    opt = optim.NAdam(params)
    opt.step([np.ones(3), np.ones(2)])
    before = snapshot(params) + [opt.state[0]["step"]]
    for bad in (1.5, -0.1, math.nan, "0.5", True):
        opt.state[1]["mu_product"] = bad
        with pytest.raises(ValueError, match=r"state\[1\]\['mu_product'\] must be a number "
                                             r"in \[0, 1\]"):
            opt.step([np.ones(3), np.ones(2)])
        assert snapshot(params) + [opt.state[0]["step"]] == before
    opt.state[1]["mu_product"] = 0.5
    saved = opt.state_dict()
    assert saved["state/1/mu_product"].dtype == np.float64
    for bad in (np.array(2.0), np.array([0.5]), np.array("x"), np.array(math.inf)):
        with pytest.raises(ValueError, match=r"state/1/mu_product'\] must be a number"):
            opt.load_state_dict({**saved, "state/1/mu_product": bad})
    missing = {k: v for k, v in saved.items() if k != "state/1/mu_product"}
    with pytest.raises(ValueError, match=r"without \['mu_product'\]"):
        opt.load_state_dict(missing)
    opt.load_state_dict(saved)
    assert opt.state[1]["mu_product"] == 0.5
