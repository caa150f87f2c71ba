"""The bench's 8-bit state cases: AdamW with its moments in 8 bits (pywd.QuantizedState),
float32 or bfloat16 params and grads, beside pywd's float32 AdamW on the same shapes ("vs
f32") and the CPU 8-bit AdamWs that exist, bitsandbytes' and torchao's ``AdamW8bit`` (each
where installed, on torch tensors they allocate). Bytes per element from the storage: each
array read once, params and state written, a float32 scale per 256 elements per state.
"""
import importlib
import itertools
import warnings

import pywd
from pywd.bench import lowp

HYPER = dict(lr=1e-3, weight_decay=0.01)
# (kernel label, storage label) -> params and grads' dtype
CASES = {("adamw 8bit", "f32/q8"): "float32", ("adamw 8bit", "b16/q8"): "bfloat16"}
PEERS = {"bnb": ("bitsandbytes", "bitsandbytes.optim", "AdamW8bit"),
         "torchao": ("torchao", "torchao.optim", "AdamW8bit")}


def bytes_per_element(dtype):
    """Params read and written, grads read, two 8-bit moments read and written with their
    scales."""
    size = lowp.storage(dtype).itemsize
    return 3 * size + 2 * 2 * (1 + 4 / 256)


def step_case(shapes, dtype, seed=0):
    """A zero-argument AdamW step with 8-bit moments on params and grads of `dtype` from
    pywd.empty, a new step number each call."""
    params, grads = (lowp.normal_arrays(shapes, dtype, k, seed) for k in (0, 1))
    m = pywd.quantized_zeros_like(params)
    v = pywd.quantized_zeros_like(params, signed=False)
    steps = itertools.count(1)
    rounding = {} if dtype == "float32" else dict(rounding="stochastic", rng=1)

    def step():
        pywd.adamw(params, grads, m, v, step=next(steps), **rounding, **HYPER)
    step.arrays = (params, grads, m, v)
    return step


def float32_case(shapes):
    """pywd's float32 AdamW on the same shapes."""
    return lowp.step_case(lowp.Case("adamw", HYPER, ("float32",) * 4, "nearest", None), shapes)


def peer_step(torch, peer, shapes):
    """The peer's 8-bit AdamW (PEERS) on float32 tensors it allocates, one step taken (its
    state exists), or None where it is not installed or will not run here."""
    if torch is None:
        return None
    _, module, name = PEERS[peer]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cls = getattr(importlib.import_module(module), name)
            params = [torch.nn.Parameter(torch.randn(s)) for s in shapes]
            for p in params:
                p.grad = torch.randn(p.shape)
            opt = cls(params, **HYPER)
            opt.step()
    except Exception:                      # not installed, or no CPU path in this version
        return None
    return opt.step
