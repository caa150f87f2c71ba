"""`python -m pywd bench`: pywd against its NumPy reference, judged against this machine's
memory bandwidth (measured first by a copy and a read-modify-write probe); the fills of
pywd.init against NumPy's Generator.

For every kernel, size and dtype it prints the reference's time (a NumPy loop), pywd's time,
the speed-up, the GB/s pywd moves (bytes it must read and write, per element, times
elements, over time) and, for arrays too big for the cache, that rate's share of the probe's
read-modify-write bandwidth; fills are rated in elements per second. Losses are printed too.
Timings are the best of several rounds, taken in the same run, so ratios are fair on a
shared, noisy machine. The case definitions are shared with the pytest-benchmark suite.
"""
import argparse
import fnmatch
import glob
import importlib
import json
import platform
import sys
import textwrap
import time
from functools import partial

import numpy as np

import pywd
from pywd import _kernels, bench_lowp, bench_plot, reference
from pywd._config import config
from pywd._models import resnet50_shapes


class Kernel:
    """A benchmark case: the function (pywd.<fn> and reference.<fn>), its hyper-parameters,
    how many state arrays it takes positionally after (params, grads) and by keyword (of
    which `read_only` are only read, as decay_to's anchors), and the float32 bytes it must
    move per element: every array read once, every written array written once (plain SGD
    reads w and g and writes w: 12 bytes), plus `norm_reads` arrays read by a pass before
    the update (the trust ratios' norms of LAMB and LARS)."""

    def __init__(self, fn, hyper, states=0, keyword_states=(), read_only=(), norm_reads=0):
        self.fn, self.hyper, self.states, self.keyword_states = fn, hyper, states, keyword_states
        arrays = 2 + states + len(keyword_states)
        # grads and the read-only keyword arrays are only read
        self.bytes_per_element = 4 * (arrays + arrays - 1 - len(read_only) + norm_reads)
        if "max_grad_norm" in hyper:
            self.bytes_per_element += 4                        # the norm pass reads grads


KERNELS = {
    "sgd": Kernel("sgd", dict(lr=1e-3)),
    "sgd+decay": Kernel("sgd", dict(lr=1e-3, weight_decay=1e-4, decay="decoupled")),
    "sgd+l2": Kernel("sgd", dict(lr=1e-3, weight_decay=1e-4, decay="l2")),
    "sgd+l1": Kernel("sgd", dict(lr=1e-3, weight_decay=1e-4, decay="l1")),
    "momentum": Kernel("sgd", dict(lr=1e-3, momentum=0.9, weight_decay=1e-4, decay="l2"), 1),
    "nesterov": Kernel("sgd", dict(lr=1e-3, momentum=0.9, nesterov=True, weight_decay=1e-4,
                                   decay="l2"), 1),
    "adamw": Kernel("adamw", dict(step=10, lr=1e-3), 2),
    "adam+l2": Kernel("adam", dict(step=10, lr=1e-3, weight_decay=1e-4, decay="l2"), 2),
    "amsgrad": Kernel("adamw", dict(step=10, lr=1e-3, amsgrad=True), 2, ("max_exp_avg_sqs",)),
    "adamw+clip": Kernel("adamw", dict(step=10, lr=1e-3, max_grad_norm=1.0, nonfinite="skip"),
                         2),
    "rmsprop": Kernel("rmsprop", dict(lr=1e-3, weight_decay=1e-4), 1),
    "rmsprop+c+m": Kernel("rmsprop", dict(lr=1e-3, momentum=0.9, centered=True), 3),
    "adagrad": Kernel("adagrad", dict(step=10, lr=1e-2, weight_decay=1e-4), 1),
    "lion": Kernel("lion", dict(lr=1e-4, weight_decay=0.1), 1),
    "adamax": Kernel("adamax", dict(step=10, lr=2e-3, weight_decay=1e-4), 2),
    "radam": Kernel("radam", dict(step=10, lr=1e-3, weight_decay=1e-4), 2),
    "adadelta": Kernel("adadelta", dict(lr=1.0, weight_decay=1e-4), 2),
    "nadam": Kernel("nadam", dict(step=10, lr=2e-3, weight_decay=1e-4), 2),
    "rprop": Kernel("rprop", dict(lr=1e-2, weight_decay=1e-4), 2),
    "asgd": Kernel("asgd", dict(step=10, lr=1e-2, t0=1.0, weight_decay=1e-4), 1),
    # the norm pass reads w, g and both moments before the update
    "lamb": Kernel("lamb", dict(step=10, lr=1e-3, weight_decay=0.01), 2, norm_reads=4),
    # the norm pass reads w and g
    "lars": Kernel("lars", dict(lr=0.1, momentum=0.9, weight_decay=1e-4), 1, norm_reads=2),
    # issue 15: schedule-free (y, z and Adam's second moment; SGD's y and z)
    "adamw-sf": Kernel("adamw_schedulefree", dict(step=10, average_weight=0.1, lr=2.5e-3,
                                                  weight_decay=1e-4), 2),
    "sgd-sf": Kernel("sgd_schedulefree", dict(average_weight=0.1, lr=1.0), 1),
    # decay through a run (issue 13): toward an anchor (one more stream, read), cautiously
    "adamw+anchor": Kernel("adamw", dict(step=10, lr=1e-3), 2, ("decay_to",), ("decay_to",)),
    "momentum+anchor": Kernel("sgd", dict(lr=1e-3, momentum=0.9, weight_decay=1e-4,
                                          decay="decoupled"), 1, ("decay_to",), ("decay_to",)),
    "adamw+cautious": Kernel("adamw", dict(step=10, lr=1e-3, cautious_decay=True), 2),
}
SGD_VARIANTS = [name for name, k in KERNELS.items() if k.fn == "sgd"]
SIZES = {"4K": 4096, "64K": 65536, "1M": 1 << 20, "16M": 1 << 24}
# A model of many small arrays, where the cost per array (checks, bookkeeping) is all there
# is: 10^4 arrays of 16 elements, in one functional call or one optimiser step.
MANY = "10^4x16"
MANY_SHAPES = [(16,)] * 10_000
OPTIMIZERS = {      # optimiser class rows: name -> (class, hyper, the kernel it runs)
    "SGD.step": ("SGD", dict(lr=1e-3, momentum=0.9, weight_decay=1e-4), "momentum"),
    "AdamW.step": ("AdamW", dict(lr=1e-3), "adamw"),
}


def make_arrays(shapes, dtype, count, seed=0, memory="pywd"):
    """`count` arguments for the given shapes, each a list of arrays or, when there is one
    shape, a single array (as a user passes one array): params and grads are normal values,
    the state arrays start at zeros. From pywd's allocator (pywd.memory), for pywd and the
    reference alike, so both stream from memory placed the same way; or, memory="numpy",
    as a NumPy user makes them (astype, np.zeros)."""
    rng = np.random.default_rng(seed)
    if memory == "numpy":
        out = [[rng.standard_normal(s, dtype=np.float32).astype(dtype) for s in shapes]
               for _ in range(2)]
        out += [[np.zeros(s, dtype) for s in shapes] for _ in range(count - 2)]
    else:
        out = [[_filled(rng.standard_normal(s, dtype=np.float32), dtype) for s in shapes]
               for _ in range(2)]
        out += [[pywd.zeros(s, dtype) for s in shapes] for _ in range(count - 2)]
    return [lst[0] if len(shapes) == 1 else lst for lst in out]


def _filled(values, dtype):
    array = pywd.empty(values.shape, dtype)
    array[...] = values
    return array


def kernel_case(name, shapes, dtype, modules=(pywd, reference), memory="pywd"):
    """Zero-argument callables doing the same step, one per module: (pywd, reference)."""
    kernel = KERNELS[name]
    count = 2 + kernel.states + len(kernel.keyword_states)
    calls = []
    for module in modules:
        arrays = make_arrays(shapes, dtype, count, memory=memory)
        positional = arrays[:2 + kernel.states]
        keywords = dict(zip(kernel.keyword_states, arrays[2 + kernel.states:]))
        calls.append(partial(getattr(module, kernel.fn), *positional, **keywords, **kernel.hyper))
    return tuple(calls)


def best_time(fn, budget, round_time=0.01):
    """Best seconds per call: the minimum over rounds of about `round_time` seconds each
    (long calls: one call a round), as many rounds as fit in `budget`, at least 5. Both
    sides of a comparison are timed the same way."""
    fn()                                       # warm up: page faults, thread team
    start = time.perf_counter()
    fn()
    once = max(time.perf_counter() - start, 1e-7)
    number = max(1, int(round_time / once))
    rounds = max(5, int(budget / (number * once)))
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - start) / number)
    return best


def probe_bandwidth(n, budget, placements=1):
    """GB/s of the copy (8 bytes per float) and read-modify-write (12 bytes) probes, each on
    `placements` fresh pairs of arrays: (copy rates, rmw rates), one per placement."""
    copies, rmws = [], []
    for _ in range(placements):
        a, b = pywd.empty(n, np.float32), pywd.empty(n, np.float32)
        a[...], b[...] = 1.0, 1.0
        share = budget / placements
        copies.append(8 * n / best_time(lambda: _kernels._probe("copy", a, b), share) / 1e9)
        rmws.append(12 * n / best_time(lambda: _kernels._probe("rmw", a, b), share) / 1e9)
    return copies, rmws


def cases(quick):
    """(kernel, size label, dtype, shapes) for every benchmark row."""
    sizes = ["4K", "1M", "16M"] if quick else list(SIZES)
    kernels = ["sgd+decay", "momentum", "adamw"] if quick else list(KERNELS)
    for kernel in kernels:
        for size in sizes:
            yield kernel, size, np.float32, [(SIZES[size],)]
        yield kernel, "16M", np.float64, [(SIZES["16M"],)]
    # issue 14's and 15's optimisers, in full runs
    newer = () if quick else ("adamax", "radam", "adadelta", "nadam", "rprop", "asgd",
                              "lamb", "lars", "adamw-sf", "sgd-sf")
    for kernel in ("momentum", "sgd+decay", "adamw") + newer:
        yield kernel, "resnet50", np.float32, resnet50_shapes()
    for kernel in ("sgd+decay", "momentum", "adamw"):
        yield kernel, MANY, np.float32, MANY_SHAPES


def optimizer_case(name, shapes, dtype):
    """(pywd.optim class step, the reference's loop over the same step), zero-argument."""
    cls_name, hyper, kernel = OPTIMIZERS[name]
    arrays = make_arrays(shapes, dtype, 2)
    params, grads = ([a] if len(shapes) == 1 else a for a in arrays)
    opt = getattr(pywd.optim, cls_name)(params, **hyper)
    opt.step(grads)                               # state exists: a steady-state step
    return partial(opt.step, grads), kernel_case(kernel, shapes, dtype)[1]


def usual_rows(budget, placements, names=tuple(OPTIMIZERS)):
    """The usual case at 16M for the OPTIMIZERS `names`: params and grads made by NumPy,
    state made by pywd.optim's class (a fresh optimiser per placement); the reference on
    NumPy-made arrays too; and, when torch is installed, its fused optimiser on tensors
    torch allocated, a fresh set per placement, timed between pywd's (the peer of issue 12's
    targets)."""
    rows = []
    n = SIZES["16M"]
    torch = _torch()
    for name in names:
        cls_name, hyper, kernel = OPTIMIZERS[name]
        times, peer_times = [], []
        for placement in range(placements):
            params, grads = make_arrays([(n,)], np.float32, 2, placement, memory="numpy")
            opt = getattr(pywd.optim, cls_name)([params], **hyper)
            opt.step([grads])                     # state exists: a steady-state step
            times.append(best_time(partial(opt.step, [grads]), budget / placements))
            del opt, params, grads
            if torch is not None:
                peer_times.append(best_time(torch_fused_step(torch, cls_name, hyper, n),
                                            budget / placements))
        theirs, = kernel_case(kernel, [(n,)], np.float32, (reference,), memory="numpy")
        row = _row(f"{cls_name} usual", "16M", np.float32, [(n,)], kernel, times,
                   best_time(theirs, budget))
        if peer_times:
            row.update(torch_s=float(np.median(peer_times)), torch_placements_s=peer_times)
        rows.append(row)
    return rows


def _torch():
    """torch when it is installed (the bench's peer), else None; imported by name, as
    it is optional and untyped for pywd's type check."""
    try:
        return importlib.import_module("torch")
    except ImportError:
        return None


def torch_step(torch, cls, shapes, **options):
    """A zero-argument step() of the torch optimiser class `cls` (built with `options`) over
    float32 parameters of `shapes` and their gradients, all allocated by torch (as a torch
    user has them), the gradients set once and the state made by a first step."""
    params = [torch.nn.Parameter(torch.randn(s)) for s in shapes]
    for p in params:
        p.grad = torch.randn(p.shape)
    opt = cls(params, **options)
    opt.step()
    return opt.step


def torch_fused_step(torch, cls_name, hyper, n):
    """A zero-argument step of torch.optim.<cls_name>(fused=True) on one parameter of n."""
    return torch_step(torch, getattr(torch.optim, cls_name), [(n,)], fused=True, **hyper)


def _row(name, size, dtype, shapes, kernel, times, t_ref):
    """A result row from pywd's times (one per placement: the median is reported) and the
    reference's time."""
    t_ours = float(np.median(times))
    elements = sum(int(np.prod(s)) for s in shapes)
    nbytes = KERNELS[kernel].bytes_per_element * np.dtype(dtype).itemsize // 4 * elements
    return dict(kernel=name, size=size, dtype=np.dtype(dtype).name, arrays=len(shapes),
                elements=elements, reference_s=t_ref, pywd_s=t_ours, pywd_placements_s=times,
                speedup=t_ref / t_ours, gb_per_s=nbytes / t_ours / 1e9,
                footprint=footprint(kernel, elements, dtype))


def optimizer_rows(budget, names=tuple(OPTIMIZERS)):
    rows = []
    for name in names:
        kernel = OPTIMIZERS[name][2]
        ours, theirs = optimizer_case(name, MANY_SHAPES, np.float32)
        rows.append(_row(name, MANY, np.float32, MANY_SHAPES, kernel,
                         [best_time(ours, budget)], best_time(theirs, budget)))
    return rows


def footprint(kernel, elements, dtype):
    """Bytes of every array a kernel case touches (params, grads, state)."""
    k = KERNELS[kernel]
    return (2 + k.states + len(k.keyword_states)) * elements * np.dtype(dtype).itemsize


def measure(kernel, size, dtype, shapes, budget, placements=1):
    """One row: both sides timed in the same way, pywd on `placements` fresh sets of arrays
    (where the arrays land decides the speed of a streaming kernel: README "Memory")."""
    ours, theirs = kernel_case(kernel, shapes, dtype)
    t_ref = best_time(theirs, budget)
    del theirs
    times = [best_time(ours, budget / placements)]
    for _ in range(placements - 1):
        del ours
        ours, = kernel_case(kernel, shapes, dtype, (pywd,))
        times.append(best_time(ours, budget / placements))
    return _row(kernel, size, dtype, shapes, kernel, times, t_ref)


_GEN = pywd.Generator(0)
FILLS = {   # name -> (pywd.init call, NumPy's counterpart: the reference for speed)
    "uniform": (lambda a: pywd.init.uniform_(a, rng=_GEN), "random"),
    "normal": (lambda a: pywd.init.normal_(a, rng=_GEN), "standard_normal"),
    "trunc_normal": (lambda a: pywd.init.trunc_normal_(a, rng=_GEN), "redraw"),
}


def numpy_fill(kind, out, rng):
    """NumPy's way to the same distribution into `out`: Generator.random and
    standard_normal with out=, and for the truncated normal a redraw loop."""
    if kind == "random":
        rng.random(dtype=out.dtype, out=out)
    elif kind == "standard_normal":
        rng.standard_normal(dtype=out.dtype, out=out)
    else:
        rng.standard_normal(dtype=out.dtype, out=out)
        bad = np.abs(out) > 2.0
        while bad.any():
            out[bad] = rng.standard_normal(int(bad.sum()), dtype=out.dtype)
            bad = np.abs(out) > 2.0


def fill_row(name, dtype, budget):
    """A 16M fill of `dtype` by pywd.init against NumPy's Generator (FILLS)."""
    ours, theirs = FILLS[name]
    rng = np.random.default_rng(0)
    out = pywd.empty(SIZES["16M"], dtype)
    t_ours = best_time(lambda: ours(out), budget)
    t_ref = best_time(lambda: numpy_fill(theirs, out, rng), budget)
    return dict(kernel=name, size="16M", dtype=np.dtype(dtype).name, arrays=1,
                elements=out.size, reference_s=t_ref, pywd_s=t_ours,
                speedup=t_ref / t_ours, elements_per_s=out.size / t_ours)


def orthogonal_row(budget):
    """orthogonal_ on 2048 x 2048 against numpy.linalg.qr of a matrix of the same shape and
    dtype (and torch.nn.init.orthogonal_ when torch is installed)."""
    rng = np.random.default_rng(0)
    matrix = pywd.empty((2048, 2048), np.float32)
    random = rng.standard_normal((2048, 2048), dtype=np.float32)
    t_ours = best_time(lambda: pywd.init.orthogonal_(matrix, rng=_GEN), budget)
    t_ref = best_time(lambda: np.linalg.qr(random), budget)
    row = dict(kernel="orthogonal", size="2048^2", dtype="float32", arrays=1,
               elements=matrix.size, reference_s=t_ref, pywd_s=t_ours,
               speedup=t_ref / t_ours, elements_per_s=matrix.size / t_ours)
    torch = _torch()
    if torch is not None:
        theirs = torch.empty(2048, 2048)
        row["torch_s"] = best_time(lambda: torch.nn.init.orthogonal_(theirs), budget)
    return row


# Muon's cases: one square matrix, and the matrices of two GPT-2-small blocks (attention
# qkv and output, MLP in and out; d = 768): 8 matrices, 14M parameters.
MUON_CASES = {"gpt2x2": [(2304, 768), (768, 768), (3072, 768), (768, 3072)] * 2,
              "4096^2": [(4096, 4096)]}


def muon_case(shapes, modules=(pywd, reference)):
    """Zero-argument Muon steps on float32 matrices of `shapes` (lr 0.02, torch's other
    defaults), one per module, and torch.optim.Muon's on its own tensors (None without
    torch)."""
    calls = []
    for module in modules:
        rng = np.random.default_rng(0)             # the same arrays on each side
        params = [rng.standard_normal(s, dtype=np.float32) for s in shapes]
        grads = [rng.standard_normal(s, dtype=np.float32) for s in shapes]
        bufs = [np.zeros(s, np.float32) for s in shapes]
        calls.append(partial(module.muon, params, grads, bufs, lr=0.02))
    torch = _torch()
    if torch is not None:
        tensors = [torch.nn.Parameter(torch.randn(s)) for s in shapes]
        for t in tensors:
            t.grad = torch.randn(t.shape)
        calls.append(torch.optim.Muon(tensors, lr=0.02).step)
    else:
        calls.append(None)
    return calls


def muon_row(size):
    """A Muon step on MUON_CASES[size] (full runs): pywd, its NumPy twin (the same BLAS
    products) and torch's Muon (bfloat16 products), each timed once after a warm-up step on
    the GPT-2 list (the first case): a 4096^2 step takes seconds, set by its Newton-Schulz
    products, not by memory."""
    shapes = MUON_CASES[size]
    ours, theirs, torch_step = muon_case(shapes)
    times = {}
    for name, step in (("pywd", ours), ("reference", theirs), ("torch", torch_step)):
        if step is None:
            continue
        if size == "gpt2x2":
            step()                            # warm-up: BLAS threads, first touch
        start = time.perf_counter()
        step()
        times[name] = time.perf_counter() - start
    elements = sum(int(np.prod(s)) for s in shapes)
    row = dict(kernel="muon", size=size, dtype="float32", arrays=len(shapes),
               elements=elements, reference_s=times["reference"], pywd_s=times["pywd"],
               speedup=times["reference"] / times["pywd"],
               elements_per_s=elements / times["pywd"])
    if "torch" in times:
        row["torch_s"] = times["torch"]
    return row


# Adafactor's cases: one 4096^2 matrix, the GPT-2 list (a factored second moment for each
# matrix) and the ResNet-50 list (its conv kernels are batches of small matrices; biases and
# norm gains get a full variance).
ADAFACTOR_CASES = {"4096^2": [(4096, 4096)], "gpt2x2": MUON_CASES["gpt2x2"],
                   "resnet50": None}                 # (its shapes: resnet50_shapes())
ADAFACTOR_HYPER = dict(step=10, lr=1e-2, weight_decay=1e-4)


def adafactor_bytes(shapes):
    """Bytes a float32 step moves: 24 per element of a factored param (w and g read for
    the norms and sums, g again for rms(u), w and g read and w written by the update), 32
    of another (w, g, the variance read, then read again and w and it written)."""
    return sum(int(np.prod(s)) * (24 if len(s) >= 2 else 32) for s in shapes)


def adafactor_case(shapes, modules=(pywd, reference)):
    """Zero-argument Adafactor steps on float32 params of `shapes` (ADAFACTOR_HYPER), one per
    module, and torch.optim.Adafactor's (its default, single-tensor on CPU) on its own
    tensors (None without torch)."""
    calls = []
    for module in modules:
        rng = np.random.default_rng(0)             # the same arrays on each side
        params = [rng.standard_normal(s, dtype=np.float32) for s in shapes]
        grads = [rng.standard_normal(s, dtype=np.float32) for s in shapes]
        rows = [np.zeros(s[:-1] + (1,), np.float32) if len(s) >= 2 else None for s in shapes]
        cols = [np.zeros(s[:-2] + (1,) + s[-1:], np.float32) if len(s) >= 2 else None
                for s in shapes]
        variances = [np.zeros(s, np.float32) if len(s) < 2 else None for s in shapes]
        calls.append(partial(module.adafactor, params, grads, rows, cols, variances,
                             **ADAFACTOR_HYPER))
    torch = _torch()
    if torch is not None:
        tensors = [torch.nn.Parameter(torch.randn(s)) for s in shapes]
        for t in tensors:
            t.grad = torch.randn(t.shape)
        hyper = {k: v for k, v in ADAFACTOR_HYPER.items() if k != "step"}
        calls.append(torch.optim.Adafactor(tensors, **hyper).step)
    else:
        calls.append(None)
    return calls


def adafactor_row(size, budget):
    """An Adafactor step on ADAFACTOR_CASES[size] (full runs): pywd, its NumPy twin and
    torch's Adafactor, timed as the kernel rows; rated in the bytes a step moves
    (adafactor_bytes)."""
    shapes = ADAFACTOR_CASES[size] or resnet50_shapes()
    ours, theirs, torch_step = adafactor_case(shapes)
    t_ours, t_ref = best_time(ours, budget), best_time(theirs, budget)
    elements = sum(int(np.prod(s)) for s in shapes)
    row = dict(kernel="adafactor", size=size, dtype="float32", arrays=len(shapes),
               elements=elements, reference_s=t_ref, pywd_s=t_ours,
               speedup=t_ref / t_ours, gb_per_s=adafactor_bytes(shapes) / t_ours / 1e9,
               footprint=8 * elements)            # params and grads (state: small)
    if torch_step is not None:
        row["torch_s"] = best_time(torch_step, budget)
    return row


DROPIN_CASES = {"mlp": [(256, 784), (256,), (10, 256), (10,)],    # a small model (MNIST)
                "resnet50": None}                                  # resnet50_shapes()


def dropin_case(shapes):
    """Zero-argument AdamW steps (lr 1e-3, torch's defaults) over float32 parameters of
    `shapes`, as a torch user has them (torch's tensors, gradients in p.grad, set once, the
    state made by a first step): pywd.torch.AdamW's and torch.optim.AdamW(fused=True)'s."""
    torch = _torch()
    import pywd.torch
    return [torch_step(torch, pywd.torch.AdamW, shapes, lr=1e-3),
            torch_step(torch, torch.optim.AdamW, shapes, lr=1e-3, fused=True)]


def dropin_row(size, budget):
    """pywd.torch.AdamW's step() on DROPIN_CASES[size] (needs torch), against the NumPy
    loop on arrays of the same shapes and torch's fused AdamW."""
    shapes = DROPIN_CASES[size] or resnet50_shapes()
    ours, fused = dropin_case(shapes)
    _, theirs = kernel_case("adamw", shapes, np.float32)
    t_ours, t_ref = best_time(ours, budget), best_time(theirs, budget)
    elements = sum(int(np.prod(s)) for s in shapes)
    return dict(kernel="torch.AdamW", size=size, dtype="float32", arrays=len(shapes),
                elements=elements, reference_s=t_ref, pywd_s=t_ours, speedup=t_ref / t_ours,
                gb_per_s=KERNELS["adamw"].bytes_per_element * elements / t_ours / 1e9,
                footprint=footprint("adamw", elements, np.float32),
                torch_s=best_time(fused, budget))


# How long a run takes, measured on the project's 2-vCPU test machines (AMD EPYC Zen 3; the
# full run: an Intel Xeon, 2026-12-01): said before it starts.
DURATION = {True: "about 2 minutes", False: "about 13 minutes"}
# Fresh placements of the arrays for the probe and each row that streams from memory.
PLACEMENTS = {True: 3, False: 5}


def tasks(quick, budget, placements, cache):
    """Every measurement of a run, in order, none of them run yet: (the kernels of its rows,
    its size, a callable returning its rows). One measurement may give several rows (the
    16-bit rows of a size share their float32 reference and torch's step)."""
    for kernel, size, dtype, shapes in cases(quick):
        streams = footprint(kernel, sum(int(np.prod(s)) for s in shapes), dtype) > cache
        yield [kernel], size, partial(_rows_of, measure, kernel, size, dtype, shapes, budget,
                                      placements if streams else 1)
    for name, (cls_name, _, _) in OPTIMIZERS.items():
        yield [f"{cls_name} usual"], "16M", partial(usual_rows, budget, placements, (name,))
    for name in OPTIMIZERS:
        yield [name], MANY, partial(optimizer_rows, budget, (name,))
    for size, shapes in (("16M", [(SIZES["16M"],)]), ("resnet50", None)):
        yield [k for k, _ in bench_lowp.CASES], size, partial(
            _lowp_rows, size, shapes, budget, placements)
    for size in () if quick else ADAFACTOR_CASES:
        yield ["adafactor"], size, partial(_rows_of, adafactor_row, size, budget)
    for dtype in (np.float32,) if quick else (np.float32, np.float64):
        for name in FILLS:
            yield [name], "16M", partial(_rows_of, fill_row, name, dtype, budget)
    yield ["orthogonal"], "2048^2", partial(_rows_of, orthogonal_row, budget)
    for size in () if quick else MUON_CASES:
        yield ["muon"], size, partial(_rows_of, muon_row, size)
    for size in DROPIN_CASES if _torch() is not None else ():
        yield ["torch.AdamW"], size, partial(_rows_of, dropin_row, size, budget)


def _rows_of(fn, *args):
    return [fn(*args)]


def _lowp_rows(size, shapes, budget, placements):
    shapes = shapes or resnet50_shapes()
    return bench_lowp.rows(best_time, {size: shapes}, budget, placements, _torch())


def matches(kernel, only):
    """Whether `kernel` is one of the rows --only asks for: a shell pattern (fnmatch) when
    it has *, ? or [, else a part of the name; case ignored. None: every row."""
    if only is None:
        return True
    kernel, only = kernel.lower(), only.lower()
    return fnmatch.fnmatchcase(kernel, only) if any(c in only for c in "*?[") \
        else only in kernel


class Progress:
    """Says on `stream` which row a run is on, how many are left, and the time so far and
    (from the rows done) the time still to come."""

    def __init__(self, total, stream, clock=time.perf_counter):
        self.total, self.stream, self.clock = total, stream, clock
        self.start = clock()

    def row(self, done, label):
        elapsed = self.clock() - self.start
        left = f", about {fmt_duration(elapsed / done * (self.total - done))} left" \
            if done else ""
        print(f"[{done + 1}/{self.total}] {label}: {fmt_duration(elapsed)} so far{left}",
              file=self.stream, flush=True)


def fmt_duration(seconds):
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


def run(quick=False, only=None, sizes=None, progress=None):
    """The bench: the probe, then every row (those whose kernel matches `only` and whose
    size is in `sizes`, when given), saying where it is on `progress` (a stream) if given."""
    budget = 0.2 if quick else 0.6
    placements = PLACEMENTS[quick]
    cache = cache_bytes()
    planned = [(kernels, size, measure_rows) for kernels, size, measure_rows
               in tasks(quick, budget, placements, cache)
               if (sizes is None or size in sizes) and any(matches(k, only) for k in kernels)]
    ticker = Progress(len(planned) + 1, progress) if progress is not None else None
    if ticker:
        ticker.row(0, "memory bandwidth probe")
    # the limit: the best of several fresh placements (their median says what is usual)
    copies, rmws = probe_bandwidth(SIZES["16M"], budget * placements / 2, placements)
    rows = []
    with np.errstate(all="ignore"):   # the same gradient every step drives some states to 0/0
        for done, (kernels, size, measure_rows) in enumerate(planned, 1):
            if ticker:
                ticker.row(done, f"{', '.join(kernels)} {size}")
            rows += [row for row in measure_rows() if matches(row["kernel"], only)]
    for row in rows:
        if "gb_per_s" not in row:
            continue                  # fills: compute-bound, rated in elements per second
        # Arrays that fit in cache are not bound by memory bandwidth: a share of it would
        # read above 100%, so they are judged by their time per call or per array instead.
        row["in_cache"] = row["footprint"] <= cache
        row["bandwidth_share"] = None if row["in_cache"] else row["gb_per_s"] / max(rmws)
    return dict(machine=machine(), config=config(), copy_gb_per_s=max(copies),
                rmw_gb_per_s=max(rmws), rmw_median_gb_per_s=float(np.median(rmws)),
                placements=placements, cache_bytes=cache, rows=rows, targets=targets(rows))


def cache_bytes():
    """The largest CPU cache (Linux's sysfs), or 32 MiB where it cannot be read."""
    sizes = []
    for path in glob.glob("/sys/devices/system/cpu/cpu0/cache/index*/size"):
        try:
            with open(path) as f:
                text = f.read().strip()
        except OSError:
            continue
        scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1:], 1)
        digits = text.rstrip("KMG")
        if digits.isdigit():
            sizes.append(int(digits) * scale)
    return max(sizes, default=32 << 20)


def machine():
    name = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            name = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return name


def targets(rows):
    """The foundation issue's speed targets, judged on this run."""
    def row(kernel, size, dtype="float32"):
        return next((r for r in rows if (r["kernel"], r["size"], r["dtype"]) == (kernel, size, dtype)), None)
    out = []
    big, small, model = row("sgd+decay", "16M"), row("sgd+decay", "4K"), row("momentum", "resnet50")
    if big:
        out.append(("16M float32 SGD+decay >= 10x reference", big["speedup"] >= 10, f"{big['speedup']:.1f}x"))
    if small:
        out.append(("4K float32 SGD+decay <= 1.5 us per call", small["pywd_s"] <= 1.5e-6,
                    f"{small['pywd_s'] * 1e6:.2f} us"))
    if model:
        out.append(("ResNet-50 list, momentum >= 5x reference loop", model["speedup"] >= 5,
                    f"{model['speedup']:.1f}x"))
    adamw, adamw_model = row("adamw", "16M"), row("adamw", "resnet50")
    if adamw:
        out.append(("16M float32 AdamW >= 20x reference", adamw["speedup"] >= 20,
                    f"{adamw['speedup']:.1f}x"))
    if adamw_model:
        out.append(("ResNet-50 list, AdamW >= 8x reference loop", adamw_model["speedup"] >= 8,
                    f"{adamw_model['speedup']:.1f}x"))
    for (kernel, size, dtype), share in BANDWIDTH_SHARES.items():
        found = row(kernel, size, dtype)
        if found:
            out += bandwidth_target(f"{size} {dtype} {kernel}", found, share)
    for name, ratio in TORCH_RATIOS.items():
        usual = row(f"{name} usual", "16M")
        if usual and usual.get("torch_s"):
            out.append(torch_target(name, usual, ratio))
    for kernel in ("sgd+decay", "momentum", "adamw"):
        many = row(kernel, MANY)
        if many:
            per = many["pywd_s"] / many["arrays"]
            out.append((f"{kernel} over 10^4 small arrays <= 100 ns per array", per <= 100e-9,
                        f"{per * 1e9:.0f} ns"))
    for name in OPTIMIZERS:
        many = row(name, MANY)
        if many:
            per = many["pywd_s"] / many["arrays"]
            out.append((f"optim.{name} over 10^4 small arrays <= 300 ns per parameter",
                        per <= 300e-9, f"{per * 1e9:.0f} ns"))
    out += bench_lowp.targets(rows)
    for name, dtype, times in (("normal", "float32", 6), ("uniform", "float32", 3),
                               ("trunc_normal", "float32", 10), ("normal", "float64", 3),
                               ("uniform", "float64", 3), ("trunc_normal", "float64", 3)):
        fill = row(name, "16M", dtype)
        if fill:
            out.append((f"16M {dtype} {name} fill >= {times}x NumPy", fill["speedup"] >= times,
                        f"{fill['speedup']:.1f}x"))
    ortho = row("orthogonal", "2048^2")
    if ortho and ortho.get("torch_s"):
        ratio = ortho["torch_s"] / ortho["pywd_s"]
        out.append(("orthogonal_ 2048x2048 no slower than torch.nn.init.orthogonal_",
                    ratio >= 1.0, f"{ratio:.2f}x"))
    elif ortho:
        out.append(("orthogonal_ 2048x2048 no slower than numpy.linalg.qr",
                    ortho["speedup"] >= 1.0, f"{ortho['speedup']:.2f}x"))
    return [dict(target=t, met=bool(ok), measured=m) for t, ok, m in out]


# Issue 12's targets for arrays from pywd.empty: the median over placements as a share of
# the best probe. Kernels that move more streams or compute more per byte get less.
BANDWIDTH_SHARES = {
    **{(kernel, "16M", "float32"): 0.85
       for kernel in ("sgd+decay", "sgd+l1", "momentum", "nesterov", "adamw", "adam+l2",
                      "rmsprop", "adagrad", "lion", "adamax", "radam", "adadelta",
                      "nadam", "rprop", "asgd", "lamb", "lars", "adamw-sf", "sgd-sf",
                      "adamw+anchor", "momentum+anchor", "adamw+cautious")},
    ("amsgrad", "16M", "float32"): 0.75, ("rmsprop+c+m", "16M", "float32"): 0.75,
    ("adamw", "16M", "float64"): 0.70,
    ("momentum", "resnet50", "float32"): 0.85, ("adamw", "resnet50", "float32"): 0.85,
}
# The usual case (NumPy-made params, pywd.optim's state) against torch's fused optimiser
# on its own tensors, in the same run: pywd's speed over torch's.
TORCH_RATIOS = {"AdamW": 1.5, "SGD": 1.3}


def bandwidth_target(name, row, share=0.85):
    """A streaming row's target share of the probe (none for a machine whose cache holds
    the row's arrays)."""
    measured = row.get("bandwidth_share")
    if measured is None:
        return []
    return [(f"{name} >= {100 * share:.0f}% of probe RMW bandwidth", measured >= share,
             f"{100 * measured:.0f}%")]


def torch_target(name, row, ratio):
    """pywd `ratio` times as fast as torch's fused step; or, where the memory caps that
    ratio (it would take pywd above 85% of the best probe), 85% of the probe and no slower
    than torch."""
    speed = row["torch_s"] / row["pywd_s"]
    share = row.get("bandwidth_share")
    capped = share is not None and ratio * share / speed > 0.85
    met = speed >= ratio or (capped and speed >= 1.0 and share >= 0.85)
    measured = f"{speed:.2f}x torch" + ("" if share is None else f", {100 * share:.0f}% of probe")
    return (f"usual optim.{name} >= {ratio}x torch fused (where the probe caps that: >= 85% "
            f"of probe, no slower)", met, measured)


def fmt_time(seconds):
    for unit, scale in (("s", 1), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:7.2f} {unit}"
    return f"{seconds / 1e-9:7.1f} ns"


def fmt_rate(row):
    if "gb_per_s" in row:
        return f"{row['gb_per_s']:.1f} GB/s"
    rate = row["elements_per_s"]        # elements filled per second
    return f"{rate / 1e9:.2f} Gel/s" if rate >= 1e9 else f"{rate / 1e6:.1f} Mel/s"


def fmt_spread(row):
    times = row.get("pywd_placements_s") or []
    return f"{100 * (max(times) / min(times) - 1):.0f}%" if len(times) > 1 else "-"


def fmt_saved(row):
    if "saved_ratio" not in row:
        return "-"
    return f"{row['saved_ratio']:.2f}x" + (" SLOWER" if row["slower"] else "")


def fmt_share(row):
    if row.get("in_cache"):
        return "in cache"
    share = row.get("bandwidth_share")
    return "-" if share is None else f"{100 * share:.0f}%"


def report(result, out=sys.stdout):
    cfg = result["config"]
    print(f"pywd {cfg['pywd']} bench on {result['machine']}: {cfg['threads']} threads, "
          f"OpenMP {'on' if cfg['openmp'] else 'off'}, ISA {cfg['isa']}", file=out)
    placements = result.get("placements", 1)
    print(f"memory bandwidth probe, best of {placements} fresh placements: copy "
          f"{result['copy_gb_per_s']:.1f} GB/s, read-modify-write (RMW) "
          f"{result['rmw_gb_per_s']:.1f} GB/s (median "
          f"{result.get('rmw_median_gb_per_s', result['rmw_gb_per_s']):.1f})", file=out)
    compared = any("saved_ratio" in r for r in result["rows"])
    width = max([12] + [len(r["kernel"]) for r in result["rows"]])
    header = (f"{'kernel':<{width}} {'size':>8} {'dtype':>7} {'NumPy loop':>10} {'pywd':>10} "
              f"{'torch':>10} {'spread':>7} {'speed-up':>9} {'rate':>11} {'of RMW':>8}"
              + (f" {'vs saved':>14}" if compared else ""))
    print(header, file=out)
    print("-" * len(header), file=out)
    for r in result["rows"]:
        print(f"{r['kernel']:<{width}} {r['size']:>8} {r['dtype']:>7} "
              f"{fmt_time(r['reference_s']):>10} {fmt_time(r['pywd_s']):>10} "
              f"{fmt_time(r['torch_s']) if r.get('torch_s') else '-':>10} {fmt_spread(r):>7} {r['speedup']:8.1f}x {fmt_rate(r):>11} {fmt_share(r):>8}"
              + (f" {fmt_saved(r):>14}" if compared else ""), file=out)
    cache_mb = result.get("cache_bytes", 32 << 20) / (1 << 20)
    print(textwrap.fill(
        f"NumPy loop: the same step in pywd.reference's NumPy code (fills: NumPy's Generator; "
        f"orthogonal: numpy.linalg.qr). torch (when installed): torch 2's fused optimiser on "
        f"tensors torch allocated (median over the same placements), "
        f"torch.nn.init.orthogonal_, and torch.optim.Muon (its products in bfloat16; muon "
        f"rows: one step each, float32 products by BLAS for pywd and the NumPy loop; gpt2x2: "
        f"the 8 matrices of two GPT-2-small blocks; rate: parameters per second), "
        f"torch.optim.Adafactor (its default step; adafactor rows rated in the bytes a step "
        f"moves: 24 per element of a matrix, 32 of a vector; arrays from NumPy). torch.AdamW "
        f"rows: pywd.torch.AdamW's step() on torch's tensors (gradients read from p.grad) "
        f"against torch's fused AdamW on the same shapes (mlp: 784-256-10). "
        f"Arrays come from pywd.empty/zeros, except in the "
        f"\"usual\" rows: params and grads made by NumPy, state by pywd.optim's class (what "
        f"a NumPy user has). pywd: the median over {placements} fresh placements of the "
        f"arrays for rows that stream from memory; spread: their slowest over their fastest. "
        f"rate: the GB/s pywd reads and writes; for fills, elements per second (Gel/s: "
        f"10^9, Mel/s: 10^6). of RMW: that rate as a share of the probe's best; \"in "
        f"cache\": the arrays fit in this machine's {cache_mb:.0f} MB cache, so memory "
        f"bandwidth does not bound them (the 10^4x16 rows: judge the time per array, "
        f"below). 16-bit rows (adamw SR: stochastic rounding, RN: to nearest; dtype: all "
        f"bf16, f32/b16 float32 params and grads with bf16 state, b16/f32 bf16 params with "
        f"float32 grads and state): the NumPy loop column holds pywd's float32 AdamW on the "
        f"same shapes, so the speed-up is what the fewer bytes buy; torch: its fused AdamW "
        f"on bf16 tensors (round to nearest).", 90), file=out)
    if compared:
        print(textwrap.fill(
            "vs saved: the saved run's pywd time over this run's (above 1: faster now); "
            "SLOWER: slower by more than the noise the bench measured (the spread of the "
            "row's placements, or of the probe, in either run).", 90), file=out)
    print("the project's speed targets, on this run:", file=out)
    for t in result["targets"]:
        verdict = "met" if t["met"] else "below the project's target on this run"
        print(f"  [{verdict}] {t['target']}: {t['measured']}", file=out)
    if not all(t["met"] for t in result["targets"]):
        print(textwrap.fill(
            "A row below its target in one run is not a fault: the targets were set on the "
            "project's 2-core test machine, and a shared machine's memory bandwidth and "
            "clocks change from second to second. Run it again to see the spread.", 90),
            file=out)


def compare(result, earlier):
    """Marks each row of `result` that `earlier` (a saved run's result) has too, by kernel,
    size and dtype: "saved_ratio", the earlier pywd time over this one (above 1: faster now),
    and "slower", whether it got slower by more than the noise the bench measured: the
    spread of either run's placements of that row, or of either run's probe (its best over
    its median)."""
    before = {(r["kernel"], r["size"], r["dtype"]): r for r in earlier.get("rows", [])}
    probe = max(_probe_spread(result), _probe_spread(earlier))
    for row in result["rows"]:
        old = before.get((row["kernel"], row["size"], row["dtype"]))
        if old is None:
            continue
        noise = max(probe, _spread(row), _spread(old))
        row["saved_ratio"] = old["pywd_s"] / row["pywd_s"]
        row["slower"] = row["pywd_s"] / old["pywd_s"] - 1 > noise
    return result


def _spread(row):
    times = row.get("pywd_placements_s") or []
    return max(times) / min(times) - 1 if len(times) > 1 else 0.0


def _probe_spread(result):
    median = result.get("rmw_median_gb_per_s") or result.get("rmw_gb_per_s")
    return result["rmw_gb_per_s"] / median - 1 if median else 0.0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m pywd bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer kernels and sizes, shorter timing")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--only", metavar="PATTERN",
                        help="only the rows whose kernel contains PATTERN (or matches it, "
                             "with * ? [ ]), e.g. adamw, 'sgd*'")
    parser.add_argument("--sizes", metavar="LIST",
                        help="only these sizes, comma-separated: 4K, 64K, 1M, 16M, resnet50, "
                             "10^4x16, gpt2x2, 4096^2, 2048^2")
    parser.add_argument("--progress", action="store_true",
                        help="say on stderr which row runs and how long is left (the default "
                             "when stderr is a terminal)")
    parser.add_argument("--save", metavar="FILE", help="write the result as JSON to FILE")
    parser.add_argument("--compare", metavar="FILE",
                        help="a saved result (--save) to compare with: a column of speed "
                             "ratios, rows that got slower than the measured noise flagged")
    parser.add_argument("--plot", metavar="FILE.png",
                        help="draw the result: GB/s per row against the memory probes, "
                             "fills in elements per second (needs matplotlib: the demo extra)")
    args = parser.parse_args(argv)
    if args.plot:                          # before the run: a missing matplotlib fails at once
        try:
            bench_plot.pyplot()
        except ImportError as err:
            parser.error(str(err))
    earlier = None
    if args.compare:                       # read before the run: a bad file fails at once
        try:
            with open(args.compare) as f:
                earlier = json.load(f)
            if not isinstance(earlier.get("rows"), list):
                raise ValueError("it has no rows")
        except (OSError, ValueError, AttributeError) as err:
            parser.error(f"--compare {args.compare}: not a saved bench result ({err})")
    sizes = None if args.sizes is None else {s.strip() for s in args.sizes.split(",")}
    filtered = args.only is not None or sizes is not None
    print(f"pywd bench{' --quick' if args.quick else ''}: takes {DURATION[args.quick]} on a "
          f"2-core machine{' (less: a subset of the rows)' if filtered else ''}",
          file=sys.stderr, flush=True)
    progress = sys.stderr if args.progress or sys.stderr.isatty() else None
    result = run(quick=args.quick, only=args.only, sizes=sizes, progress=progress)
    if earlier is not None:
        compare(result, earlier)
    if args.save:
        with open(args.save, "w") as f:
            json.dump(result, f, indent=1)
    if args.plot:
        bench_plot.plot(result, args.plot)
    if args.json:
        json.dump(result, sys.stdout, indent=1)
        print()
    else:
        report(result)
    return 0
