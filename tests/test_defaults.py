"""A function and the optimiser class of the same name have the same defaults (DESIGN.md;
issue 19: pywd.adam(weight_decay=0.1) used to decay decoupled, pywd.optim.Adam as L2), and
torch's meaning of weight_decay for that name: sgd, adam, rmsprop, adagrad L2; sgdw, adamw,
lion decoupled."""
import inspect

import numpy as np
import pytest

import pywd
from pywd import optim

PAIRS = [(pywd.sgd, optim.SGD, "l2"), (pywd.sgdw, optim.SGDW, "decoupled"),
         (pywd.adam, optim.Adam, "l2"), (pywd.adamw, optim.AdamW, "decoupled"),
         (pywd.rmsprop, optim.RMSprop, "l2"), (pywd.adagrad, optim.Adagrad, "l2"),
         (pywd.lion, optim.Lion, "decoupled"), (pywd.adamax, optim.Adamax, "l2"),
         (pywd.radam, optim.RAdam, "l2"), (pywd.adadelta, optim.Adadelta, "l2"),
         (pywd.nadam, optim.NAdam, "l2"), (pywd.rprop, optim.Rprop, "l2"),
         (pywd.asgd, optim.ASGD, "l2"), (pywd.lamb, optim.Lamb, "decoupled"),
         (pywd.lars, optim.LARS, "l2"),
         (pywd.adamw_schedulefree, optim.AdamWScheduleFree, "decoupled"),
         (pywd.sgd_schedulefree, optim.SGDScheduleFree, "l2"),
         (pywd.muon, optim.Muon, "decoupled"),
         (pywd.adafactor, optim.Adafactor, "decoupled")]


def defaults(obj):
    out = {name: p.default for name, p in inspect.signature(obj).parameters.items()
           if p.default is not inspect.Parameter.empty}
    if "betas" in out:                       # the classes take torch's pair
        out["beta1"], out["beta2"] = out.pop("betas")
    return out


@pytest.mark.parametrize("fn, cls, decay", PAIRS, ids=[p[0].__name__ for p in PAIRS])
def test_function_and_class_share_every_default(fn, cls, decay):
    ours, theirs = defaults(fn), defaults(cls)
    shared = set(ours) & set(theirs) - {"lr"}          # lr: required by the functions
    assert {"decay", "weight_decay", "maximize"} <= shared
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
    else:
        fn(w, g, state[0], **kwargs)
    assert w.tobytes() == twin.tobytes()
