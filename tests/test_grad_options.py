"""nonfinite=, grad_scale= and max_grad_norm= on every update function and optimiser class:
against the reference, against the equations (and torch when installed), and the promise
that a skipped or refused step touches nothing."""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import pywd
from helpers import (VALID_CALLS, assert_all_match, copies, grads_for, model, nonnegative,
                     saved, small_or_threaded, table_arrays)
from pywd import optim, reference

# Each update with every option it has in play: (optional state arrays passed, options),
# the valid call (helpers.VALID_CALLS) with a weight decay unless it has its own below
# (sgdw and adamw run sgd's and adam's kernels, Muon takes matrices only: test_muon.py, the
# bare decay has no gradient). Its array lists (from the table of optimisers,
# pywd/_optimisers.py) are params, grads, then the state arrays (kept >= 0, valid for every
# state).
OWN = {
    "sgd": (("momentum_buffers",), dict(lr=0.1, momentum=0.9, weight_decay=0.01, decay="l2")),
    "adam": (("max_exp_avg_sqs",), dict(step=3, lr=0.01, amsgrad=True, weight_decay=0.01)),
    "rmsprop": (("momentum_buffers", "grad_avgs"),
                dict(lr=0.01, momentum=0.9, centered=True, weight_decay=0.1)),
    "adagrad": ((), dict(step=2, lr=0.1, decay="l1", weight_decay=0.01)),
    "lion": ((), dict(lr=0.01, weight_decay=0.1)),
    "adamax": ((), dict(step=2, lr=0.01, weight_decay=0.1, decay="decoupled")),
    "radam": ((), dict(step=7, lr=0.01, weight_decay=0.1)),
    "rprop": ((), dict(lr=0.01, weight_decay=0.1)),
    "asgd": ((), dict(step=4, lr=0.01, t0=1.0, weight_decay=0.1)),
    "lamb": ((), dict(step=2, lr=0.01, weight_decay=0.1)),
    "lars": (("momentum_buffers",), dict(lr=0.1, momentum=0.9, weight_decay=0.1)),
    "nadam": ((), dict(step=2, lr=0.01, weight_decay=0.1)),
    "adadelta": ((), dict(lr=0.5, weight_decay=0.1, decay="decoupled")),
    "adamw_schedulefree": ((), dict(step=2, average_weight=0.5, lr=0.01, weight_decay=0.1)),
    "sgd_schedulefree": ((), dict(average_weight=0.3, lr=0.1, weight_decay=0.1)),
}
CALLS = {name: OWN.get(name, (optional, dict(options, weight_decay=0.1)))
         for name, (optional, options) in VALID_CALLS.items()
         if name not in ("sgdw", "adamw", "muon", "decay")}
ARRAYS = {name: list(table_arrays(name, optional)) for name, (optional, _) in CALLS.items()}
NAMES = sorted(CALLS)


def call(name, module, arrays, **options):
    return getattr(module, name)(**dict(zip(ARRAYS[name], arrays)),
                                 **{**CALLS[name][1], **options})


def state(arrays):
    """params and grads as drawn, state arrays made >= 0."""
    return [arrays[0], arrays[1], *nonnegative(arrays[2:])]


def arrays_for(name, seed=0, dtype=np.float64, shapes=((5, 4), (7,), (3, 3))):
    """Random params and grads, zero state (valid for every optimiser)."""
    rng = np.random.default_rng(seed)
    params, grads = ([rng.standard_normal(s).astype(dtype) for s in shapes] for _ in "pg")
    return [params, grads] + [[np.zeros(s, dtype) for s in shapes]
                              for _ in range(len(ARRAYS[name]) - 2)]


options = st.fixed_dictionaries(dict(
    nonfinite=st.sampled_from(["propagate", "skip", "raise"]),
    grad_scale=st.sampled_from([1.0, 0.5, 3.0, 1024.0, 1e-3]),
    max_grad_norm=st.sampled_from([None, 1e-3, 0.5, 10.0, 1e6, math.inf])))


@pytest.mark.parametrize("name", NAMES)
@given(data=st.data(), opts=options)
def test_options_match_reference(name, data, opts):
    arrays = state(data.draw(small_or_threaded(len(ARRAYS[name]))))
    ours, ref = copies(arrays), copies(arrays)
    result = call(name, pywd, ours, **opts)
    applied, norm = call(name, reference, ref, **opts)
    assert result.applied is applied is True
    assert_all_match(ours, ref)
    if norm is None:
        assert result.grad_norm is None
    else:
        assert result.grad_norm == pytest.approx(norm, rel=1e-12, abs=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_grad_norm_is_the_global_two_norm_of_the_unscaled_gradients(dtype):
    arrays = arrays_for("sgd", dtype=dtype)
    flat = np.concatenate([g.astype(np.float64).ravel() for g in arrays[1]])
    result = pywd.sgd(arrays[0], arrays[1], arrays[2], lr=0.0, momentum=0.9, grad_scale=8.0,
                      max_grad_norm=math.inf)
    assert result.grad_norm == pytest.approx(np.linalg.norm(flat) / 8.0, rel=1e-13)


def test_clipping_scales_the_gradient_to_the_max_norm():
    """lr=1 from zero weights leaves w = -g*clip: its norm is max_grad_norm (up to the 1e-6
    guard), its direction g's; below the threshold the gradient is untouched."""
    g = [np.arange(1.0, 7.0), np.full((2, 2), -3.0)]
    norm = math.sqrt(sum(float(np.sum(x * x)) for x in g))
    w = [np.zeros(6), np.zeros((2, 2))]
    result = pywd.sgd(w, g, lr=1.0, max_grad_norm=2.0)
    clip = 2.0 / (norm + 1e-6)
    assert result.grad_norm == pytest.approx(norm, rel=1e-15)
    for wi, gi in zip(w, g):
        np.testing.assert_allclose(wi, -gi * clip, rtol=1e-15)
    w = [np.zeros(6), np.zeros((2, 2))]
    pywd.sgd(w, g, lr=1.0, max_grad_norm=norm * 2)
    for wi, gi in zip(w, g):
        assert (wi == -gi).all()


def clip_with_a_bad_gradient(name, value):
    """`name`'s update by pywd and by the reference with max_grad_norm=0.1 and one gradient
    element set to `value` (inf or NaN), nonfinite="propagate": (pywd's arrays, the
    reference's, pywd's StepResult, the reference's (applied, norm))."""
    arrays = arrays_for(name, dtype=np.float32)
    arrays[1][0][1, 2] = value
    ours, ref = copies(arrays), copies(arrays)
    result = call(name, pywd, ours, max_grad_norm=0.1)
    with np.errstate(invalid="ignore"):
        expected = call(name, reference, ref, max_grad_norm=0.1)
    return ours, ref, result, expected


@pytest.mark.parametrize("name", NAMES)
def test_an_infinite_norm_clips_every_gradient_by_zero_as_torch(name):
    """nonfinite="propagate" with max_grad_norm and an inf gradient: the clip factor is 0, so
    the inf becomes NaN and the finite gradients 0 (the reference once divided by that 0:
    found by hypothesis in CI)."""
    ours, ref, result, (applied, norm) = clip_with_a_bad_gradient(name, np.inf)
    assert result.applied is applied is True and result.grad_norm == norm == math.inf
    assert_all_match(ours, ref)
    assert np.isnan(ours[0][0][1, 2]) and np.isfinite(ours[0][1]).all()


@pytest.mark.parametrize("name", NAMES)
def test_a_nan_norm_clips_every_gradient_by_nan_as_torch(name):
    """A NaN gradient with max_grad_norm (nonfinite="propagate"): the clip factor
    max_norm / (NaN + 1e-6) is NaN, and torch's clip_grad_norm_ multiplies every gradient
    by it (the reference once clipped by 0 here, leaving the other params finite: found by
    hypothesis)."""
    ours, ref, result, (applied, norm) = clip_with_a_bad_gradient(name, np.nan)
    assert result.applied is applied is True and math.isnan(result.grad_norm)
    assert math.isnan(norm)
    assert_all_match(ours, ref)
    if name != "decay":
        assert np.isnan(ours[0][1]).any()      # the other parameter's step is NaN too


def test_grad_scale_divides_the_gradient_before_decay():
    w, g = np.full(4, 2.0), np.full(4, 1024.0)
    pywd.sgd(w, g, lr=0.5, weight_decay=0.25, decay="l2", grad_scale=512.0)
    assert (w == 2.0 - 0.5 * (2.0 + 0.25 * 2.0)).all()   # g/512 = 2, then + wd*w


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_skip_and_raise_leave_every_array_untouched(name, bad, dtype):
    arrays = arrays_for(name, dtype=dtype)
    arrays[1][2].flat[4] = bad             # the last gradient, mid-array
    before = [a.tobytes() for lst in arrays for a in lst]
    result = call(name, pywd, arrays, nonfinite="skip")
    assert not result and result.applied is False and result == False  # noqa: E712
    assert not math.isfinite(result.grad_norm)
    with pytest.raises(FloatingPointError, match=r"grads\[2\]"):
        call(name, pywd, arrays, nonfinite="raise", max_grad_norm=1.0)
    assert [a.tobytes() for lst in arrays for a in lst] == before
    call(name, pywd, arrays)    # "propagate", torch's behaviour: into that parameter's
    written = [arrays[0]] + arrays[2:]      # weight or state (Lion's sign() hides an inf)
    assert not all(np.isfinite(lst[2]).all() for lst in written)
    assert all(np.isfinite(lst[0]).all() for lst in written)   # and no other


def test_huge_finite_float64_gradients_are_finite_not_skipped():
    """Squares of 1e200 overflow float64; the norm is still right and the step applied."""
    w, g = np.zeros(4), np.full(4, 1e200)
    result = pywd.sgd(w, g, lr=1.0, nonfinite="skip", max_grad_norm=1.0)
    assert result.applied and result.grad_norm == pytest.approx(2e200, rel=1e-15)
    np.testing.assert_allclose(w, -0.5, rtol=1e-12)   # clipped to unit norm


@pytest.mark.parametrize("name", NAMES)
def test_float32_gradients_that_overflow_once_unscaled_are_nonfinite(name):
    """The norm is float64 and finite, but 1e30 / 1e-10 is inf in the float32
    kernel: "skip" and "raise" judge finiteness in the kernel's dtype."""
    arrays = arrays_for(name, dtype=np.float32)
    arrays[1][2].flat[4] = 1e30
    before = [a.tobytes() for lst in arrays for a in lst]
    result = call(name, pywd, arrays, nonfinite="skip", grad_scale=1e-10)
    assert not result and math.isfinite(result.grad_norm)
    with pytest.raises(FloatingPointError, match=r"grads\[2\] overflows float32"):
        call(name, pywd, arrays, nonfinite="raise", grad_scale=1e-10)
    assert [a.tobytes() for lst in arrays for a in lst] == before
    assert call(name, pywd, arrays, nonfinite="skip", grad_scale=1e-7)   # 1e37: finite
    as64 = arrays_for(name, dtype=np.float64)
    as64[1][2].flat[4] = 1e30
    assert call(name, pywd, as64, nonfinite="skip", grad_scale=1e-10)    # finite in float64


@pytest.mark.parametrize("name", NAMES)
def test_hyper_parameters_must_be_finite_in_the_kernels_dtype(name):
    arrays = arrays_for(name, dtype=np.float32)
    before = [a.tobytes() for lst in arrays for a in lst]
    # ASGD's float32 arithmetic sees its step size eta, computed from lr in double
    rate = "eta" if name == "asgd" else "lr"
    big = {"lr": 1e39, rate: 1e39, "weight_decay": 0.0}
    with pytest.raises(ValueError, match=rf"{rate} must be finite in float32, the arrays'"):
        call(name, pywd, arrays, **big)
    with pytest.raises(ValueError, match=r"grad_scale must be >= 3e-39 for float32"):
        call(name, pywd, arrays, grad_scale=1e-40)
    assert [a.tobytes() for lst in arrays for a in lst] == before
    as64 = arrays_for(name, dtype=np.float64)
    call(name, pywd, as64, **big)
    call(name, pywd, as64, grad_scale=1e-40)


def test_bare_decay_hyper_parameters_must_be_finite_in_float32():
    w = np.ones(3, np.float32)
    with pytest.raises(ValueError, match=r"weight_decay must be finite in float32"):
        pywd.decay(w, lr=0.0, weight_decay=1e39, decay="l1")
    assert (w == 1).all()


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(nonfinite="ignore"), ValueError, "nonfinite must be one of"),
    (dict(nonfinite=None), TypeError, "nonfinite must be a str"),
    (dict(grad_scale=0.0), ValueError, "grad_scale must be a finite number > 0"),
    (dict(grad_scale=-2.0), ValueError, "grad_scale"),
    (dict(grad_scale=math.nan), ValueError, "grad_scale"),
    (dict(grad_scale=math.inf), ValueError, "grad_scale"),
    (dict(grad_scale="2"), TypeError, "grad_scale must be a real number"),
    (dict(max_grad_norm=0.0), ValueError, "max_grad_norm must be a number > 0"),
    (dict(max_grad_norm=-1.0), ValueError, "max_grad_norm"),
    (dict(max_grad_norm=math.nan), ValueError, "max_grad_norm"),
    (dict(max_grad_norm=[1.0]), TypeError, "max_grad_norm must be a real number"),
])
@pytest.mark.parametrize("name", NAMES)
def test_bad_options_are_refused_before_anything_changes(name, kwargs, error, match):
    arrays = arrays_for(name)
    before = [a.tobytes() for lst in arrays for a in lst]
    with pytest.raises(error, match=match):
        call(name, pywd, arrays, **kwargs)
    assert [a.tobytes() for lst in arrays for a in lst] == before


def test_step_result_reads_as_the_applied_flag():
    assert pywd.StepResult(True) and not pywd.StepResult(False, math.nan)
    assert repr(pywd.StepResult(False, 2.5)) == \
        "StepResult(applied=False, grad_norm=2.5, reason='nonfinite')"
    assert pywd.StepResult(True, 1.0).reason is None
    assert pywd.StepResult(True, 1.0) == pywd.StepResult(True, 1.0) != pywd.StepResult(True)
    assert pywd.StepResult(False, 1.0) == False and pywd.StepResult(True) == True  # noqa: E712
    assert pywd.StepResult(True) != False and hash(pywd.StepResult(True, 2.0)) == hash(True)


# ------------------------------------------------------------------- optimiser classes
CLASSES = [(optim.SGD, dict(lr=0.1, momentum=0.9)), (optim.AdamW, dict(lr=0.01)),
           (optim.Adam, dict(lr=0.01, amsgrad=True)), (optim.RMSprop, dict(lr=0.01)),
           (optim.Adagrad, dict(lr=0.1)), (optim.Lion, dict(lr=0.01)),
           (optim.Adafactor, dict(lr=0.01))]


@pytest.mark.parametrize("cls, hyper", CLASSES)
def test_optimizer_skips_a_nonfinite_step_without_advancing(cls, hyper):
    params = model()
    fresh = [p.copy() for p in params]
    opt, twin = cls(params, **hyper), cls(fresh, **hyper)
    rng = np.random.default_rng(1)
    bad = grads_for(params, rng)
    bad[1][0] = np.nan
    before = [p.tobytes() for p in params]
    result = opt.step(bad, nonfinite="skip")
    assert not result and opt.skipped_steps == 1
    assert [p.tobytes() for p in params] == before
    assert opt.state == {}                   # no counter advanced, no state created
    with pytest.raises(FloatingPointError, match=r"grads\[1\]"):
        opt.step(bad, nonfinite="raise")
    assert opt.skipped_steps == 1 and opt.state == {}
    good = grads_for(params, rng)
    assert opt.step(good, nonfinite="skip") and twin.step(good)
    assert [p.tobytes() for p in params] == [p.tobytes() for p in fresh]
    assert saved(opt)["skipped_steps"] == 1


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_optimizer_clips_by_the_norm_over_every_group(dtype):
    """Two groups with the same hyper-parameters clip exactly like one functional call over
    the whole list: the norm is global, not per group."""
    params = model(dtype)
    flat = [p.copy() for p in params]
    grads = [g * 10 for g in grads_for(params, np.random.default_rng(2))]
    opt = optim.SGD([{"params": params[:1]}, {"params": params[1:]}], lr=0.1)
    result = opt.step(grads, grad_scale=4.0, max_grad_norm=0.5)
    expected = pywd.sgd(flat, grads, lr=0.1, decay="l2", grad_scale=4.0, max_grad_norm=0.5)
    assert result == expected and result.grad_norm > 0.5
    assert [p.tobytes() for p in params] == [p.tobytes() for p in flat]


def test_optimizer_state_dict_round_trips_skipped_steps():
    params = model()
    opt = optim.Adam(params)
    grads = grads_for(params, np.random.default_rng(3))
    grads[0][...] = np.inf
    opt.step(grads, nonfinite="skip")
    other = optim.Adam(model())
    other.load_state_dict(saved(opt))
    assert other.skipped_steps == 1
    bad = dict(opt.state_dict(), skipped_steps=np.array(-1))
    with pytest.raises(ValueError, match="skipped_steps"):
        other.load_state_dict(bad)


def test_torch_clip_grad_norm_and_unscale_then_sgd_match():
    torch = pytest.importorskip("torch")
    params = model()
    grads = [g * 7 for g in grads_for(params, np.random.default_rng(4))]
    tparams = [torch.tensor(p, requires_grad=True) for p in params]
    for t, g in zip(tparams, grads):
        t.grad = torch.tensor(g * 64.0)       # scaled by a loss scale of 64
    topt = torch.optim.SGD(tparams, lr=0.1, momentum=0.9, weight_decay=0.01)
    for t in tparams:
        t.grad.mul_(1.0 / 64.0)               # GradScaler.unscale_
    tnorm = torch.nn.utils.clip_grad_norm_(tparams, max_norm=1.0)
    topt.step()
    opt = optim.SGD(params, lr=0.1, momentum=0.9, weight_decay=0.01)
    result = opt.step([g * 64.0 for g in grads], grad_scale=64.0, max_grad_norm=1.0)
    assert result.grad_norm == pytest.approx(float(tnorm), rel=1e-12)
    for p, t in zip(params, tparams):
        np.testing.assert_allclose(p, t.detach().numpy(), rtol=1e-12, atol=1e-15)
