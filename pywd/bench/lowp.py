"""The bench's 16-bit cases: AdamW and SGD with momentum on bfloat16 storage, each beside
pywd's own float32 step on the same shapes (what the fewer bytes buy: "vs f32") and torch's
fused step on bfloat16 tensors (rounded to nearest: torch has no stochastic rounding). Bytes
per element are counted from the storage: each array read once, each written array written
once. Needs ml_dtypes (the bench leaves these rows out without it).
"""
import importlib
import itertools
from typing import NamedTuple

import numpy as np

import pywd


class Case(NamedTuple):
    fn: str                     # pywd.<fn>
    hyper: dict                 # its options (the same for every side)
    dtypes: tuple               # storage of (params, grads, state arrays...)
    rounding: str               # "stochastic" or "nearest"
    torch: tuple | None         # (torch.optim class name, its options): the bf16 peer


ADAMW = dict(lr=1e-3, weight_decay=0.01)
MOMENTUM = dict(lr=1e-3, momentum=0.9, weight_decay=1e-4)
TORCH_ADAMW = ("AdamW", ADAMW)
TORCH_SGD = ("SGD", MOMENTUM)
MIXES = {"bf16": ("bfloat16",) * 4, "f32/b16": ("float32",) * 2 + ("bfloat16",) * 2,
         "b16/f32": ("bfloat16",) + ("float32",) * 3}
# (kernel label, storage label) -> Case; "bf16": every array bfloat16, "f32/b16": float32
# params and grads with bfloat16 state, "b16/f32": bfloat16 params, float32 grads and state
CASES = {
    ("adamw SR", "bf16"): Case("adamw", ADAMW, MIXES["bf16"], "stochastic", TORCH_ADAMW),
    ("adamw RN", "bf16"): Case("adamw", ADAMW, MIXES["bf16"], "nearest", TORCH_ADAMW),
    ("adamw SR", "f32/b16"): Case("adamw", ADAMW, MIXES["f32/b16"], "stochastic", None),
    ("adamw SR", "b16/f32"): Case("adamw", ADAMW, MIXES["b16/f32"], "stochastic", None),
    ("momentum SR", "bf16"): Case("sgd", MOMENTUM, MIXES["bf16"][:3], "stochastic", TORCH_SGD),
    ("momentum RN", "bf16"): Case("sgd", MOMENTUM, MIXES["bf16"][:3], "nearest", TORCH_SGD),
}
# the compute cost: arrays that stay in cache (2^18 elements, 2 threads: the measure)
IN_CACHE = "256K"


def bfloat16():
    try:
        return np.dtype(importlib.import_module("ml_dtypes").bfloat16)
    except ImportError:
        return None


def storage(name):
    return bfloat16() if name == "bfloat16" else np.dtype(name)


def bytes_per_element(dtypes):
    """Read every array once; write params and the state arrays (grads are only read)."""
    sizes = [storage(d).itemsize for d in dtypes]
    return sum(sizes) + sizes[0] + sum(sizes[2:])


def normal_arrays(shapes, dtype, k, seed=0):
    """Argument k's arrays (0 params, 1 grads) of storage `dtype` from pywd.empty, normal
    values from pywd's fill (fast, for the big shapes), each tensor j its own stream."""
    out = []
    for j, shape in enumerate(shapes):
        a = pywd.empty(shape, storage(dtype))
        a[...] = pywd.init.normal_(np.empty(shape, np.float32),
                                   rng=pywd.Generator(seed, (2 * j + k) << 40))
        out.append(a)
    return out


def step_case(case, shapes, dtypes=None, seed=0):
    """A zero-argument step of `case` on arrays from pywd.empty (storage `dtypes`, the
    case's own by default: float32 ones give pywd's float32 step), a new step number (new
    random bits) each call."""
    arrays = [normal_arrays(shapes, name, k, seed) if k < 2    # params and grads
              else [pywd.zeros(shape, storage(name)) for shape in shapes]
              for k, name in enumerate(dtypes or case.dtypes)]
    steps = itertools.count(1)
    fn = getattr(pywd, case.fn)

    def step():
        fn(*arrays, step=next(steps), rounding=case.rounding, rng=1, **case.hyper)
    step.arrays = arrays                       # (params, grads, state...) lists: for tests
    return step


def float32_case(case, shapes):
    """pywd's float32 step of the same kernel and options on the same shapes."""
    return step_case(case, shapes, ("float32",) * len(case.dtypes))


def torch_bf16_step(torch, case, shapes):
    """torch.optim's fused step (case.torch) on bfloat16 params, grads and the state torch
    allocated; None where the case has no torch peer."""
    if case.torch is None:
        return None
    cls_name, options = case.torch
    params = [torch.nn.Parameter(torch.randn(s, dtype=torch.bfloat16)) for s in shapes]
    for p in params:
        p.grad = torch.randn(p.shape, dtype=torch.bfloat16)
    opt = getattr(torch.optim, cls_name)(params, fused=True, **options)
    opt.step()
    return opt.step
