"""The bench's 16-bit rows (issue 16): AdamW with bfloat16 storage against pywd's float32
AdamW in the same run, and torch's fused AdamW on bfloat16 tensors when torch is installed.

Each row's `reference_s` is pywd's float32 AdamW on the same shapes (so its speed-up is what
the fewer bytes buy), `torch_s` torch's fused AdamW on bfloat16 tensors (rounded to
nearest: torch has no stochastic rounding). Bytes per element are counted from the storage:
each array read once, each written array written once. Needs ml_dtypes (the rows are left
out without it).
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


def rows(best_time, shapes_by_size, budget, placements, torch=None):
    """One row per (case, size): pywd's time (median over `placements` fresh sets of arrays),
    pywd's float32 AdamW as the reference, torch's bfloat16 fused step for the all-bfloat16
    rows. `best_time(fn, budget)` times a call as the rest of the bench does."""
    if bfloat16() is None:
        return []
    out = []
    for size, shapes in shapes_by_size.items():
        elements = sum(int(np.prod(s)) for s in shapes)
        float32 = best_time(adamw_case(shapes, ("float32",) * 4, "nearest"), budget)
        peer = None
        if torch is not None:
            peer = best_time(torch_bf16_step(torch, shapes), budget)
        for (kernel, label), (dtypes, rounding) in CASES.items():
            times = [best_time(adamw_case(shapes, dtypes, rounding, seed), budget / placements)
                     for seed in range(placements)]
            t = float(np.median(times))
            nbytes = bytes_per_element(dtypes) * elements
            row = dict(kernel=kernel, size=size, dtype=label, arrays=len(shapes),
                       elements=elements, reference_s=float32, pywd_s=t,
                       pywd_placements_s=times, speedup=float32 / t, gb_per_s=nbytes / t / 1e9,
                       bytes_per_element=bytes_per_element(dtypes),
                       footprint=sum(storage(d).itemsize for d in dtypes) * elements)
            if peer is not None and label == "bf16":
                row["torch_s"] = peer
            out.append(row)
    return out


def targets(rows):
    """Issue 16's targets on this run: all-bfloat16 AdamW with stochastic rounding >= 1.7x
    pywd's float32 AdamW at 16M (huge-page memory), and no slower than torch's fused
    bfloat16 AdamW."""
    out = []
    for size in ("16M", "resnet50"):
        row = next((r for r in rows if (r["kernel"], r["size"], r["dtype"]) ==
                    ("adamw SR", size, "bf16")), None)
        if row is None:
            continue
        if size == "16M":
            out.append((f"{size} all-bf16 AdamW (stochastic rounding) >= 1.7x float32 AdamW",
                        row["speedup"] >= 1.7, f"{row['speedup']:.2f}x"))
        if row.get("torch_s"):
            ratio = row["torch_s"] / row["pywd_s"]
            out.append((f"{size} all-bf16 AdamW (stochastic rounding) no slower than torch "
                        f"fused bf16 AdamW", ratio >= 1.0, f"{ratio:.2f}x torch"))
    return out

