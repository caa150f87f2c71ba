"""The bench's 16-bit cases: AdamW with bfloat16 storage, and torch's fused AdamW on
bfloat16 tensors (rounded to nearest: torch has no stochastic rounding). Bytes per element
are counted from the storage: each array read once, each written array written once.
Needs ml_dtypes (the bench leaves these rows out without it).
"""
import importlib
import itertools

import numpy as np

import pywd

# (kernel label, storage label) -> dtypes of (params, grads, exp_avgs, exp_avg_sqs), rounding
CASES = {
    ("adamw SR", "bf16"): (("bfloat16",) * 4, "stochastic"),
    ("adamw RN", "bf16"): (("bfloat16",) * 4, "nearest"),
    ("adamw SR", "f32/b16"): (("float32", "float32", "bfloat16", "bfloat16"), "stochastic"),
    ("adamw SR", "b16/f32"): (("bfloat16", "float32", "float32", "float32"), "stochastic"),
}
HYPER = dict(lr=1e-3, weight_decay=0.01)


def bfloat16():
    try:
        return np.dtype(importlib.import_module("ml_dtypes").bfloat16)
    except ImportError:
        return None


def storage(name):
    return bfloat16() if name == "bfloat16" else np.dtype(name)


def bytes_per_element(dtypes):
    """Read params, grads and both moments; write params and the moments."""
    sizes = [storage(d).itemsize for d in dtypes]
    return sum(sizes) + sizes[0] + sizes[2] + sizes[3]


def adamw_case(shapes, dtypes, rounding, seed=0):
    """A zero-argument AdamW step on arrays from pywd.empty of the given storage dtypes, a
    new step (new random bits) each call."""
    arrays = []
    for k, name in enumerate(dtypes):
        lst = []
        for j, shape in enumerate(shapes):
            a = pywd.empty(shape, storage(name))
            if k < 2:                        # params and grads: normal values (pywd's fill:
                values = np.empty(shape, np.float32)          # fast, for the big shapes)
                a[...] = pywd.init.normal_(values, rng=pywd.Generator(seed, (2 * j + k) << 40))
            else:
                a[...] = 0.0
            lst.append(a)
        arrays.append(lst)
    steps = itertools.count(1)

    def step():
        pywd.adamw(*arrays, step=next(steps), rounding=rounding, rng=1, **HYPER)
    return step


def torch_bf16_step(torch, shapes):
    """torch.optim.AdamW(fused=True) on bfloat16 params, grads and state torch allocated."""
    params = [torch.nn.Parameter(torch.randn(s, dtype=torch.bfloat16)) for s in shapes]
    for p in params:
        p.grad = torch.randn(p.shape, dtype=torch.bfloat16)
    opt = torch.optim.AdamW(params, fused=True, **HYPER)
    opt.step()
    return opt.step
