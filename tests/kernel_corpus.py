"""The kernels' bytes, hashed: every functional update x decay mode (cautious and anchored
included) x storage (float32, float64, bfloat16 and float16 with either rounding, a mix,
Kahan compensation) x the options that pick another loop, three steps each, on a list whose
big tensor runs on several threads. One hash per case, of every array after the steps (or
of the error a refused case raises).

tests/data/kernel_hashes.json holds the corpus recorded before the kernels were rebuilt
around one driver; tests/test_kernel_corpus.py checks that every ISA unit and thread count
still gives those bytes. `python tests/kernel_corpus.py --record` writes it anew: only for a
change that means to change results, said so in its commit.
"""
import hashlib
import json
import os
import sys

import numpy as np

import pywd
from helpers import call_update, table_arrays

try:
    import ml_dtypes
    BF16, F16 = np.dtype(ml_dtypes.bfloat16), np.dtype(np.float16)
except ImportError:          # pragma: no cover - ml_dtypes is a test dependency
    BF16, F16 = None, np.dtype(np.float16)

CORPUS = os.path.join(os.path.dirname(__file__), "data", "kernel_hashes.json")
# a tensor past two threads' grain (csrc/common.h), one in F order, one tiny
SHAPES = (((300, 240), "C"), ((37, 5), "F"), ((3,), "C"))
MATRICES = (((300, 240), "C"), ((37, 5), "F"))

# name: (function, its optional state arrays used, options); the arrays come from the table
# of optimisers (pywd/_optimisers.py), Adafactor's state from its class
UPDATES = {
    "sgd": ("sgd", (), dict(lr=0.05)),
    "sgd-momentum": ("sgd", ("momentum_buffers",), dict(lr=0.05, momentum=0.9, dampening=0.1)),
    "sgd-nesterov": ("sgd", ("momentum_buffers",), dict(lr=0.05, momentum=0.9, nesterov=True)),
    "sgd-first": ("sgd", ("momentum_buffers",), dict(lr=0.05, momentum=0.9, first_step=True)),
    "adam": ("adam", (), dict(lr=0.01)),
    "adam-maximize": ("adam", (), dict(lr=0.01, maximize=True, grad_scale=4.0)),
    "amsgrad": ("adam", ("max_exp_avg_sqs",), dict(lr=0.01, amsgrad=True)),
    "rmsprop": ("rmsprop", (), dict(lr=0.01)),
    "rmsprop-momentum": ("rmsprop", ("momentum_buffers",), dict(lr=0.01, momentum=0.9)),
    "rmsprop-centered": ("rmsprop", ("momentum_buffers", "grad_avgs"),
                         dict(lr=0.01, momentum=0.9, centered=True)),
    "rmsprop-centered-only": ("rmsprop", ("grad_avgs",), dict(lr=0.01, centered=True)),
    "adagrad": ("adagrad", (), dict(lr=0.05, lr_decay=0.01)),
    "lion": ("lion", (), dict(lr=0.001)),
    "adamax": ("adamax", (), dict(lr=0.01)),
    "radam": ("radam", (), dict(lr=0.01)),
    "radam-rectified": ("radam", (), dict(lr=0.01, beta2=0.9)),
    "adadelta": ("adadelta", (), dict(lr=1.0)),
    "nadam": ("nadam", (), dict(lr=0.01)),
    "rprop": ("rprop", (), dict(lr=0.01)),
    "asgd": ("asgd", (), dict(lr=0.05, t0=1.0)),
    "asgd-copy": ("asgd", (), dict(lr=0.05)),
    "lamb": ("lamb", (), dict(lr=0.01)),
    "lamb-clip": ("lamb", (), dict(lr=0.01, trust_clip=True, always_adapt=True,
                                   bias_correction=False)),
    "lars": ("lars", ("momentum_buffers",), dict(lr=0.5, momentum=0.9, nesterov=True)),
    "lars-plain": ("lars", (), dict(lr=0.5, trust_clip=True)),
    "adamw_schedulefree": ("adamw_schedulefree", (), dict(lr=0.01, average_weight=0.3)),
    "adamw_schedulefree-late": ("adamw_schedulefree", (), dict(lr=0.01, average_weight=0.7)),
    "sgd_schedulefree": ("sgd_schedulefree", (), dict(lr=0.5, average_weight=0.7)),
    "muon": ("muon", (), dict(lr=0.02)),
    "muon-heavy-ball": ("muon", (), dict(lr=0.02, nesterov=False)),
    "decay": ("decay", (), dict(lr=0.1)),
    "adafactor": ("Adafactor", (), dict(lr=0.01)),
    "ademamix": ("ademamix", (), dict(lr=0.01, t_alpha=2, t_beta3=2)),
}

DECAYS = {
    "none": dict(weight_decay=0.0),
    "l2": dict(weight_decay=0.02, decay="l2"),
    "decoupled": dict(weight_decay=0.02, decay="decoupled"),
    "independent": dict(weight_decay=0.02, decay="independent", max_lr=0.2),
    "corrected": dict(weight_decay=0.02, decay="corrected", max_lr=0.2),
    "l1": dict(weight_decay=1e-3, decay="l1"),
    "cautious": dict(weight_decay=0.02, decay="decoupled", cautious_decay=True),
}

# storage: (params and grads, state, options)
STORAGE = {
    "f32": (np.float32, np.float32, {}),
    "f64": (np.float64, np.float64, {}),
    "bf16": (BF16, BF16, dict(rounding="stochastic", rng=7)),
    "f16-nearest": (F16, F16, dict(rounding="nearest")),
    "bf16-params": (BF16, np.float32, dict(rounding="stochastic", rng=11)),
    "kahan": (BF16, np.float32, dict(rounding="nearest", compensation=True)),
}


def _arrays(rng, names, nonneg, dtypes, shapes):
    out = {}
    for name in names:
        lst = []
        for shape, order in shapes:
            a = rng.standard_normal(shape)
            a.flat[rng.integers(0, a.size, size=max(1, a.size // 16))] = 0.0
            if nonneg.get(name):
                a = np.abs(a) * 0.1
            lst.append(np.asarray(a, dtype=dtypes[name], order=order))
        out[name] = lst
    return out


def _digest(arrays):
    h = hashlib.sha256()
    for name in sorted(arrays):
        for a in arrays[name]:
            h.update(name.encode())
            h.update(a.tobytes(order="A"))
    return h.hexdigest()[:16]


def run_case(update, decay, storage, anchored):
    """The hash of one case: three steps from a seeded start."""
    name, optional, options = UPDATES[update]
    wide, narrow, extra = STORAGE[storage]
    shapes = MATRICES if name == "muon" else SHAPES
    rng = np.random.default_rng(1234)
    if name == "Adafactor":
        names, states = ["params", "grads"], {}
    else:
        arrays_of = table_arrays(name, optional)
        names, states = list(arrays_of), {k: nonneg for k, (_, nonneg) in arrays_of.items()}
    dtypes = {n: (wide if n in ("params", "grads") else narrow) for n in names}
    arrays = _arrays(rng, names, states, dtypes, shapes)
    kw = dict(options, **DECAYS[decay])
    kw.update({k: v for k, v in extra.items() if k != "compensation"})
    if extra.get("compensation"):
        arrays["compensation"] = [np.zeros_like(p) for p in arrays["params"]]
        kw["compensation"] = arrays["compensation"]
    if anchored:
        kw["decay_to"] = [np.asarray(p * 0.5, dtype=p.dtype, order="K")
                          for p in arrays["params"]]
    if name == "Adafactor":
        return _run_class(pywd.optim.Adafactor, arrays, kw)
    try:
        for step in (1, 2, 3):
            kw["step"] = step
            call_update(name, {n: arrays[n] for n in names}, **kw)
    except (TypeError, ValueError) as e:
        return "refused " + type(e).__name__ + " " + hashlib.sha256(
            str(e).encode()).hexdigest()[:12]
    return _digest(arrays)


def _run_class(cls, arrays, kw):
    """Three steps of an optimiser whose state the class makes (Adafactor's factors)."""
    kw.pop("step", None)
    opts = {k: v for k, v in kw.items() if k not in ("rounding", "rng", "compensation")}
    try:
        opt = cls(arrays["params"], **opts)
        for _ in range(3):
            opt.step(arrays["grads"])
    except (TypeError, ValueError) as e:
        return "refused " + type(e).__name__ + " " + hashlib.sha256(
            str(e).encode()).hexdigest()[:12]
    state = {k: [v] for k, v in opt.state_dict().items() if k != "rounding_seed"}  # random
    return _digest(dict(arrays, **state))


def cases():
    for update in UPDATES:
        for decay in DECAYS:
            for storage in STORAGE:
                for anchored in (False, True):
                    if decay == "none" and anchored:
                        continue
                    yield update, decay, storage, anchored


def key(case):
    update, decay, storage, anchored = case
    return "/".join([update, decay + ("-anchored" if anchored else ""), storage])


def corpus(threads=None):
    saved = pywd.get_num_threads()
    if threads is not None:
        pywd.set_num_threads(threads)
    try:
        return {key(c): run_case(*c) for c in cases()}
    finally:
        pywd.set_num_threads(saved)


if __name__ == "__main__":
    if sys.argv[1:] == ["--record"]:
        result = corpus()
        with open(CORPUS, "w") as f:
            json.dump(result, f, indent=0, sort_keys=True)
            f.write("\n")
        print("recorded", len(result), "cases in", CORPUS)
    else:                  # print this process's corpus as JSON (the test's subprocesses)
        threads = int(sys.argv[1]) if sys.argv[1:] else None
        json.dump(corpus(threads), sys.stdout)
