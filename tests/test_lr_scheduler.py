"""pywd.optim.lr_scheduler: the value sequences equal torch's (float64, 1e-12 relative,
>= 1000 steps, milestones and the cosine's troughs included) when torch is installed, and
closed forms always; field="weight_decay"; npz state dicts; bad input."""
import inspect
import io
import math

import numpy as np
import pytest

from pywd import optim, schedules
from pywd.optim import lr_scheduler as S

# torch warns that its schedulers step before any optimizer.step(): these runs only
# compare values
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

STEPS = 1200
# (name, pywd and torch constructor arguments), applied to a two-group optimizer
CASES = [
    ("LambdaLR", dict(lr_lambda=lambda t: 0.95 ** t)),
    ("MultiplicativeLR", dict(lr_lambda=lambda t: 0.999)),
    ("StepLR", dict(step_size=30, gamma=0.5)),
    ("MultiStepLR", dict(milestones=[100, 400, 400, 900], gamma=0.3)),
    ("ConstantLR", dict(factor=0.25, total_iters=50)),
    ("LinearLR", dict(start_factor=0.01, end_factor=1.0, total_iters=500)),
    ("LinearLR", dict(start_factor=1.0, end_factor=0.05, total_iters=700)),
    ("ExponentialLR", dict(gamma=0.998)),
    ("PolynomialLR", dict(total_iters=1000, power=2.0)),
    ("CosineAnnealingLR", dict(T_max=300, eta_min=1e-4)),
]


def two_groups(lib):
    if lib is optim:
        return optim.SGD([{"params": [np.zeros(2)], "lr": 0.1},
                          {"params": [np.zeros(3)], "lr": 0.02}], momentum=0.9)
    torch = lib
    return torch.optim.SGD([{"params": [torch.zeros(2, requires_grad=True)], "lr": 0.1},
                            {"params": [torch.zeros(3, requires_grad=True)], "lr": 0.02}],
                           momentum=0.9)


def sequence(opt, sched, steps=STEPS):
    out = [sched.get_last_lr()]
    for _ in range(steps):
        sched.step()
        out.append(sched.get_last_lr())
    return np.array(out, dtype=np.float64)


@pytest.mark.parametrize("name, kwargs", CASES, ids=[c[0] for c in CASES])
def test_values_equal_torchs(name, kwargs):
    torch = pytest.importorskip("torch")
    ours_opt, theirs_opt = two_groups(optim), two_groups(torch)
    ours = sequence(ours_opt, getattr(S, name)(ours_opt, **kwargs))
    theirs = sequence(theirs_opt, getattr(torch.optim.lr_scheduler, name)(theirs_opt, **kwargs))
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=0)
    assert [g["lr"] for g in ours_opt.param_groups] == list(ours[-1])


def test_chained_scheduler_equals_torchs():
    torch = pytest.importorskip("torch")
    seqs = []
    for lib, mod in ((optim, S), (torch, torch.optim.lr_scheduler)):
        opt = two_groups(lib)
        chain = mod.ChainedScheduler([mod.ConstantLR(opt, factor=0.1, total_iters=20),
                                      mod.ExponentialLR(opt, gamma=0.99)])
        seqs.append(sequence(opt, chain, 300))
    np.testing.assert_allclose(seqs[0], seqs[1], rtol=1e-12, atol=0)


def closed_form(name, base, t):
    return {"StepLR": base * 0.5 ** (t // 30),
            "ExponentialLR": base * 0.998 ** t,
            "CosineAnnealingLR": 1e-4 + (base - 1e-4) * (1 + math.cos(math.pi * t / 300)) / 2,
            "PolynomialLR": base * (1 - min(t, 1000) / 1000) ** 2,
            "LinearLR": base * (0.01 + (1 - 0.01) * min(t, 500) / 500)}[name]


@pytest.mark.parametrize("name, kwargs", [c for c in CASES if c[0] in (
    "StepLR", "ExponentialLR", "CosineAnnealingLR", "PolynomialLR")] + [CASES[5]],
    ids=["StepLR", "ExponentialLR", "PolynomialLR", "CosineAnnealingLR", "LinearLR"])
def test_values_equal_the_closed_forms(name, kwargs):
    opt = two_groups(optim)
    seq = sequence(opt, getattr(S, name)(opt, **kwargs))
    for t in range(0, STEPS + 1, 7):
        for g, base in enumerate((0.1, 0.02)):
            assert seq[t, g] == pytest.approx(closed_form(name, base, t), rel=1e-9, abs=1e-15)


def test_field_weight_decay_is_dinos_ramp_and_keeps_the_lr():
    opt = optim.AdamW([np.zeros(2)], lr=1e-3, weight_decay=0.04)
    ramp = S.LambdaLR(opt, lambda t: 1 + 9 * (1 - math.cos(math.pi * t / 100)) / 2,
                      field="weight_decay")                  # 0.04 -> 0.4, cosine
    for _ in range(100):
        ramp.step()
    assert opt.param_groups[0]["weight_decay"] == pytest.approx(0.4, rel=1e-12)
    assert opt.param_groups[0]["initial_weight_decay"] == 0.04
    assert opt.param_groups[0]["lr"] == 1e-3
    opt.step([np.ones(2)])                                  # the optimiser takes it


def test_state_dict_round_trips_through_npz_without_pickle():
    opt = two_groups(optim)
    sched = S.MultiStepLR(opt, milestones=[3, 5, 5], gamma=0.5)
    for _ in range(4):
        sched.step()
    buf = io.BytesIO()
    np.savez(buf, **sched.state_dict())
    buf.seek(0)
    fresh = S.MultiStepLR(two_groups(optim), milestones=[1], gamma=0.9)
    fresh.load_state_dict(np.load(buf))
    assert fresh.last_epoch == 4 and fresh.gamma == 0.5
    assert fresh.milestones == sched.milestones
    with pytest.raises(ValueError, match="not have"):
        fresh.load_state_dict({"T_max": np.array(3)})


@pytest.mark.parametrize("make, error, pattern", [
    (lambda o: S.StepLR(o, step_size=0), ValueError, "step_size must be an int >= 1"),
    (lambda o: S.ConstantLR(o, factor=1.5), ValueError, r"factor must be a finite number"),
    (lambda o: S.LinearLR(o, start_factor=0.0), ValueError, "start_factor"),
    (lambda o: S.CosineAnnealingLR(o, T_max=0), ValueError, "T_max must be an int >= 1"),
    (lambda o: S.LambdaLR(o, [lambda t: 1.0]), ValueError, "expected 2 lr_lambdas"),
    (lambda o: S.LambdaLR(o, 3.0), TypeError, "lr_lambda must be a function"),
    (lambda o: S.StepLR(o, 10, field="beta"), ValueError, "field must be one of"),
    (lambda o: S.StepLR(o, 10, field="momentum", last_epoch=5), KeyError, "initial_momentum"),
    (lambda o: S.StepLR(object(), 10), TypeError, "not an optimizer"),
])
def test_bad_arguments_are_refused(make, error, pattern):
    with pytest.raises(error, match=pattern):
        make(two_groups(optim))


def run_pair(make, steps=STEPS, adam=False, metric=None):
    """Both libraries' value sequences (lr, and momentum or beta1) from make(mod, opt)."""
    torch = pytest.importorskip("torch")
    out = []
    for lib, mod in ((optim, S), (torch, torch.optim.lr_scheduler)):
        if adam:
            opt = (optim.AdamW([np.zeros(2)], lr=0.1) if lib is optim else
                   torch.optim.AdamW([torch.zeros(2, requires_grad=True)], lr=0.1))
        else:
            opt = two_groups(lib)
        sched = make(mod, opt)
        rows = []
        for t in range(steps):
            rows.append([g["lr"] for g in opt.param_groups]
                        + [g["betas"][0] if adam else g["momentum"] for g in opt.param_groups])
            sched.step(metric(t)) if metric else sched.step()
        out.append(np.array(rows, dtype=np.float64))
    return out


@pytest.mark.parametrize("make", [
    lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=50, T_mult=2, eta_min=1e-3),
    lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=70),
    lambda m, o: m.SequentialLR(o, [m.LinearLR(o, start_factor=0.01, total_iters=100),
                                    m.CosineAnnealingLR(o, T_max=1100)], milestones=[100]),
    lambda m, o: m.SequentialLR(o, [m.ConstantLR(o, factor=0.5, total_iters=10),
                                    m.ExponentialLR(o, gamma=0.99),
                                    m.StepLR(o, step_size=100)], milestones=[20, 500]),
    lambda m, o: m.OneCycleLR(o, max_lr=[0.5, 0.1], total_steps=STEPS),
    lambda m, o: m.OneCycleLR(o, max_lr=0.3, epochs=12, steps_per_epoch=100,
                              anneal_strategy="linear", three_phase=True),
], ids=["warm-restarts-mult", "warm-restarts", "sequential-warmup-cosine",
        "sequential-three", "one-cycle", "one-cycle-linear-three-phase"])
def test_the_other_schedulers_equal_torchs(make):
    ours, theirs = run_pair(make)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=0)


def test_one_cycle_cycles_adams_beta1_as_torch():
    ours, theirs = run_pair(lambda m, o: m.OneCycleLR(o, max_lr=0.01, total_steps=STEPS),
                            adam=True)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=0)


@pytest.mark.parametrize("kwargs", [dict(), dict(mode="max", threshold_mode="abs",
                                                 patience=3, cooldown=5, min_lr=1e-4)])
def test_reduce_on_plateau_equals_torchs(kwargs):
    rng = np.random.default_rng(0)
    noise = rng.standard_normal(STEPS)
    metric = lambda t: 1.0 / (1 + t / 50) + 0.05 * noise[t]      # noqa: E731
    ours, theirs = run_pair(lambda m, o: m.ReduceLROnPlateau(o, **kwargs), metric=metric)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=0)
    assert ours[-1, 0] < ours[0, 0]                              # it did reduce


def test_nested_state_dicts_round_trip():
    opt = two_groups(optim)
    seq = S.SequentialLR(opt, [S.LinearLR(opt, total_iters=3), S.ExponentialLR(opt, 0.9)],
                         milestones=[3])
    for _ in range(5):
        seq.step()
    buf = io.BytesIO()
    np.savez(buf, **seq.state_dict())
    buf.seek(0)
    opt2 = two_groups(optim)
    other = S.SequentialLR(opt2, [S.LinearLR(opt2, total_iters=3),
                                  S.ExponentialLR(opt2, 0.9)], milestones=[3])
    other.load_state_dict(np.load(buf))
    assert other.last_epoch == 5 and other._schedulers[1].last_epoch == 2


def test_one_cycle_state_dict_round_trips():
    opt = two_groups(optim)
    sched = S.OneCycleLR(opt, max_lr=0.1, total_steps=100)
    for _ in range(10):
        sched.step()
    buf = io.BytesIO()
    np.savez(buf, **sched.state_dict())
    buf.seek(0)
    other = S.OneCycleLR(two_groups(optim), max_lr=0.1, total_steps=100)
    other.load_state_dict(np.load(buf))
    assert other.last_epoch == 10 and other.get_last_lr() == sched.get_last_lr()


@pytest.mark.parametrize("adam", [False, True])
@pytest.mark.parametrize("kwargs", [
    dict(base_lr=0.01, max_lr=0.1, step_size_up=100),
    dict(base_lr=[0.01, 0.001], max_lr=[0.1, 0.05], step_size_up=70, step_size_down=130,
         mode="triangular2"),
    dict(base_lr=0.01, max_lr=0.1, step_size_up=50, mode="exp_range", gamma=0.999),
    dict(base_lr=0.01, max_lr=0.1, step_size_up=50, scale_fn=lambda x: 1 / (1 + x),
         scale_mode="iterations", cycle_momentum=False),
], ids=["triangular", "triangular2", "exp-range", "scale-fn"])
def test_cyclic_lr_equals_torchs(kwargs, adam):
    if adam and isinstance(kwargs["base_lr"], list):
        kwargs = dict(kwargs, base_lr=0.01, max_lr=0.1)          # one group there
    ours, theirs = run_pair(lambda m, o: m.CyclicLR(o, **kwargs), adam=adam)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=0)


def since_restart(t, period=40, mult=2):
    """SGDR's position in its period, as a fraction: restarts at 40, 120, 280, ..."""
    while t >= period:
        t, period = t - period, period * mult
    return t / period


def lr_sequence(make, steps=400, metric=None):
    opt = two_groups(optim)
    sched = make(opt)
    out = [sched.get_last_lr()[0]]
    for t in range(steps):
        sched.step(metric(t)) if metric else sched.step()
        out.append(sched.get_last_lr()[0])
    return out


@pytest.mark.parametrize("make, formula", [
    (lambda o: S.LambdaLR(o, lambda t: 1 / (1 + t)), lambda t: 0.1 / (1 + t)),
    (lambda o: S.MultiplicativeLR(o, lambda t: 0.99), lambda t: 0.1 * 0.99 ** t),
    (lambda o: S.MultiStepLR(o, [50, 120, 120], gamma=0.5),
     lambda t: 0.1 * 0.5 ** ((t >= 50) + 2 * (t >= 120))),
    (lambda o: S.ConstantLR(o, factor=0.2, total_iters=30), lambda t: 0.1 * (0.2 if t < 30 else 1)),
    (lambda o: S.CosineAnnealingWarmRestarts(o, T_0=40, T_mult=2, eta_min=0.001),
     lambda t: 0.001 + 0.099 * (1 + math.cos(math.pi * since_restart(t))) / 2),
    (lambda o: S.CyclicLR(o, 0.01, 0.1, step_size_up=25, cycle_momentum=False),
     lambda t: 0.01 + 0.09 * (1 - abs((t % 50) / 25 - 1))),
    (lambda o: S.OneCycleLR(o, max_lr=0.1, total_steps=401),
     lambda t: schedules.one_cycle(401, 0.1)(t)),
    (lambda o: S.SequentialLR(o, [S.ConstantLR(o, factor=0.5, total_iters=100),
                                  S.ExponentialLR(o, gamma=0.99)], milestones=[40]),
     lambda t: 0.1 * (0.5 if t < 40 else 0.99 ** (t - 40))),
    (lambda o: S.ChainedScheduler([S.StepLR(o, 100, 0.5), S.ExponentialLR(o, 0.99)]),
     lambda t: 0.1 * 0.5 ** (t // 100) * 0.99 ** t),
], ids=["lambda", "multiplicative", "multistep", "constant", "warm-restarts", "cyclic",
        "one-cycle", "sequential", "chained"])
def test_every_scheduler_follows_its_closed_form(make, formula):
    for t, value in enumerate(lr_sequence(make)):
        assert value == pytest.approx(formula(t), rel=1e-9, abs=1e-15), t


def test_reduce_on_plateau_reduces_after_patience_and_cools_down():
    values = lr_sequence(lambda o: S.ReduceLROnPlateau(o, patience=2, cooldown=3,
                                                       factor=0.5), 12, metric=lambda t: 1.0)
    # a flat metric: 1 improvement (from inf), then bad epochs 1, 2, 3 > patience: halved at
    # step 4; cooldown 3 steps, then 3 bad epochs again: halved at step 10
    assert values == [0.1] * 4 + [0.05] * 6 + [0.025] * 3


# ---------------------------------------------------- load_state_dict: checked whole
from helpers import SCHEDULERS, same_state  # noqa: E402


def stepped(name, steps=3):
    opt = optim.SGD([{"params": [np.zeros(2)], "lr": 0.1},
                     {"params": [np.zeros(3)], "lr": 0.02}], momentum=0.9)
    sched = SCHEDULERS[name](S, opt)
    for t in range(steps):
        sched.step(1.0 / (t + 1)) if name == "ReduceLROnPlateau" else sched.step()
    return opt, sched


def corruptions(key, value):
    """Values an entry of a scheduler's state_dict cannot take, whatever it holds: another
    type, an object array, NaN, a list for a scalar, a scalar or another length for a
    list (but for milestones, of any length), a fraction for an int, 2 for a bool."""
    yield "object", np.array([None], dtype=object)
    yield ("number", np.array(1.0)) if value.dtype.kind == "U" else ("str", np.array("x"))
    if value.ndim == 0:
        if value.dtype.kind in "iuf":
            yield "nan", np.array(np.nan)
        yield "list", np.array([1.0, 2.0])
        if value.dtype.kind in "iu":
            yield "fraction", np.array(1.5)
        if value.dtype.kind == "b":
            yield "two", np.array(2)
    else:
        yield "scalar", np.array(1.0)
        if value.size:
            yield "nan-element", np.full(value.shape, np.nan)
        if not key.endswith("milestones"):
            yield "longer", np.append(value, value[:1] if value.size else [1.0])


@pytest.mark.parametrize("name", sorted(SCHEDULERS))
def test_a_corrupt_entry_is_refused_naming_it_and_changes_nothing(name):
    opt, sched = stepped(name)
    before, groups = sched.state_dict(), [dict(g) for g in opt.param_groups]
    for key, value in before.items():
        for what, bad in corruptions(key, value):
            with pytest.raises((TypeError, ValueError),
                               match=rf"^state_dict\['{key}'\]") as caught:
                sched.load_state_dict({**before, key: bad})
            assert same_state(sched.state_dict(), before), (key, what, caught.value)
    for key in before:                  # a missing entry, one at a time, and every one
        with pytest.raises(ValueError, match=rf"state_dict lacks \['{key}'\]"):
            sched.load_state_dict({k: v for k, v in before.items() if k != key})
    with pytest.raises(ValueError, match="state_dict lacks"):
        sched.load_state_dict({})
    with pytest.raises(ValueError, match="which a .* does not have"):
        sched.load_state_dict({**before, "T_maxx": np.array(3)})
    with pytest.raises(TypeError, match="must be a mapping"):
        sched.load_state_dict([("last_epoch", 3)])
    assert same_state(sched.state_dict(), before)
    assert [dict(g) for g in opt.param_groups] == groups
    sched.load_state_dict(before)                                # its own loads
    assert same_state(sched.state_dict(), before)


def test_the_probes_cases_are_refused_before_anything_changes():
    opt, sched = stepped("StepLR")
    before = sched.state_dict()
    cases = [({"gamma": np.array(np.nan)}, r"\['gamma'\]: gamma must be a finite number >= 0"),
             ({"last_epoch": np.array("banana")}, r"\['last_epoch'\] must be an int"),
             ({"base_lrs": np.array([0.1])}, r"\['base_lrs'\] must be a list of numbers of "
                                             r"length 2"),
             ({"field": np.array("weight_decay")}, r"\['field'\] is 'weight_decay', but this "
                                                   r"StepLR's field is 'lr'"),
             ({"last_epoch": np.array(42), "_last_lr": np.array([None, None], dtype=object)},
              r"\['_last_lr'\] must be a list")]
    for change, message in cases:
        with pytest.raises(ValueError, match=message):
            sched.load_state_dict({**before, **change})
        assert sched.last_epoch == 3 and same_state(sched.state_dict(), before)


@pytest.mark.parametrize("name", ["OneCycleLR", "CyclicLR", "ReduceLROnPlateau",
                                  "SequentialLR"])
def test_values_that_do_not_fit_this_scheduler_are_refused(name):
    opt, sched = stepped(name)
    before = sched.state_dict()
    bad = {"OneCycleLR": ("total_steps", np.array(20), r"total_steps'\] is 20, but this "
                                                       r"OneCycleLR's total_steps is 10"),
           "CyclicLR": ("mode", np.array("sawtooth"), r"mode must be one of"),
           "ReduceLROnPlateau": ("mode_worse", np.array(-np.inf), r"must be inf for "
                                                                  r"mode='min'"),
           "SequentialLR": ("_schedulers/1/gamma", np.array(-1.0), r"\['_schedulers/1/gamma'\]: "
                                                                   r"gamma must be")}[name]
    with pytest.raises(ValueError, match=bad[2]):
        sched.load_state_dict({**before, bad[0]: bad[1]})
    assert same_state(sched.state_dict(), before)


def test_a_cyclic_scale_follows_a_loaded_mode():
    """CyclicLR's scale comes from its mode (or the given scale_fn): a loaded mode brings
    its scale, as torch's load does."""
    _, halving = stepped("CyclicLR")
    opt = optim.SGD([{"params": [np.zeros(2)], "lr": 0.1},
                     {"params": [np.zeros(3)], "lr": 0.02}], momentum=0.9)
    sched = S.CyclicLR(opt, base_lr=1e-3, max_lr=1e-2, step_size_up=2, mode="triangular2")
    for _ in range(3):
        sched.step()
    halving.load_state_dict(sched.state_dict())
    for _ in range(6):
        sched.step()
        halving.step()
        assert halving.get_last_lr() == sched.get_last_lr()


def test_schedulers_refuse_negative_or_nan_lrs_and_momentums():
    opt = two_groups(optim)
    with pytest.raises(ValueError, match=r"max_lr must be a finite number >= 0, got -0.001"):
        S.OneCycleLR(opt, max_lr=-0.001, total_steps=10)
    with pytest.raises(ValueError, match=r"base_lr must be a finite number >= 0"):
        S.CyclicLR(opt, base_lr=float("nan"), max_lr=0.1)
    with pytest.raises(ValueError, match=r"max_momentum must be a finite number in \[0, 1\]"):
        S.CyclicLR(opt, base_lr=0.01, max_lr=0.1, max_momentum=1.5)
    with pytest.raises(ValueError, match=r"min_lr must be a finite number >= 0"):
        S.ReduceLROnPlateau(opt, min_lr=-1.0)


# ------------------------------------------------- a no-decay group is a mask, not a value
FIELD_SCHEDULERS = {   # every class that takes field=, ending the decay away from 0
    "LambdaLR": lambda o: S.LambdaLR(o, lambda t: 1 + t, field="weight_decay"),
    "MultiplicativeLR": lambda o: S.MultiplicativeLR(o, lambda t: 1.1, field="weight_decay"),
    "StepLR": lambda o: S.StepLR(o, 3, gamma=2.0, field="weight_decay"),
    "MultiStepLR": lambda o: S.MultiStepLR(o, [2, 5], gamma=3.0, field="weight_decay"),
    "ConstantLR": lambda o: S.ConstantLR(o, 0.5, total_iters=4, field="weight_decay"),
    "LinearLR": lambda o: S.LinearLR(o, 0.1, 1.0, total_iters=5, field="weight_decay"),
    "ExponentialLR": lambda o: S.ExponentialLR(o, 1.2, field="weight_decay"),
    "PolynomialLR": lambda o: S.PolynomialLR(o, total_iters=20, field="weight_decay"),
    "CosineAnnealingLR": lambda o: S.CosineAnnealingLR(o, 10, eta_min=0.5,
                                                       field="weight_decay"),
    "CosineAnnealingWarmRestarts": lambda o: S.CosineAnnealingWarmRestarts(
        o, 4, eta_min=0.5, field="weight_decay"),
    "SequentialLR": lambda o: S.SequentialLR(o, [
        S.LinearLR(o, 0.5, total_iters=3, field="weight_decay"),
        S.CosineAnnealingLR(o, 10, eta_min=0.5, field="weight_decay")], milestones=[3]),
    "ChainedScheduler": lambda o: S.ChainedScheduler([
        S.ExponentialLR(o, 1.1, field="weight_decay"),
        S.CosineAnnealingLR(o, 10, eta_min=0.5, field="weight_decay")]),
}


def test_the_field_taking_schedulers_are_every_class_but_the_lr_only_three():
    lr_only = {"OneCycleLR", "CyclicLR", "ReduceLROnPlateau"}    # torch's: lr (and momentum)
    assert sorted(FIELD_SCHEDULERS) == sorted(set(S.__all__[1:]) - lr_only)
    for name in lr_only:
        assert "field" not in inspect.signature(getattr(S, name)).parameters


@pytest.mark.parametrize("name", sorted(FIELD_SCHEDULERS))
def test_a_group_built_without_decay_stays_at_zero_under_a_decay_schedule(name):
    """param_groups_weight_decay's no-decay group (biases, norm scales) keeps 0 whatever the
    schedule adds (eta_min, say); the decayed group follows the schedule, and the lr stays."""
    named = {"w": np.ones((3, 4)), "b": np.zeros(3)}
    opt = optim.AdamW(optim.param_groups_weight_decay(named.items(), 0.04), lr=1e-3)
    assert [g["weight_decay"] for g in opt.param_groups] == [0.0, 0.04]
    sched = FIELD_SCHEDULERS[name](opt)
    seen = set()
    for _ in range(12):
        opt.step({"w": np.ones((3, 4)), "b": np.ones(3)})
        sched.step()
        assert opt.param_groups[0]["weight_decay"] == 0.0
        seen.add(opt.param_groups[1]["weight_decay"])
        assert [g["lr"] for g in opt.param_groups] == [1e-3, 1e-3]
    assert seen - {0.04}                # the decayed group followed the schedule


def test_dinos_cosine_ramp_of_the_decay_with_a_no_decay_group():
    """The worked example in the module's docstring: 0.04 to 0.4 over the run."""
    named = {"w": np.ones((3, 4)), "b": np.zeros(3)}
    opt = optim.AdamW(optim.param_groups_weight_decay(named.items(), weight_decay=0.04),
                      lr=1e-3)
    ramp = S.CosineAnnealingLR(opt, T_max=100, eta_min=0.4, field="weight_decay")
    values = []
    for t in range(100):
        opt.step({"w": np.ones((3, 4)), "b": np.ones(3)})
        ramp.step()
        values.append(opt.param_groups[1]["weight_decay"])
    assert values[-1] == pytest.approx(0.4, rel=1e-12)
    assert values[49] == pytest.approx(0.04 + (0.4 - 0.04) * (1 - math.cos(math.pi / 2)) / 2,
                                       rel=1e-9)
    assert all(a < b for a, b in zip(values, values[1:]))
    assert opt.param_groups[0]["weight_decay"] == 0.0
