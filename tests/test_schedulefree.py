"""Schedule-free AdamW and SGD: the kernels against their twins, the twins against the
paper's three sequences, the classes' schedule, train()/eval(), and (when torch and the
schedulefree package are installed) the classes against the package over 50 steps."""
import contextlib
import io
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pywd
from helpers import (assert_all_match, copies, decays, grads_for, model, nonnegative, saved,
                     small_or_threaded, snapshot)
from pywd import optim, reference

average_weights = st.sampled_from([1.0, 0.75, 0.5, 0.3, 1e-3, 0.0])


@given(small_or_threaded(4), decays(), average_weights, st.sampled_from([1, 2, 50]),
       st.sampled_from([0.0, 0.5, 0.9]), st.booleans())
def test_adamw_schedulefree_matches_reference(arrays, decay, c, step, beta1, maximize):
    arrays = arrays[:3] + nonnegative(arrays[3:])          # second moments are >= 0
    ours, ref = copies(arrays), copies(arrays)
    hyper = dict(step=step, average_weight=c, lr=0.01, beta1=beta1, beta2=0.99,
                 maximize=maximize, **decay)
    pywd.adamw_schedulefree(*ours, **hyper)
    reference.adamw_schedulefree(*ref, **hyper)
    assert_all_match(ours, ref)


@given(small_or_threaded(3), decays(), average_weights, st.sampled_from([0.0, 0.9, 0.99]),
       st.booleans())
def test_sgd_schedulefree_matches_reference(arrays, decay, c, momentum, maximize):
    ours, ref = copies(arrays), copies(arrays)
    hyper = dict(average_weight=c, lr=0.5, momentum=momentum, maximize=maximize, **decay)
    pywd.sgd_schedulefree(*ours, **hyper)
    reference.sgd_schedulefree(*ref, **hyper)
    assert_all_match(ours, ref)


@pytest.mark.parametrize("adaptive", [True, False])
@pytest.mark.parametrize("c", [1.0, 0.6, 0.2])
@pytest.mark.parametrize("decay", ["l2", "decoupled", "independent", "l1"])
def test_the_twin_moves_y_as_the_papers_three_sequences_require(adaptive, c, decay):
    """Defazio et al. 2024, eq. (1): z steps, x_new = (1 - c) x + c z_new and
    y_new = beta1 x_new + (1 - beta1) z_new, with x = (y - (1 - beta1) z) / beta1 before."""
    rng = np.random.default_rng(1)
    y, g, z = (rng.standard_normal(200) for _ in range(3))
    v = np.abs(rng.standard_normal(200))
    beta1, lr, wd = 0.9, 0.05, 0.1
    x = (y - (1 - beta1) * z) / beta1
    z_before = z.copy()
    if adaptive:
        reference.adamw_schedulefree(y, g, z, v, step=4, average_weight=c, lr=lr,
                                     beta1=beta1, weight_decay=wd, decay=decay, max_lr=0.1)
    else:
        reference.sgd_schedulefree(y, g, z, average_weight=c, lr=lr, momentum=beta1,
                                   weight_decay=wd, decay=decay, max_lr=0.1)
    x_new = (1 - c) * x + c * z
    np.testing.assert_allclose(y, beta1 * x_new + (1 - beta1) * z, rtol=1e-12, atol=1e-13)
    if not adaptive and decay == "l2":       # and z took the gradient step at y
        y_before = beta1 * x + (1 - beta1) * z_before
        np.testing.assert_allclose(z, z_before - lr * (g + wd * y_before), rtol=1e-13)


def test_the_schedule_is_the_packages():
    """c = weight_k / sum of weights, weight_k = k**r * lr_max**weight_lr_power, lr warmed
    up linearly: with a constant lr and r = 0, c = 1/k (x is the plain mean of the z's)."""
    from pywd.optim.schedulefree import _schedule
    group = dict(lr=0.1, warmup_steps=0, r=0.0, weight_lr_power=2.0)
    weight_sum = lr_max = 0.0
    for k in range(1, 6):
        lr, c, weight_sum, lr_max = _schedule(group, k - 1, weight_sum, lr_max)
        assert (lr, lr_max) == (0.1, 0.1)
        assert c == pytest.approx(1 / k, rel=1e-15)
    group = dict(lr=0.1, warmup_steps=4, r=1.0, weight_lr_power=2.0)
    weight_sum = lr_max = 0.0
    weights = []
    for k in range(1, 8):
        lr, c, weight_sum, lr_max = _schedule(group, k - 1, weight_sum, lr_max)
        assert lr == pytest.approx(0.1 * min(1, k / 4), rel=1e-15)
        weights.append(k * lr_max ** 2)
        assert c == pytest.approx(weights[-1] / sum(weights), rel=1e-14)
    # an lr of 0 (weight 0 over a sum of 0) weighs nothing, as the package's ZeroDivision
    assert _schedule(dict(group, lr=0.0), 0, 0.0, 0.0)[1] == 0.0


def test_eval_gives_the_average_of_the_z_sequence_and_train_gives_y_back():
    rng = np.random.default_rng(2)
    (w,) = model(shapes=((50,),))
    opt = optim.SGDScheduleFree([w], lr=0.1, momentum=0.9, weight_decay=0.01)
    zs = []
    for _ in range(12):
        opt.step([rng.standard_normal(50)])
        zs.append(opt.state[0]["z"].copy())
    y = w.copy()
    opt.eval()
    np.testing.assert_allclose(w, np.mean(zs, axis=0), rtol=1e-12, atol=1e-14)
    assert not opt.param_groups[0]["train_mode"]
    opt.eval()                                   # already in eval mode: nothing moves
    np.testing.assert_allclose(w, np.mean(zs, axis=0), rtol=1e-12, atol=1e-14)
    opt.train()
    np.testing.assert_allclose(w, y, rtol=1e-12, atol=1e-14)
    assert opt.param_groups[0]["train_mode"]


@pytest.mark.parametrize("cls", [optim.AdamWScheduleFree, optim.SGDScheduleFree])
def test_a_step_in_eval_mode_is_refused_and_changes_nothing(cls):
    params = model()
    opt = cls(params, lr=0.01)
    opt.step(grads_for(params, np.random.default_rng(0)))
    opt.eval()
    before, state = snapshot(params), opt.state_dict()
    with pytest.raises(RuntimeError, match=r"in eval mode \(param groups \[0\]\): call "
                                           r"optimizer.train\(\) before training steps"):
        opt.step(grads_for(params, np.random.default_rng(1)))
    assert snapshot(params) == before
    after = opt.state_dict()
    assert all(np.array_equal(state[k], after[k]) for k in state)


def test_eval_mode_is_saved_and_loaded_with_the_state():
    params = model()
    opt = optim.AdamWScheduleFree(params, lr=0.01, warmup_steps=3)
    opt.step(grads_for(params, np.random.default_rng(0)))
    opt.eval()                         # the package's advice: save in eval mode (x)
    resumed = optim.AdamWScheduleFree([p.copy() for p in params])
    resumed.load_state_dict(saved(opt))
    assert resumed.param_groups[0]["train_mode"] is False
    assert resumed.param_groups[0]["warmup_steps"] == 3
    opt.train()
    resumed.train()
    for a, b in zip(opt.param_groups[0]["params"], resumed.param_groups[0]["params"]):
        assert a.tobytes() == b.tobytes()


def test_a_parameter_first_stepped_later_starts_its_own_schedule():
    """Per-parameter state (the package keeps k per group): a parameter's first step
    averages with c = 1, whatever the others have done."""
    a, b = np.ones(3), np.ones(3)
    opt = optim.SGDScheduleFree([a, b], lr=0.1)
    opt.step([np.ones(3), None])
    opt.step([np.ones(3), np.ones(3)])
    assert opt.state[0]["step"] == 2 and opt.state[1]["step"] == 1
    np.testing.assert_allclose(b, 0.9, rtol=1e-15)   # y = z after a first step


def test_bfloat16_params_keep_their_compensation_across_the_swap():
    ml_dtypes = pytest.importorskip("ml_dtypes")
    bf16 = ml_dtypes.bfloat16
    rng = np.random.default_rng(3)
    params = [rng.standard_normal(64).astype(bf16)]
    opt = optim.AdamWScheduleFree(params, lr=1e-3, kahan_sum=True, rng=1)
    for _ in range(5):
        opt.step([rng.standard_normal(64).astype(bf16)])
    state = opt.state[0]
    y = params[0].astype(np.float32) + state["compensation"].astype(np.float32)
    z = state["z"].astype(np.float32)
    opt.eval()
    x = params[0].astype(np.float32) + state["compensation"].astype(np.float32)
    expected = y + np.float32(1 - 1 / 0.9) * (z - y)
    np.testing.assert_allclose(x, expected, rtol=2 ** -15, atol=1e-6)


@pytest.mark.parametrize("kw, error, pattern", [
    (dict(momentum=0.0), ValueError, r"momentum must be in \(0, 1\), got 0.0: x is "
                                     r"recovered from y and z"),
    (dict(momentum=1.0), ValueError, r"momentum must be a finite number in \[0, 1\)"),
    (dict(warmup_steps=-1), ValueError, r"warmup_steps must be a whole number >= 0"),
    (dict(warmup_steps=2.5), ValueError, r"warmup_steps must be a whole number >= 0"),
    (dict(r=math.nan), ValueError, r"r must be a finite number, got nan"),
    (dict(weight_lr_power=-1.0), ValueError, r"weight_lr_power must be a finite number >= 0"),
    (dict(weight_lr_power="2"), ValueError, r"weight_lr_power must be a finite number"),
])
def test_bad_schedule_hyper_parameters_are_refused(kw, error, pattern):
    with pytest.raises(error, match=pattern):
        optim.SGDScheduleFree(model(), **kw)


def test_adamw_schedulefree_refuses_beta1_of_zero():
    with pytest.raises(ValueError, match=r"betas\[0\] must be in \(0, 1\)"):
        optim.AdamWScheduleFree(model(), betas=(0.0, 0.999))


# ------------------------------------------------------------- the schedulefree package
def _race_package(package_cls, ours_cls, options, dtype, seed, steps=50):
    torch = pytest.importorskip("torch")
    schedulefree = pytest.importorskip("schedulefree")
    ours = model(dtype, seed)
    theirs = [torch.tensor(p.copy(), requires_grad=True) for p in ours]
    opt_ours = ours_cls(ours, **options)
    with contextlib.redirect_stdout(io.StringIO()):    # the reference prints its switches
        opt_theirs = getattr(schedulefree, package_cls)(theirs, **options)
        opt_theirs.train()
        opt_ours.train()
        rng = np.random.default_rng(seed)
        scale = 0.0
        for _ in range(steps):
            grads = grads_for(ours, rng)
            for t, g in zip(theirs, grads):
                t.grad = torch.from_numpy(g.copy())
            opt_theirs.step()
            opt_ours.step(grads)
            scale = max([scale] + [float(np.abs(p).max()) for p in ours]
                        + [float(np.abs(opt_ours.state[i]["z"]).max()) for i in range(3)])
        _assert_close(ours, theirs, dtype, scale)
        opt_theirs.eval()
        opt_ours.eval()
        _assert_close(ours, theirs, dtype, scale)


def _assert_close(ours, theirs, dtype, scale):
    """float64 within 1e-12, float32 within 2e-6 (about 16 ulp), of the largest magnitude
    the run went through: torch's lerp and fused add-multiplies round otherwise than pywd's
    one rounding per operation, an ulp or so of the values passed through per step."""
    rtol = 1e-12 if dtype == np.float64 else 2e-6
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(p, t.detach().numpy(), rtol=rtol, atol=rtol * scale)


schedules = dict(lr=st.sampled_from([1e-3, 0.01, 0.1]),
                 weight_decay=st.sampled_from([0.0, 1e-3, 0.05]),
                 warmup_steps=st.sampled_from([0, 5, 20]), r=st.sampled_from([0.0, 0.5, 2.0]),
                 weight_lr_power=st.sampled_from([0.0, 2.0]))


@settings(max_examples=15, deadline=None)
@given(st.fixed_dictionaries(dict(schedules, betas=st.sampled_from([(0.9, 0.999),
                                                                    (0.5, 0.9)]),
                                  eps=st.sampled_from([1e-8, 1e-3]))),
       st.sampled_from([np.float32, np.float64]), st.integers(0, 100),
       st.sampled_from(["AdamWScheduleFreeReference", "AdamWScheduleFree"]))
def test_adamw_equals_the_schedulefree_package_over_50_steps(options, dtype, seed, cls):
    _race_package(cls, optim.AdamWScheduleFree, options, dtype, seed)


@settings(max_examples=15, deadline=None)
@given(st.fixed_dictionaries(dict(schedules, lr=st.sampled_from([0.01, 0.1, 1.0]),
                                  momentum=st.sampled_from([0.9, 0.5]))),
       st.sampled_from([np.float32, np.float64]), st.integers(0, 100),
       st.sampled_from(["SGDScheduleFreeReference", "SGDScheduleFree"]))
def test_sgd_equals_the_schedulefree_package_over_50_steps(options, dtype, seed, cls):
    _race_package(cls, optim.SGDScheduleFree, options, dtype, seed)
