"""pywd.optim's adaptive optimisers (Adam, AdamW, RMSprop, Adagrad, Lion, Adamax, RAdam,
Adadelta, NAdam, Rprop, ASGD, Lamb, LARS): torch's (or timm's) defaults, per-parameter step counters, state_dict round trips (of
every optimiser, SGD and SGDW too), and (if torch is installed) parity with torch.optim step
for step in every option torch has."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pywd
from helpers import (DECAY_DEFAULTS, STORAGE_DEFAULTS, grads_for, model, run_steps, saved,
                     snapshot, torch_scalars_in)
from pywd.optim import (SGD, SGDW, Adadelta, Adafactor, Adagrad, Adam, Adamax, AdamW,
                        AdamWScheduleFree,
                        Lion, NAdam, RAdam, ASGD, LARS, Lamb, RMSprop, Rprop, SGDScheduleFree)


def test_defaults_follow_torch_and_the_paper():
    assert Adam(model()).defaults == dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
                                          weight_decay=0.0, amsgrad=False, maximize=False,
                                          decay="l2", caution=False, norm_target=None, **DECAY_DEFAULTS,
                                          **STORAGE_DEFAULTS)
    assert AdamW(model()).defaults["weight_decay"] == 0.01
    assert AdamW(model()).defaults["decay"] == "decoupled"
    assert RMSprop(model()).defaults == dict(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0,
                                             momentum=0.0, centered=False, maximize=False,
                                             decay="l2", **DECAY_DEFAULTS, **STORAGE_DEFAULTS)
    assert Adagrad(model()).defaults == dict(lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                                             initial_accumulator_value=0.0, eps=1e-10,
                                             maximize=False, decay="l2",
                                             **DECAY_DEFAULTS, **STORAGE_DEFAULTS)
    assert Lion(model()).defaults == dict(lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0,
                                          maximize=False, decay="decoupled",
                                          caution=False, norm_target=None, **DECAY_DEFAULTS, **STORAGE_DEFAULTS)
    assert Adamax(model()).defaults == dict(lr=2e-3, betas=(0.9, 0.999), eps=1e-8,
                                            weight_decay=0.0, maximize=False, decay="l2",
                                            caution=False, norm_target=None, **DECAY_DEFAULTS, **STORAGE_DEFAULTS)
    assert RAdam(model()).defaults == dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
                                           weight_decay=0.0, maximize=False, decay="l2",
                                           caution=False, norm_target=None, **DECAY_DEFAULTS, **STORAGE_DEFAULTS)
    assert RAdam(model(), decoupled_weight_decay=True).defaults["decay"] == "decoupled"
    assert Adadelta(model()).defaults == dict(lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0,
                                              maximize=False, decay="l2",
                                              **DECAY_DEFAULTS, **STORAGE_DEFAULTS)
    assert NAdam(model()).defaults == dict(lr=2e-3, betas=(0.9, 0.999), eps=1e-8,
                                           weight_decay=0.0, momentum_decay=4e-3,
                                           maximize=False, decay="l2",
                                           caution=False, norm_target=None, **DECAY_DEFAULTS, **STORAGE_DEFAULTS)
    assert NAdam(model(), decoupled_weight_decay=True).defaults["decay"] == "decoupled"
    assert Lamb(model()).defaults == dict(lr=1e-3, bias_correction=True, betas=(0.9, 0.999),
                                          eps=1e-6, weight_decay=0.01, trust_clip=False,
                                          always_adapt=False, maximize=False,
                                          decay="decoupled", **DECAY_DEFAULTS,
                                          **STORAGE_DEFAULTS)
    assert LARS(model()).defaults == dict(lr=1.0, momentum=0.0, dampening=0.0,
                                          weight_decay=0.0, nesterov=False, trust_coeff=1e-3,
                                          eps=1e-8, trust_clip=False, always_adapt=False,
                                          maximize=False, decay="l2", **DECAY_DEFAULTS,
                                          **STORAGE_DEFAULTS)
    assert ASGD(model()).defaults == dict(lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6,
                                          weight_decay=0.0, maximize=False, decay="l2",
                                          **DECAY_DEFAULTS, **STORAGE_DEFAULTS)
    assert Rprop(model()).defaults == dict(lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50.0),
                                           weight_decay=0.0, maximize=False, decay="l2",
                                           **DECAY_DEFAULTS, **STORAGE_DEFAULTS)


OPTIMIZERS = [
    (Adam, dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    (AdamW, dict(lr=0.01, betas=(0.8, 0.9), decay="l1")),
    (RMSprop, dict(lr=0.01, momentum=0.9, centered=True, weight_decay=0.01)),
    (Adagrad, dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.5, decay="independent",
                   weight_decay=0.01)),
    (Lion, dict(lr=1e-3, weight_decay=0.1)),
    (Adamax, dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.01, decay="decoupled")),
    (RAdam, dict(lr=0.01, betas=(0.5, 0.9), weight_decay=0.01)),
    (Adadelta, dict(lr=0.5, rho=0.8, weight_decay=0.01, decay="l1")),
    (NAdam, dict(lr=0.01, betas=(0.8, 0.99), momentum_decay=0.01, weight_decay=0.01)),
    (Lamb, dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.05, trust_clip=True)),
    (LARS, dict(lr=0.1, momentum=0.9, weight_decay=1e-3, trust_clip=True)),
    (ASGD, dict(lr=0.05, lambd=0.01, t0=0, weight_decay=0.01, decay="independent")),
    (Rprop, dict(lr=0.01, etas=(0.4, 1.5), step_sizes=(1e-4, 1.0), weight_decay=0.01,
                 decay="decoupled")),
]


ALL_OPTIMIZERS = OPTIMIZERS + [
    (SGD, dict(lr=0.05, momentum=0.9, weight_decay=0.01, nesterov=True)),
    (SGDW, dict(lr=0.05, momentum=0.9, dampening=0.1, weight_decay=0.01)),
    (AdamWScheduleFree, dict(lr=0.01, warmup_steps=4, r=0.5, weight_decay=0.01)),
    (SGDScheduleFree, dict(lr=0.1, warmup_steps=2, weight_lr_power=1.0, decay="l1",
                           weight_decay=1e-3)),
    (Adafactor, dict(lr=0.02, beta2_decay=-0.5, eps=(None, 1e-2), d=2.0, weight_decay=0.1)),
]


@pytest.mark.parametrize("cls, hyper", ALL_OPTIMIZERS, ids=[c.__name__ for c, _ in ALL_OPTIMIZERS])
def test_state_dict_round_trip_continues_bit_for_bit(cls, hyper):
    params = model(np.float32)
    opt = cls(params, **hyper)
    run_steps(opt, params, 3, seed=1)
    checkpoint = saved(opt)
    resumed_params = [p.copy() for p in params]
    run_steps(opt, params, 3, seed=2)
    resumed = cls(resumed_params)                 # hyper-parameters come from the file
    resumed.load_state_dict(checkpoint)
    run_steps(resumed, resumed_params, 3, seed=2)
    assert snapshot(resumed_params) == snapshot(params)
    assert resumed.param_groups[0] == {**opt.param_groups[0], "params": resumed_params}


@pytest.mark.parametrize("cls, hyper", OPTIMIZERS, ids=[c.__name__ for c, _ in OPTIMIZERS])
def test_optimizer_equals_its_functional_kernel_on_one_step(cls, hyper):
    params = model()
    grads = grads_for(params, np.random.default_rng(0))
    ref = [p.copy() for p in params]
    cls(params, **hyper).step(grads)
    zeros = lambda: [np.zeros_like(p) for p in ref]   # noqa: E731
    if cls is Adagrad:
        sums = [np.full_like(p, hyper["initial_accumulator_value"]) for p in ref]
        pywd.adagrad(ref, grads, sums, step=1, lr=0.1, lr_decay=0.01, weight_decay=0.01,
                     decay="independent")
    elif cls is RMSprop:
        pywd.rmsprop(ref, grads, zeros(), zeros(), zeros(), lr=0.01, momentum=0.9,
                     centered=True, weight_decay=0.01, decay="l2")
    elif cls is Lion:
        pywd.lion(ref, grads, zeros(), lr=1e-3, weight_decay=0.1)
    elif cls is Adadelta:
        pywd.adadelta(ref, grads, zeros(), zeros(), lr=0.5, rho=0.8, weight_decay=0.01,
                      decay="l1")
    elif cls is Lamb:
        pywd.lamb(ref, grads, zeros(), zeros(), step=1, lr=0.01, beta1=0.8, beta2=0.99,
                  weight_decay=0.05, trust_clip=True)
    elif cls is LARS:
        pywd.lars(ref, grads, zeros(), lr=0.1, momentum=0.9, weight_decay=1e-3,
                  trust_clip=True, first_step=True)
    elif cls is ASGD:
        pywd.asgd(ref, grads, zeros(), step=1, lr=0.05, lambd=0.01, t0=0, weight_decay=0.01,
                  decay="independent")
    elif cls is Rprop:
        pywd.rprop(ref, grads, zeros(), [np.full_like(p, 0.01) for p in ref], lr=0.01,
                   etaminus=0.4, etaplus=1.5, step_size_min=1e-4, step_size_max=1.0,
                   weight_decay=0.01, decay="decoupled")
    elif cls is NAdam:
        pywd.nadam(ref, grads, zeros(), zeros(), step=1, lr=0.01, beta1=0.8, beta2=0.99,
                   momentum_decay=0.01, weight_decay=0.01)
    elif cls is RAdam:
        pywd.radam(ref, grads, zeros(), zeros(), step=1, lr=0.01, beta1=0.5, beta2=0.9,
                   weight_decay=0.01)
    elif cls is Adamax:
        pywd.adamax(ref, grads, zeros(), zeros(), step=1, lr=0.01, beta1=0.8, beta2=0.99,
                    weight_decay=0.01, decay="decoupled")
    else:
        beta1, beta2 = hyper.get("betas", (0.9, 0.999))
        kind = pywd.adamw if cls is AdamW else pywd.adam
        extra = {k: v for k, v in hyper.items() if k != "betas"}
        kind(ref, grads, zeros(), zeros(), step=1, beta1=beta1, beta2=beta2,
             max_exp_avg_sqs=zeros(), **{"decay": "l2", **extra} if cls is Adam else extra)
    assert snapshot(params) == snapshot(ref)


def test_step_counters_are_per_parameter():
    a, b = model(shapes=((3,), (4,)))
    opt = Adam([a, b], lr=0.1)
    opt.step([np.ones(3), None])
    opt.step([np.ones(3), np.ones(4)])
    assert opt.state[0]["step"] == 2 and opt.state[1]["step"] == 1
    # b's first step is bias-corrected as a first step: it moves by lr
    np.testing.assert_allclose(b, model(shapes=((3,), (4,)))[1] - 0.1, rtol=0, atol=1e-8)


def test_adagrad_starts_from_initial_accumulator_value():
    (w,) = model(shapes=((3,),))
    opt = Adagrad([w], initial_accumulator_value=2.0)
    opt.step([np.ones(3)])
    np.testing.assert_array_equal(opt.state[0]["sum"], 3.0)
    with pytest.raises(ValueError, match="initial_accumulator_value must be a finite number >= 0"):
        Adagrad([w], initial_accumulator_value=-1.0)


def test_bad_betas_and_bad_counters_are_refused():
    (w,) = model(shapes=((3,),))
    with pytest.raises(TypeError, match=r"betas must be a pair"):
        Adam([w], betas=(0.9,))
    with pytest.raises(ValueError, match=r"beta2 must be a finite number in \[0, 1\)"):
        Lion([w], betas=(0.9, 1.0))
    opt = Adam([w], lr=0.1)
    opt.step([np.ones(3)])
    sd = opt.state_dict()
    for bad in (np.array(-1), np.array(1.5), np.array([1, 2])):
        with pytest.raises(ValueError, match=r"state/0/step'\] must be an int in \[0, 2\*\*62\)"):
            opt.load_state_dict({**sd, "state/0/step": bad})
    with pytest.raises(ValueError, match=r"param_groups/0/betas'\] must be 2 numbers"):
        opt.load_state_dict({**sd, "param_groups/0/betas": np.array(0.9)})
    assert opt.state[0]["step"] == 1


# ------------------------------------------------------------------------ torch parity
def assert_close_to_torch(ours, theirs, dtype, scale=0.0):
    """float64 within 1e-12 and float32 within 1e-6 (about 8 ulp) of the largest magnitude
    the run went through (the array's largest value now, or `scale`: the largest weight or
    step along the way), after the steps: torch's CPU kernels fuse multiply-adds and write
    the moments' updates as lerp, pywd rounds each operation, so values drift apart by an
    ulp or so a step of the values they pass through (a weight that moves by 1 and comes
    back near 0 carries ulp(1) of difference)."""
    rtol = 1e-12 if dtype == np.float64 else 1e-6
    for p, t in zip(ours, theirs):
        expected = t.detach().numpy()
        np.testing.assert_allclose(p, expected, rtol=rtol,
                                   atol=rtol * max(np.abs(expected).max(), scale))


def race_torch(ours_cls, torch_name, options, dtype, seed, steps=6):
    torch = pytest.importorskip("torch")
    with torch_scalars_in(torch, dtype):
        _race_torch(torch, ours_cls, torch_name, options, dtype, seed, steps)


def _race_torch(torch, ours_cls, torch_name, options, dtype, seed, steps):
    ours = model(dtype, seed)
    theirs = [torch.tensor(p.copy(), requires_grad=True) for p in ours]
    opt_ours = ours_cls(ours, **options)
    opt_theirs = getattr(torch.optim, torch_name)(theirs, **options)
    rng = np.random.default_rng(seed)
    scale = 0.0
    for _ in range(steps):
        grads = grads_for(ours, rng)
        for t, g in zip(theirs, grads):
            t.grad = torch.from_numpy(g.copy())
        before = [p.copy() for p in ours]
        opt_theirs.step()
        opt_ours.step(grads)
        scale = max([scale] + [float(np.abs(p).max(initial=0)) for p in ours]
                    + [float(np.abs(p - b).max(initial=0)) for p, b in zip(ours, before)])
    assert_close_to_torch(ours, theirs, dtype, scale)


common = dict(lr=st.sampled_from([1e-3, 0.01, 0.1]),
              weight_decay=st.sampled_from([0.0, 1e-4, 0.05]), maximize=st.booleans())
adam_options = st.fixed_dictionaries(dict(
    common, betas=st.sampled_from([(0.9, 0.999), (0.5, 0.9), (0.0, 0.99)]),
    eps=st.sampled_from([1e-8, 1e-3]), amsgrad=st.booleans()))
rmsprop_options = st.fixed_dictionaries(dict(
    common, alpha=st.sampled_from([0.99, 0.9]), eps=st.sampled_from([1e-8, 1e-3]),
    momentum=st.sampled_from([0.0, 0.9]), centered=st.booleans()))
adamax_options = st.fixed_dictionaries(dict(
    common, betas=st.sampled_from([(0.9, 0.999), (0.5, 0.9), (0.0, 0.99)]),
    eps=st.sampled_from([1e-8, 1e-3])))
adagrad_options = st.fixed_dictionaries(dict(
    common, lr_decay=st.sampled_from([0.0, 0.01]), eps=st.sampled_from([1e-10, 1e-3]),
    initial_accumulator_value=st.sampled_from([0.0, 0.1])))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@settings(max_examples=25)
@given(options=adam_options, seed=st.integers(0, 2**16))
def test_adam_and_adamw_equal_torch(dtype, options, seed):
    race_torch(Adam, "Adam", options, dtype, seed)
    race_torch(AdamW, "AdamW", options, dtype, seed)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@settings(max_examples=25)
@given(options=rmsprop_options, seed=st.integers(0, 2**16))
def test_rmsprop_equals_torch(dtype, options, seed):
    race_torch(RMSprop, "RMSprop", options, dtype, seed)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@settings(max_examples=25)
@given(options=adagrad_options, seed=st.integers(0, 2**16))
def test_adagrad_equals_torch(dtype, options, seed):
    race_torch(Adagrad, "Adagrad", options, dtype, seed)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@settings(max_examples=25)
@given(options=adamax_options, seed=st.integers(0, 2**16))
def test_adamax_equals_torch_over_20_steps(dtype, options, seed):
    race_torch(Adamax, "Adamax", options, dtype, seed, steps=20)


radam_options = st.fixed_dictionaries(dict(
    common, betas=st.sampled_from([(0.9, 0.999), (0.5, 0.9), (0.0, 0.99)]),
    eps=st.sampled_from([1e-8, 1e-3]), decoupled_weight_decay=st.booleans()))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@settings(max_examples=25)
@given(options=radam_options, seed=st.integers(0, 2**16))
def test_radam_equals_torch_over_20_steps(dtype, options, seed):
    """Through the switch at rho_t > 5 (step 6 for beta2 0.999, 2 for 0.9), with torch's
    decoupled_weight_decay and maximize."""
    race_torch(RAdam, "RAdam", options, dtype, seed, steps=20)


adadelta_options = st.fixed_dictionaries(dict(
    common, lr=st.sampled_from([1.0, 0.1]), rho=st.sampled_from([0.9, 0.5]),
    eps=st.sampled_from([1e-6, 1e-3])))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@settings(max_examples=25)
@given(options=adadelta_options, seed=st.integers(0, 2**16))
def test_adadelta_equals_torch_over_20_steps(dtype, options, seed):
    race_torch(Adadelta, "Adadelta", options, dtype, seed, steps=20)


nadam_options = st.fixed_dictionaries(dict(
    common, betas=st.sampled_from([(0.9, 0.999), (0.5, 0.9), (0.0, 0.99)]),
    eps=st.sampled_from([1e-8, 1e-3]), momentum_decay=st.sampled_from([4e-3, 0.1, 0.0]),
    decoupled_weight_decay=st.booleans()))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@settings(max_examples=25)
@given(options=nadam_options, seed=st.integers(0, 2**16))
def test_nadam_equals_torch_over_20_steps(dtype, options, seed):
    race_torch(NAdam, "NAdam", options, dtype, seed, steps=20)


def test_nadam_float64_is_within_float32_scalars_of_stock_torch():
    """With torch's default dtype left at float32, its mu_product is rounded to float32 each
    step: float64 weights then differ from pywd's (which keeps it in float64) by about that
    rounding, 1e-8 relative, and no more."""
    torch = pytest.importorskip("torch")
    ours = model(np.float64, 1)
    theirs = [torch.tensor(p.copy(), requires_grad=True) for p in ours]
    opt_ours, opt_theirs = NAdam(ours, lr=0.01), torch.optim.NAdam(theirs, lr=0.01)
    rng = np.random.default_rng(1)
    for _ in range(20):
        grads = grads_for(ours, rng)
        for t, g in zip(theirs, grads):
            t.grad = torch.from_numpy(g.copy())
        opt_theirs.step()
        opt_ours.step(grads)
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(p, t.detach().numpy(), rtol=1e-7, atol=1e-9)


rprop_options = st.fixed_dictionaries(dict(     # torch's Rprop has no weight decay
    lr=st.sampled_from([1e-3, 0.01, 0.1]), maximize=st.booleans(),
    etas=st.sampled_from([(0.5, 1.2), (0.3, 2.0)]),
    step_sizes=st.sampled_from([(1e-6, 50.0), (1e-3, 0.05), (0.0, 1.0)])))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@settings(max_examples=25)
@given(options=rprop_options, seed=st.integers(0, 2**16))
def test_rprop_equals_torch_over_20_steps(dtype, options, seed):
    race_torch(Rprop, "Rprop", options, dtype, seed, steps=20)


asgd_options = st.fixed_dictionaries(dict(
    common, lambd=st.sampled_from([1e-4, 0.05]), alpha=st.sampled_from([0.75, 0.5]),
    t0=st.sampled_from([1e6, 5.0, 0.0])))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@settings(max_examples=25)
@given(options=asgd_options, seed=st.integers(0, 2**16))
def test_asgd_equals_torch_over_20_steps(dtype, options, seed):
    """Through the start of averaging (t0 = 0 and 5 reach it within the run)."""
    race_torch(ASGD, "ASGD", options, dtype, seed, steps=20)
