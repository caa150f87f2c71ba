"""A function and the optimiser class of the same name have the same defaults (docs/design.md;
pywd.adam(weight_decay=0.1) used to decay decoupled, pywd.optim.Adam as L2), and
torch's meaning of weight_decay for that name: sgd, adam, rmsprop, adagrad L2; sgdw, adamw,
lion decoupled."""
import inspect

import numpy as np
import pytest

import pywd
from pywd import optim
from pywd._optimisers import UPDATES

# (function, class, the decay its weight_decay means): the table of optimisers' rows with a
# class, and Adafactor
PAIRS = [(getattr(pywd, name), getattr(optim, u.cls), u.decay)
         for name, u in UPDATES.items() if u.cls] + [(pywd.adafactor, optim.Adafactor,
                                                      "decoupled")]


def test_the_table_says_torchs_meaning_of_weight_decay():
    """torch's classes (and the papers of those it lacks) as the table records them."""
    decoupled = {fn.__name__ for fn, _, decay in PAIRS if decay == "decoupled"}
    assert decoupled == {"sgdw", "adamw", "lion", "lamb", "adamw_schedulefree", "muon",
                         "adafactor", "ademamix"}


def defaults(obj):
    out = {name: p.default for name, p in inspect.signature(obj).parameters.items()
           if p.default is not inspect.Parameter.empty}
    if out.get("betas") is not None:         # the classes take torch's pair (AdEMAMix a triple)
        out.update(zip(("beta1", "beta2", "beta3"), out.pop("betas")))
    out.pop("betas", None)                   # (the functions take it too, as an alternative)
    return out


@pytest.mark.parametrize("fn, cls, decay", PAIRS, ids=[p[0].__name__ for p in PAIRS])
def test_function_and_class_share_every_default(fn, cls, decay):
    ours, theirs = defaults(fn), defaults(cls)
    shared = set(ours) & set(theirs)
    assert {"lr", "decay", "weight_decay", "maximize"} <= shared
    assert {k: ours[k] for k in shared} == {k: theirs[k] for k in shared}
    assert ours["decay"] == decay


@pytest.mark.parametrize("fn, cls, decay", PAIRS, ids=[p[0].__name__ for p in PAIRS])
def test_function_and_class_take_the_same_step(fn, cls, decay):
    """With weight_decay given and decay left alone, one step of each: the same bytes."""
    rng = np.random.default_rng(0)
    shape = (7, 3) if fn is pywd.muon else (7,)            # Muon takes matrices
    w, g = rng.standard_normal(shape), rng.standard_normal(shape)
    twin = w.copy()
    opt = cls([twin], lr=0.1, weight_decay=0.2)
    opt.step([g])
    state = [np.zeros(shape) for _ in cls.state_arrays]
    kwargs = dict(lr=0.1, weight_decay=0.2)
    if fn in (pywd.sgd, pywd.sgdw, pywd.lars):
        fn(w, g, **kwargs)
    elif fn in (pywd.adam, pywd.adamw):
        fn(w, g, state[0], state[1], step=1, **kwargs)
    elif fn is pywd.rmsprop:
        fn(w, g, state[0], **kwargs)
    elif fn in (pywd.adagrad, pywd.asgd):
        fn(w, g, state[0], step=1, **kwargs)
    elif fn is pywd.adadelta:
        fn(w, g, state[0], state[1], **kwargs)
    elif fn is pywd.rprop:                      # the class starts its step sizes at lr
        fn(w, g, state[0], np.full(shape, 0.1), **kwargs)
    elif fn in (pywd.adamax, pywd.radam, pywd.nadam, pywd.lamb):
        fn(w, g, state[0], state[1], step=1, **kwargs)
    elif fn is pywd.adamw_schedulefree:       # z starts as the params; the first step's
        fn(w, g, w.copy(), state[1], step=1, average_weight=1.0, **kwargs)   # average is z
    elif fn is pywd.sgd_schedulefree:
        fn(w, g, w.copy(), average_weight=1.0, **kwargs)
    elif fn is pywd.adafactor:                # a vector: a full variance, no factors
        fn(w, g, None, None, state[2], step=1, **kwargs)
    else:                                     # zero state; the first step if it needs one
        step = inspect.signature(fn).parameters.get("step")
        fn(w, g, *state, **kwargs, **({"step": 1} if step and step.default is step.empty else {}))
    assert w.tobytes() == twin.tobytes()


# (AdEMAMix takes the paper's triple: tests/test_ademamix.py)
BETAS = [pair for pair in PAIRS if "beta1" in inspect.signature(pair[0]).parameters
         and "beta3" not in inspect.signature(pair[0]).parameters]


def test_every_function_with_beta1_takes_torchs_betas_too():
    assert len(BETAS) == 8
    for fn, _, _ in BETAS:
        assert inspect.signature(fn).parameters["betas"].default is None


def one_step(fn, **kwargs):
    """fn's step on fresh arrays (the state it needs, zeros; z as the params)."""
    rng = np.random.default_rng(0)
    shape = (5,)
    w, g = rng.standard_normal(shape), rng.standard_normal(shape)
    names = [n for n, p in inspect.signature(fn).parameters.items()
             if p.kind is p.POSITIONAL_OR_KEYWORD][2:]
    state = [w.copy() if n == "zs" else np.zeros(shape) for n in names]
    extra = {}
    if "step" in inspect.signature(fn).parameters:
        extra["step"] = 1
    if fn is pywd.adamw_schedulefree:
        extra["average_weight"] = 1.0
    fn(w, g, *state, **extra, **kwargs)
    return w


@pytest.mark.parametrize("fn, cls, decay", BETAS, ids=[p[0].__name__ for p in BETAS])
def test_betas_gives_what_beta1_and_beta2_give_and_both_are_refused(fn, cls, decay):
    assert one_step(fn, betas=(0.5, 0.75)).tobytes() == \
        one_step(fn, beta1=0.5, beta2=0.75).tobytes()
    assert one_step(fn, betas=[0.5, 0.75]).tobytes() == one_step(fn, betas=(0.5, 0.75)).tobytes()
    with pytest.raises(TypeError, match=r"give betas=\(beta1, beta2\) or beta1= and beta2=, "
                                        r"not both"):
        one_step(fn, betas=(0.5, 0.75), beta1=0.5)
    with pytest.raises(TypeError, match=r"betas must be a pair \(beta1, beta2\), got 0.9"):
        one_step(fn, betas=0.9)
    with pytest.raises(ValueError, match=r"beta2 must be a finite number in \[0, 1\)"):
        one_step(fn, betas=(0.5, 1.5))


def test_the_functions_need_no_lr():
    """As the classes: torch's default lr for each name."""
    for fn, cls, _ in PAIRS:
        assert inspect.signature(fn).parameters["lr"].default == \
            inspect.signature(cls).parameters["lr"].default, fn.__name__
    w = one_step(pywd.adamw)
    assert np.isfinite(w).all()


def test_param_groups_weight_decay_says_it_wants_named_pairs():
    big = [np.zeros((300, 300)), np.zeros(300)]
    with pytest.raises(TypeError, match=r"must give \(name, array\) pairs, as a dict's "
                                        r"\.items\(\) or model\.named_parameters\(\) do .*"
                                        r"entry 0 is an array of shape \(300, 300\) and "
                                        r"dtype float64$"):
        optim.param_groups_weight_decay(big, 0.05)
    with pytest.raises(TypeError, match=r"pass the dict's \.items\(\)"):
        optim.param_groups_weight_decay({"w": big[0]}, 0.05)
