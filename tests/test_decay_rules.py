"""Decay rules that follow the schedule: "independent" relative to max_lr,
"corrected" (AdamC), cautious decay; their equations, every optimiser, the classes' max_lr
default, state_dict round trips and bad input."""
from functools import partial

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import pywd
from helpers import (DECAY_DEFAULTS, VALID_CALLS, assert_matches, assert_matches_at_scale,
                     copies, decays, saved, sgd_hypers, small_or_threaded, snapshot,
                     table_states)
from pywd import optim, reference

# every update function with arguments for one step on (w, g) and its state
UPDATES = {
    "sgd": lambda w, g, **kw: pywd.sgd(w, g, np.zeros_like(w), momentum=0.9, **kw),
    "adam": lambda w, g, **kw: pywd.adam(w, g, np.zeros_like(w), np.zeros_like(w), step=3,
                                         **kw),
    "rmsprop": lambda w, g, **kw: pywd.rmsprop(w, g, np.ones_like(w), **kw),
    "adagrad": lambda w, g, **kw: pywd.adagrad(w, g, np.ones_like(w), step=2, **kw),
    "lion": lambda w, g, **kw: pywd.lion(w, g, np.zeros_like(w), **kw),
    "adamax": lambda w, g, **kw: pywd.adamax(w, g, np.zeros_like(w), np.zeros_like(w), step=3,
                                             **kw),
    "radam": lambda w, g, **kw: pywd.radam(w, g, np.zeros_like(w), np.zeros_like(w), step=8,
                                           **kw),
    "adadelta": lambda w, g, **kw: pywd.adadelta(w, g, np.ones_like(w), np.ones_like(w), **kw),
    "rprop": lambda w, g, **kw: pywd.rprop(w, g, np.ones_like(w), np.full_like(w, 0.01), **kw),
    # eta = lr: ASGD's decay modes take its step size eta as their lr
    "asgd": lambda w, g, **kw: pywd.asgd(w, g, np.zeros_like(w), step=3, eta=kw["lr"], **kw),
    "lamb": lambda w, g, **kw: pywd.lamb(w, g, np.zeros_like(w), np.zeros_like(w), step=3,
                                         **kw),
    # always_adapt: LARS's trust ratio whether or not the weight decay is 0
    "lars": lambda w, g, **kw: pywd.lars(w, g, np.zeros_like(w), momentum=0.9,
                                         always_adapt=True, **kw),
    "nadam": lambda w, g, **kw: pywd.nadam(w, g, np.zeros_like(w), np.zeros_like(w), step=3,
                                           **kw),
    # z = w (as at the start): y's move is then the z step's, so cautious decay shows in it
    "adamw_schedulefree": lambda w, g, **kw: pywd.adamw_schedulefree(
        w, g, w.copy(), np.zeros_like(w), step=3, average_weight=0.25, **kw),
    "adafactor": lambda w, g, **kw: pywd.adafactor(w, g, None, None, np.zeros_like(w), step=3,
                                                   **kw),
    "sgd_schedulefree": lambda w, g, **kw: pywd.sgd_schedulefree(w, g, w.copy(),
                                                                 average_weight=0.25, **kw),
}


def zero_state_call(module, name, w, g, **kw):
    """One step of `name` (pywd's or its reference's) on an array or lists, from zero state
    (the table of optimisers' arrays), with its valid call's other options
    (helpers.VALID_CALLS): the updates that need nothing of their own here."""
    optional, options = VALID_CALLS[name]
    extra = {k: v for k, v in options.items() if k not in ("lr", "weight_decay")}
    zeros = ([np.zeros_like(x) for x in w] if isinstance(w, list) else np.zeros_like(w)
             for _ in range(len(table_states(name, optional))))
    return getattr(module, name)(w, g, *zeros, **extra, **kw)


# the rest of the table (sgdw and adamw run sgd's and adam's kernels; Muon's decay is
# test_muon.py's; the bare decay has its own tests below)
UPDATES.update({name: partial(zero_state_call, pywd, name) for name in VALID_CALLS
                if name not in UPDATES and name not in ("sgdw", "adamw", "muon", "decay")})


def step(name, w, g, **kw):
    w = w.copy()
    UPDATES[name](w, g, lr=0.05, weight_decay=0.2, **kw)
    return w


def arrays(seed=0, n=257, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(n).astype(dtype), rng.standard_normal(n).astype(dtype)


@pytest.mark.parametrize("name", UPDATES)
def test_independent_at_max_lr_is_the_lr_free_factor(name):
    w, g = arrays()
    # w * (1 - wd * lr / max_lr) with lr == max_lr is w * (1 - wd), bit for bit
    np.testing.assert_array_equal(step(name, w, g, decay="independent", max_lr=0.05),
                                  step(name, w, g, decay="independent"))
    assert not np.array_equal(step(name, w, g, decay="independent", max_lr=0.1),
                              step(name, w, g, decay="independent"))


# decay="decoupled" is part of the direction LAMB's trust ratio scales (test_lamb.py), not a
# factor on w
FACTOR_MODES = [name for name in UPDATES if name != "lamb"]


@pytest.mark.parametrize("name", FACTOR_MODES)
def test_corrected_at_max_lr_is_decoupled(name):
    w, g = arrays(1)
    np.testing.assert_array_equal(step(name, w, g, decay="corrected", max_lr=0.05),
                                  step(name, w, g, decay="decoupled"))
    np.testing.assert_array_equal(step(name, w, g, decay="corrected"),
                                  step(name, w, g, decay="decoupled"))


def test_the_factors_follow_the_papers():
    w = np.full(4, 2.0)
    for decay, factor in (("decoupled", 1 - 0.1 * 0.5), ("independent", 1 - 0.5 * 0.1 / 0.4),
                          ("corrected", 1 - 0.5 * 0.1 ** 2 / 0.4)):
        out = w.copy()
        pywd.decay(out, lr=0.1, weight_decay=0.5, decay=decay, max_lr=0.4)
        np.testing.assert_allclose(out, 2.0 * factor, rtol=1e-15)
        assert reference.decay_factor(0.1, 0.5, decay, 0.4) == pytest.approx(factor, rel=1e-15)


@pytest.mark.parametrize("name", UPDATES)
@pytest.mark.parametrize("decay", ["decoupled", "independent", "corrected"])
def test_cautious_decay_where_update_and_weight_agree_everywhere_is_plain_decay(name, decay):
    w, g = arrays(2)
    # an update toward 0 everywhere: every weight's sign is its gradient's
    g = np.copysign(np.abs(g) + 0.1, w)
    np.testing.assert_array_equal(step(name, w, g, decay=decay, cautious_decay=True),
                                  step(name, w, g, decay=decay))


@pytest.mark.parametrize("name", FACTOR_MODES)
def test_cautious_decay_withholds_decay_exactly_where_the_update_opposes_the_weight(name):
    w, g = arrays(3)
    cautious = step(name, w, g, decay="decoupled", cautious_decay=True)
    plain = step(name, w, g, decay="decoupled")
    none = w.copy()
    UPDATES[name](none, g, lr=0.05, weight_decay=0.0)
    opposed = (w - none) * w < 0                # the update (w - none) moves w away from 0
    assert 0 < opposed.sum() < w.size
    np.testing.assert_array_equal(cautious[opposed], none[opposed])
    np.testing.assert_array_equal(cautious[~opposed], plain[~opposed])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", UPDATES)
@pytest.mark.parametrize("decay", ["independent", "corrected"])
@pytest.mark.parametrize("cautious", [False, True])
def test_every_optimizer_matches_the_reference_with_the_new_rules(dtype, name, decay, cautious):
    w, g = arrays(4, 1000, dtype)
    ours = step(name, w, g, decay=decay, max_lr=0.2, cautious_decay=cautious)
    ref_w = w.copy()
    fn = getattr(reference, name)
    kw = dict(lr=0.05, weight_decay=0.2, decay=decay, max_lr=0.2, cautious_decay=cautious)
    if name == "sgd":
        fn(ref_w, g, np.zeros_like(w), momentum=0.9, **kw)
    elif name == "lars":
        fn(ref_w, g, np.zeros_like(w), momentum=0.9, always_adapt=True, **kw)
    elif name in ("adam", "adamax", "radam", "nadam", "lamb"):
        fn(ref_w, g, np.zeros_like(w), np.zeros_like(w), step=8 if name == "radam" else 3,
           **kw)
    elif name == "rmsprop":
        fn(ref_w, g, np.ones_like(w), **kw)
    elif name == "adadelta":
        fn(ref_w, g, np.ones_like(w), np.ones_like(w), **kw)
    elif name == "rprop":
        fn(ref_w, g, np.ones_like(w), np.full_like(w, 0.01), **kw)
    elif name == "asgd":
        fn(ref_w, g, np.zeros_like(w), step=3, eta=0.05, **kw)
    elif name == "adagrad":
        fn(ref_w, g, np.ones_like(w), step=2, **kw)
    elif name == "adamw_schedulefree":
        fn(ref_w, g, w.copy(), np.zeros_like(w), step=3, average_weight=0.25, **kw)
    elif name == "sgd_schedulefree":
        fn(ref_w, g, w.copy(), average_weight=0.25, **kw)
    elif name == "adafactor":
        fn(ref_w, g, None, None, np.zeros_like(w), step=3, **kw)
    else:
        zero_state_call(reference, name, ref_w, g, **kw)
    if dtype == np.float32:
        np.testing.assert_array_max_ulp(ours, ref_w, maxulp=2)
    else:
        np.testing.assert_allclose(ours, ref_w, rtol=1e-12, atol=0)


@pytest.mark.parametrize("name", UPDATES)
@pytest.mark.parametrize("kw, error, pattern", [
    (dict(decay="l2", cautious_decay=True), ValueError, "needs a multiplicative decay"),
    (dict(decay="l1", cautious_decay=True), ValueError, "needs a multiplicative decay"),
    (dict(max_lr=0.0), ValueError, r"max_lr must be a finite number > 0 or None"),
    (dict(max_lr=float("inf")), ValueError, r"max_lr must be a finite number"),
    (dict(max_lr="1"), TypeError, r"max_lr must be a real number"),
    (dict(cautious_decay="yes", decay="decoupled"), TypeError, "cautious_decay must be a bool"),
    (dict(decay="independent", max_lr=0.005), ValueError, r"1 - weight_decay\*lr/max_lr"),
])
def test_bad_decay_options_are_refused_before_any_array_changes(name, kw, error, pattern):
    w, g = arrays(5)
    before = snapshot([w, g])
    with pytest.raises(error, match=pattern):
        UPDATES[name](w, g, lr=0.05, weight_decay=0.2, **kw)
    assert snapshot([w, g]) == before


CLASSES = [optim.SGD, optim.SGDW, optim.Adam, optim.AdamW, optim.RMSprop, optim.Adagrad,
           optim.Lion, optim.Adamax, optim.RAdam,
           optim.Adadelta, optim.NAdam, optim.Rprop, optim.ASGD, optim.Lamb, optim.LARS,
           optim.AdamWScheduleFree, optim.SGDScheduleFree, optim.Adafactor]
# the classes whose params move as an average after their first step (y, between the
# average x and the z steps): only that first step is a plain decay factor
AVERAGED = (optim.AdamWScheduleFree, optim.SGDScheduleFree)
# what leaves a class's step with zero gradients to the decay alone (ASGD decays by itself)
DECAY_ONLY = {optim.ASGD: dict(lambd=0.0)}
# the mode that multiplies w by 1 - lr*wd: LAMB's "decoupled" is inside its trust ratio,
# "corrected" without max_lr is that factor
DECOUPLED = {optim.Lamb: "corrected"}


@pytest.mark.parametrize("cls", CLASSES)
def test_classes_take_the_decay_options_and_default_max_lr_to_the_initial_lr(cls):
    w = np.ones(8)
    opt = cls([w], lr=0.1, weight_decay=0.5, decay="independent", **DECAY_ONLY.get(cls, {}))
    assert {k: opt.defaults[k] for k in DECAY_DEFAULTS} == DECAY_DEFAULTS
    assert opt.param_groups[0]["initial_lr"] == 0.1
    opt.param_groups[0]["lr"] = 0.05               # a schedule halves the lr ...
    opt.step([np.zeros(8)])
    np.testing.assert_allclose(w, 1 - 0.5 * 0.05 / 0.1, rtol=1e-15)   # ... and the decay
    explicit = np.ones(8)
    cls([explicit], lr=0.05, weight_decay=0.5, decay="independent", max_lr=0.2,
        **DECAY_ONLY.get(cls, {})).step([np.zeros(8)])
    np.testing.assert_allclose(explicit, 1 - 0.5 * 0.05 / 0.2, rtol=1e-15)


@pytest.mark.parametrize("cls", CLASSES)
def test_groups_with_other_initial_lrs_do_not_share_a_kernel_call(cls):
    a, b = np.ones(4), np.ones(4)
    opt = cls([{"params": [a], "lr": 0.1}, {"params": [b], "lr": 0.2}], weight_decay=0.5,
              decay="independent", **DECAY_ONLY.get(cls, {}))
    opt.param_groups[1]["lr"] = 0.1                # now equal lrs, different initial_lr
    opt.step([np.zeros(4), np.zeros(4)])
    np.testing.assert_allclose(a, 0.5, rtol=1e-15)                  # 1 - 0.5 * 0.1/0.1
    np.testing.assert_allclose(b, 1 - 0.5 * 0.5, rtol=1e-15)        # 1 - 0.5 * 0.1/0.2


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("max_lr", [None, 0.3])
def test_decay_options_survive_a_state_dict_round_trip_without_pickle(cls, max_lr):
    w = np.ones(3)
    opt = cls([w], lr=0.1, weight_decay=0.1, decay="corrected", max_lr=max_lr,
              cautious_decay=True)
    opt.step([np.full(3, 0.5)])
    fresh = cls([np.ones(3)], lr=0.1)
    fresh.load_state_dict(saved(opt))
    group = fresh.param_groups[0]
    assert (group["max_lr"], group["cautious_decay"], group["decay"]) == (max_lr, True,
                                                                           "corrected")
    assert group["initial_lr"] == 0.1


# ------------------------------------------------------------------ decay toward an anchor
MODES = ["l2", "decoupled", "independent", "corrected", "l1"]


def call(module, name, w, g, anchor, **kw):
    """One step of `name` from `module` (pywd or its reference) on lists w, g (state made
    here, the same for both modules), decaying toward `anchor`."""
    zeros = [np.zeros_like(x) for x in w]
    ones = [np.ones_like(x) for x in w]
    hyper = dict(lr=0.05, weight_decay=0.2, decay_to=anchor, **kw)
    fn = getattr(module, name)
    if name in ("sgd", "lars"):
        return fn(w, g, zeros, momentum=0.9, **hyper)
    if name in ("adam", "adamax", "radam", "nadam", "lamb"):
        return fn(w, g, zeros, [np.zeros_like(x) for x in w], step=8 if name == "radam" else 3,
                  **hyper)
    if name == "adadelta":
        return fn(w, g, ones, [np.ones_like(x) for x in w], **hyper)
    if name == "rprop":
        return fn(w, g, ones, [np.full_like(x, 0.01) for x in w], **hyper)
    if name == "asgd":
        return fn(w, g, zeros, step=3, **hyper)
    if name in ("rmsprop", "adagrad"):
        return fn(w, g, ones, **hyper, **({"step": 2} if name == "adagrad" else {}))
    if name == "adamw_schedulefree":
        return fn(w, g, [x * 0.5 for x in w], zeros, step=3, average_weight=0.25, **hyper)
    if name == "sgd_schedulefree":
        return fn(w, g, [x * 0.5 for x in w], average_weight=0.25, **hyper)
    if name == "adafactor":                  # factors for matrices, a variance for vectors
        rows = [np.zeros(x.shape[:-1] + (1,), x.dtype) if x.ndim >= 2 else None for x in w]
        cols = [np.zeros((1,) + x.shape[-1:], x.dtype) if x.ndim == 2 else None for x in w]
        variances = [np.zeros_like(x) if x.ndim < 2 else None for x in w]
        return fn(w, g, rows, cols, variances, step=3, **hyper)
    return zero_state_call(module, name, w, g, **hyper)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", UPDATES)
@pytest.mark.parametrize("decay", MODES)
def test_decay_to_matches_the_reference(dtype, name, decay):
    rng = np.random.default_rng(6)
    shapes = [(70_000,), (3, 5), (1,)]       # one array big enough for the thread team
    w = [rng.standard_normal(s).astype(dtype) for s in shapes]
    g = [rng.standard_normal(s).astype(dtype) for s in shapes]
    a = [rng.standard_normal(s).astype(dtype) for s in shapes]
    ours, ref = [x.copy() for x in w], [x.copy() for x in w]
    kw = dict(decay=decay, max_lr=0.1,
              cautious_decay=decay not in ("l2", "l1") and decay != "independent")
    call(pywd, name, ours, g, a, **kw)
    call(reference, name, ref, g, a, **kw)
    for x, y in zip(ours, ref):
        if name == "adafactor":                  # sums in another order: see helpers
            assert_matches_at_scale(x, y)
        elif dtype == np.float32:
            np.testing.assert_array_max_ulp(x, y, maxulp=2)
        else:
            np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("name", UPDATES)
@pytest.mark.parametrize("decay", MODES)
def test_decay_to_zeros_is_plain_decay(name, decay):
    w, g = arrays(7)
    anchored, plain = [w.copy()], [w.copy()]
    call(pywd, name, anchored, [g], [np.zeros_like(w)], decay=decay)
    call(pywd, name, plain, [g], None, decay=decay)
    np.testing.assert_array_equal(anchored[0], plain[0])


@pytest.mark.parametrize("decay", ["decoupled", "l1"])
def test_decay_pulls_toward_the_anchor_and_l1_lands_on_it(decay):
    anchor = np.linspace(-1, 1, 101)
    w = anchor + np.linspace(-0.5, 0.5, 101)
    pywd.decay(w, lr=0.1, weight_decay=1.0, decay=decay, decay_to=anchor)
    offset = np.linspace(-0.5, 0.5, 101)
    if decay == "decoupled":
        np.testing.assert_allclose(w - anchor, 0.9 * offset, atol=1e-15)
    else:   # within lr*wd = 0.1 of the anchor: exactly the anchor; beyond: 0.1 closer
        inside = np.abs(offset) <= 0.1 - 1e-12
        np.testing.assert_array_equal(w[inside], anchor[inside])
        np.testing.assert_allclose((w - anchor)[~inside], offset[~inside] - np.sign(
            offset[~inside]) * 0.1, atol=1e-15)


def test_anchors_may_be_read_only_and_shared_with_grads_but_not_with_written_arrays():
    w, g = arrays(8)
    frozen = w.copy()
    frozen.flags.writeable = False
    pywd.sgd(w.copy(), g, lr=0.1, weight_decay=0.1, decay="decoupled", decay_to=frozen)
    pywd.sgd(w.copy(), g, lr=0.1, weight_decay=0.1, decay="decoupled", decay_to=g)
    before = snapshot([w, g])
    with pytest.raises(ValueError, match="overlap"):
        pywd.sgd(w, g, lr=0.1, weight_decay=0.1, decay="decoupled", decay_to=w)
    buf = np.zeros_like(w)
    with pytest.raises(ValueError, match="overlap"):
        pywd.sgd(w, g, buf, momentum=0.9, lr=0.1, weight_decay=0.1, decay_to=buf)
    assert snapshot([w, g]) == before


@pytest.mark.parametrize("name", UPDATES)
@pytest.mark.parametrize("anchor, error, pattern", [
    (lambda w: [w[:-1].copy()], ValueError, r"decay_to\[0\].*shape"),
    (lambda w: [w.astype(np.float32)], TypeError, r"decay_to\[0\]"),
    (lambda w: [w.copy(), w.copy()], ValueError, r"decay_to has 2 arrays but params has 1"),
    (lambda w: "init", TypeError, r"decay_to must be a numpy.ndarray or a list/tuple"),
])
def test_bad_anchors_are_refused_naming_them_before_any_array_changes(name, anchor, error,
                                                                      pattern):
    w, g = arrays(9)
    before = snapshot([w, g])
    with pytest.raises(error, match=pattern):
        call(pywd, name, [w], [g], anchor(w), decay="decoupled")
    assert snapshot([w, g]) == before


@pytest.mark.parametrize("cls", CLASSES)
def test_classes_decay_toward_the_params_at_init(cls):
    start = np.linspace(-1, 1, 16)
    w = start.copy()
    opt = cls([w], lr=0.01, weight_decay=0.5, decay=DECOUPLED.get(cls, "decoupled"),
              decay_to="init", **DECAY_ONLY.get(cls, {}))
    assert opt.param_groups[0]["decay_to"] == "init"
    np.testing.assert_array_equal(opt.state[0]["decay_to"], start)
    w += 1.0                           # a change after the group was added
    steps = 1 if cls in AVERAGED else 3
    for _ in range(steps):
        opt.step([np.zeros(16)])
    # zero gradients: each step brings w a factor (1 - lr*wd) closer to the anchor
    np.testing.assert_allclose(w - start, (1 - 0.01 * 0.5) ** steps, rtol=1e-12)


@pytest.mark.parametrize("cls", CLASSES)
def test_classes_take_anchor_arrays_per_group_and_save_them(cls):
    a, b = np.ones(4), np.ones(3)
    anchor = np.full(4, 0.5)
    opt = cls([{"params": [a], "decay_to": [anchor]}, {"params": [b]}],
              lr=0.1, weight_decay=0.5, decay=DECOUPLED.get(cls, "decoupled"),
              **DECAY_ONLY.get(cls, {}))
    assert [g["decay_to"] for g in opt.param_groups] == ["given", None]
    opt.step([np.zeros(4), np.zeros(3)])
    np.testing.assert_allclose(a, 0.5 + 0.5 * 0.95, rtol=1e-15)
    np.testing.assert_allclose(b, 0.95, rtol=1e-15)
    fresh = cls([{"params": [np.ones(4)], "decay_to": "init"}, {"params": [np.ones(3)]}],
                lr=0.1)
    fresh.load_state_dict(saved(opt))
    np.testing.assert_array_equal(fresh.state[0]["decay_to"], anchor)
    assert fresh.param_groups[0]["decay_to"] == "given"


@pytest.mark.parametrize("decay_to, error, pattern", [
    ("start", ValueError, r"decay_to must be None, 'init' or arrays like the group's params"),
    ([np.zeros(4), np.zeros(4)], ValueError, r"decay_to has 2 arrays but the group has 1"),
    ([np.zeros(3)], ValueError, r"decay_to\[0\] is float64 \(3,\), but its parameter is "
                                r"float64 \(4,\)"),
])
def test_classes_refuse_bad_anchors_when_the_group_is_added(decay_to, error, pattern):
    with pytest.raises(error, match=pattern):
        optim.AdamW([np.ones(4)], decay_to=decay_to)


@given(small_or_threaded(4), sgd_hypers())
def test_sgd_with_anchors_matches_the_reference_over_awkward_lists(arrays, hyper):
    results = []
    for fn in (pywd.sgd, reference.sgd):
        params, grads, bufs, anchors = copies(arrays)
        fn(params, grads, bufs if hyper["momentum"] else None, decay_to=anchors, **hyper)
        results.append(params + bufs)
    for a, b in zip(*results):
        assert_matches(a, b)


@given(small_or_threaded(5), decays(), st.booleans(), st.sampled_from([1, 7]))
def test_adam_with_anchors_matches_the_reference_over_awkward_lists(arrays, decay, amsgrad,
                                                                    step):
    results = []
    for fn in (pywd.adam, reference.adam):
        params, grads, m, v, anchors = copies(arrays)
        for x in v:
            np.abs(x, out=x)                       # second moments are >= 0
        vmax = [x.copy(order="K") for x in v]
        fn(params, grads, m, v, step=step, lr=0.01, amsgrad=amsgrad,
           max_exp_avg_sqs=vmax if amsgrad else None, decay_to=anchors, **decay)
        results.append(params + m + v)
    for a, b in zip(*results):
        assert_matches(a, b)
