"""`python -m pywd bench`: how fast pywd is on this machine, against a NumPy loop and,
where torch is installed, against torch (its fused optimisers, its initialisers), and
against the memory's own limit (a copy and a read-modify-write probe, measured first).

Each row times its sides in interleaved rounds (pywd.bench.timing): "vs NumPy loop" and
"vs torch" are how many times as fast pywd is, the median of the rounds' ratios, so that a
machine that is busy for a moment moves both sides; a row whose rounds disagree is marked.
Streaming rows are rated in GB/s (the bytes a step must read and write) and, for arrays too
big for the cache, in their share of the probe; fills in elements per second. The default
run takes about a minute on 2 cores; ``--full`` runs every kernel, size and dtype. The case
definitions are shared with the pytest-benchmark suites in bench/, where the project's own
speed targets live.
"""
import argparse
import fnmatch
import glob
import importlib
import inspect
import json
import platform
import sys
import textwrap
import time
from functools import partial

import numpy as np

import pywd
from pywd import _kernels, reference
from pywd.bench import lowp, plot, q8, timing
from pywd._config import config
from pywd._models import resnet50_shapes
from pywd.bench.timing import interleaved, slower, summary


class Kernel:
    """A benchmark case: the function (pywd.<fn> and reference.<fn>), its hyper-parameters,
    how many state arrays it takes positionally after (params, grads) and by keyword (of
    which `read_only` are only read, as decay_to's anchors), and the float32 bytes it must
    move per element: every array read once, every written array written once (plain SGD
    reads w and g and writes w: 12 bytes), plus `norm_reads` arrays read by a pass before
    the update (the trust ratios' norms of LAMB and LARS); `pywd_only`: options pywd's call
    takes and the NumPy loop has no use for (stats=True)."""

    def __init__(self, fn, hyper, states=0, keyword_states=(), read_only=(), norm_reads=0,
                 torch=None, pywd_only=None):
        self.fn, self.hyper, self.states, self.keyword_states = fn, hyper, states, keyword_states
        self.pywd_only = pywd_only or {}
        # the same step in torch: (torch.optim class name, its options), run fused
        self.torch = torch
        arrays = 2 + states + len(keyword_states)
        # grads and the read-only keyword arrays are only read
        self.bytes_per_element = 4 * (arrays + arrays - 1 - len(read_only) + norm_reads)
        if "max_grad_norm" in hyper:
            self.bytes_per_element += 4                        # the norm pass reads grads


KERNELS = {
    "sgd": Kernel("sgd", dict(lr=1e-3)),
    "sgd+decay": Kernel("sgd", dict(lr=1e-3, weight_decay=1e-4, decay="decoupled")),
    "sgd+l2": Kernel("sgd", dict(lr=1e-3, weight_decay=1e-4, decay="l2"),
                     torch=("SGD", dict(lr=1e-3, weight_decay=1e-4))),
    "sgd+l1": Kernel("sgd", dict(lr=1e-3, weight_decay=1e-4, decay="l1")),
    "momentum": Kernel("sgd", dict(lr=1e-3, momentum=0.9, weight_decay=1e-4, decay="l2"), 1,
                       torch=("SGD", dict(lr=1e-3, momentum=0.9, weight_decay=1e-4))),
    "nesterov": Kernel("sgd", dict(lr=1e-3, momentum=0.9, nesterov=True, weight_decay=1e-4,
                                   decay="l2"), 1,
                       torch=("SGD", dict(lr=1e-3, momentum=0.9, nesterov=True,
                                          weight_decay=1e-4))),
    "adamw": Kernel("adamw", dict(step=10, lr=1e-3), 2, torch=("AdamW", dict(lr=1e-3))),
    "adam+l2": Kernel("adam", dict(step=10, lr=1e-3, weight_decay=1e-4, decay="l2"), 2,
                      torch=("Adam", dict(lr=1e-3, weight_decay=1e-4))),
    "amsgrad": Kernel("adamw", dict(step=10, lr=1e-3, amsgrad=True), 2, ("max_exp_avg_sqs",),
                      torch=("AdamW", dict(lr=1e-3, amsgrad=True))),
    "adamw+clip": Kernel("adamw", dict(step=10, lr=1e-3, max_grad_norm=1.0, nonfinite="skip"),
                         2),
    "rmsprop": Kernel("rmsprop", dict(lr=1e-3, weight_decay=1e-4), 1),
    "rmsprop+c+m": Kernel("rmsprop", dict(lr=1e-3, momentum=0.9, centered=True), 3),
    "adagrad": Kernel("adagrad", dict(step=10, lr=1e-2, weight_decay=1e-4), 1,
                      torch=("Adagrad", dict(lr=1e-2, weight_decay=1e-4))),
    "lion": Kernel("lion", dict(lr=1e-4, weight_decay=0.1), 1),
    "adamax": Kernel("adamax", dict(step=10, lr=2e-3, weight_decay=1e-4), 2),
    "radam": Kernel("radam", dict(step=10, lr=1e-3, weight_decay=1e-4), 2),
    "adadelta": Kernel("adadelta", dict(lr=1.0, weight_decay=1e-4), 2),
    "nadam": Kernel("nadam", dict(step=10, lr=2e-3, weight_decay=1e-4), 2),
    "rprop": Kernel("rprop", dict(lr=1e-2, weight_decay=1e-4), 2),
    "asgd": Kernel("asgd", dict(step=10, lr=1e-2, t0=1.0, weight_decay=1e-4), 1),
    "ademamix": Kernel("ademamix", dict(step=10, lr=1e-3, t_alpha=100, t_beta3=100), 3),
    # the norm pass reads w, g and both moments before the update
    "lamb": Kernel("lamb", dict(step=10, lr=1e-3, weight_decay=0.01), 2, norm_reads=4),
    # the norm pass reads w and g
    "lars": Kernel("lars", dict(lr=0.1, momentum=0.9, weight_decay=1e-4), 1, norm_reads=2),
    # schedule-free (y, z and Adam's second moment; SGD's y and z)
    "adamw-sf": Kernel("adamw_schedulefree", dict(step=10, average_weight=0.1, lr=2.5e-3,
                                                  weight_decay=1e-4), 2),
    "sgd-sf": Kernel("sgd_schedulefree", dict(average_weight=0.1, lr=1.0), 1),
    # decay through a run: toward an anchor (one more stream, read), cautiously
    "adamw+anchor": Kernel("adamw", dict(step=10, lr=1e-3), 2, ("decay_to",), ("decay_to",)),
    "momentum+anchor": Kernel("sgd", dict(lr=1e-3, momentum=0.9, weight_decay=1e-4,
                                          decay="decoupled"), 1, ("decay_to",), ("decay_to",)),
    "adamw+cautious": Kernel("adamw", dict(step=10, lr=1e-3, cautious_decay=True), 2),
    # what decay does: the step's statistics in its own pass; the cautious update (a pass
    # counting the agreeing elements reads w, g and both moments first)
    "adamw+stats": Kernel("adamw", dict(step=10, lr=1e-3), 2, pywd_only=dict(stats=True)),
    "adamw+caution": Kernel("adamw", dict(step=10, lr=1e-3, caution=True), 2, norm_reads=4),
    # weight-norm control (AdamWN): a pass summing |w|^2 reads w first
    "adamw+norm": Kernel("adamw", dict(step=10, lr=1e-3, norm_target=1.0), 2, norm_reads=1),
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
        only = kernel.pywd_only if module is pywd else {}
        calls.append(partial(getattr(module, kernel.fn), *positional, **keywords, **kernel.hyper,
                             **only))
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


def probe_bandwidth(n, budget, placements=1, arrays=None):
    """GB/s of the copy (8 bytes per float) and read-modify-write (12 bytes) probes, each on
    `placements` fresh pairs of arrays (or on `arrays`, pairs kept from an earlier call, to
    time them again): (copy rates, rmw rates), one per pair."""
    if arrays is None:
        arrays = [probe_arrays(n) for _ in range(placements)]
    copies, rmws = [], []
    for a, b in arrays:
        share = budget / len(arrays)
        copies.append(8 * n / best_time(lambda: _kernels._probe("copy", a, b), share) / 1e9)
        rmws.append(12 * n / best_time(lambda: _kernels._probe("rmw", a, b), share) / 1e9)
    return copies, rmws


def probe_arrays(n):
    """A fresh pair of arrays for the probes."""
    a, b = pywd.empty(n, np.float32), pywd.empty(n, np.float32)
    a[...], b[...] = 1.0, 1.0
    return a, b


def optimizer_case(name, shapes, dtype):
    """(pywd.optim class step, the reference's loop over the same step), zero-argument."""
    cls_name, hyper, kernel = OPTIMIZERS[name]
    arrays = make_arrays(shapes, dtype, 2)
    params, grads = ([a] if len(shapes) == 1 else a for a in arrays)
    opt = getattr(pywd.optim, cls_name)(params, **hyper)
    opt.step(grads)                               # state exists: a steady-state step
    return partial(opt.step, grads), kernel_case(kernel, shapes, dtype)[1]


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


def footprint(kernel, elements, dtype):
    """Bytes of every array a kernel case touches (params, grads, state)."""
    k = KERNELS[kernel]
    return (2 + k.states + len(k.keyword_states)) * elements * np.dtype(dtype).itemsize


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


def fmt_share(row):
    if row.get("in_cache"):
        return "in cache"
    if row.get("memory", "pywd") != "pywd":
        return f"({row['memory']})"          # another allocator's memory than the probe's
    share = row.get("bandwidth_share")
    return "-" if share is None else f"{100 * share:.0f}%"




# ------------------------------------------------------------------------- the rows
def torch_kernel_step(kernel, shapes, dtype):
    """KERNELS[kernel]'s step in torch (its fused optimiser, on tensors torch allocated),
    or None: no torch, no such step, or a dtype torch's fused step does not take here."""
    torch, peer = _torch(), KERNELS[kernel].torch
    if torch is None or peer is None:
        return None
    cls_name, options = peer
    default = torch.get_default_dtype()
    try:
        torch.set_default_dtype(torch.float64 if dtype == np.float64 else torch.float32)
        return torch_step(torch, getattr(torch.optim, cls_name), shapes, fused=True, **options)
    except (RuntimeError, TypeError, ValueError):
        return None
    finally:
        torch.set_default_dtype(default)


def _row(kind, kernel, size, dtype, shapes, sides, budget, bytes_per_element=None,
         rounds=None, memory="pywd"):
    """A row: its sides timed in interleaved rounds (pywd.bench.timing), rated in GB/s
    from `bytes_per_element` (float32's count scaled to the dtype), else in elements per
    second; `memory`: whose allocator pywd's arrays came from ("pywd": pywd.empty's, as the
    probe's; "numpy"; "torch")."""
    elements = sum(int(np.prod(s)) for s in shapes)
    samples = interleaved(sides, budget, **({} if rounds is None else dict(rounds=rounds)))
    row = dict(kind=kind, kernel=kernel, size=size, dtype=dtype, arrays=len(shapes),
               elements=elements, memory=memory, **summary(samples))
    if bytes_per_element is not None:
        row["gb_per_s"] = bytes_per_element * elements / row["pywd_s"] / 1e9
    else:
        row["elements_per_s"] = elements / row["pywd_s"]
    return row


def kernel_row(kernel, size, dtype, shapes, budget):
    """pywd.<fn> on arrays from pywd.empty, pywd.reference's NumPy loop, torch's fused step."""
    ours, theirs = kernel_case(kernel, shapes, dtype)
    per_element = KERNELS[kernel].bytes_per_element * np.dtype(dtype).itemsize // 4
    row = _row("kernel", kernel, size, np.dtype(dtype).name, shapes,
               dict(pywd=ours, numpy=theirs, torch=torch_kernel_step(kernel, shapes, dtype)),
               budget, per_element)
    row["footprint"] = footprint(kernel, row["elements"], dtype)
    return row


def optimizer_row(name, size, shapes, budget, memory="pywd"):
    """pywd.optim's class step (the kernel's, with the class's bookkeeping); on `memory`
    "numpy", params and grads made by NumPy and the state by the class (a NumPy user's)."""
    cls_name, hyper, kernel = OPTIMIZERS[name]
    params, grads = make_arrays(shapes, np.float32, 2, memory=memory)
    params, grads = ([params], [grads]) if len(shapes) == 1 else (params, grads)
    opt = getattr(pywd.optim, cls_name)(params, **hyper)
    opt.step(grads)                               # state exists: a steady-state step
    _, theirs = kernel_case(kernel, shapes, np.float32, memory=memory)
    row = _row("optimizer", name + (" usual" if memory == "numpy" else ""), size, "float32",
               shapes, dict(pywd=partial(opt.step, grads), numpy=theirs,
                            torch=torch_kernel_step(kernel, shapes, np.float32)),
               budget, KERNELS[kernel].bytes_per_element, memory=memory)
    row["footprint"] = footprint(kernel, row["elements"], np.float32)
    return row


def lowp_row(case, size, shapes, budget):
    """A 16-bit storage case (lowp.CASES); its NumPy loop is the same step in float32
    (NumPy has no bfloat16 arithmetic), "f32" pywd's own float32 step (vs_f32: what the
    fewer bytes buy), torch its fused step on bfloat16 tensors (the all-bf16 rows)."""
    spec = lowp.CASES[case]
    count = len(spec.dtypes)
    torch = _torch()
    twin = getattr(reference, spec.fn)
    at_step = dict(step=10) if "step" in inspect.signature(twin).parameters else {}
    numpy_loop = partial(twin, *make_arrays(shapes, np.float32, count), **at_step, **spec.hyper)
    row = _row("lowp", case[0], size, case[1], shapes,
               dict(pywd=lowp.step_case(spec, shapes), numpy=numpy_loop,
                    torch=lowp.torch_bf16_step(torch, spec, shapes) if torch else None,
                    f32=lowp.float32_case(spec, shapes)),
               budget, lowp.bytes_per_element(spec.dtypes))
    row["footprint"] = sum(lowp.storage(d).itemsize for d in spec.dtypes) * row["elements"]
    # the compute cost per element and core (what decides, on a machine with less memory
    # bandwidth per core than this one, whether the 16-bit step is memory-bound)
    row["ns_per_element_core"] = row["pywd_s"] * config()["threads"] / row["elements"] * 1e9
    return row


def q8_row(case, size, shapes, budget):
    """AdamW with 8-bit moments (q8.CASES): its NumPy loop is float32 AdamW, "f32" pywd's
    float32 AdamW, torch bitsandbytes' AdamW8bit and "torchao" torchao's (where
    installed)."""
    dtype = q8.CASES[case]
    torch = _torch()
    _, theirs = kernel_case("adamw", shapes, np.float32)
    row = _row("q8", case[0], size, case[1], shapes,
               dict(pywd=q8.step_case(shapes, dtype), numpy=theirs, f32=q8.float32_case(shapes),
                    torch=q8.peer_step(torch, "bnb", shapes),
                    torchao=q8.peer_step(torch, "torchao", shapes)),
               budget, q8.bytes_per_element(dtype))
    row["footprint"] = int(q8.bytes_per_element(dtype) * row["elements"])
    row["ns_per_element_core"] = row["pywd_s"] * config()["threads"] / row["elements"] * 1e9
    return row


def fill_row(name, dtype, budget):
    """A 16M fill by pywd.init, NumPy's Generator (FILLS), torch.nn.init's of a tensor."""
    ours, theirs = FILLS[name]
    rng = np.random.default_rng(0)
    out = pywd.empty(SIZES["16M"], dtype)
    peer = None
    torch = _torch()
    if torch is not None:
        tensor = torch.empty(SIZES["16M"], dtype=getattr(torch, np.dtype(dtype).name))
        peer = partial(getattr(torch.nn.init, name + "_"), tensor)
    return _row("fill", name, "16M", np.dtype(dtype).name, [out.shape],
                dict(pywd=lambda: ours(out), numpy=lambda: numpy_fill(theirs, out, rng),
                     torch=peer), budget)


def orthogonal_row(budget):
    """orthogonal_ on 2048 x 2048 against numpy.linalg.qr of a matrix of that shape (and
    torch.nn.init.orthogonal_)."""
    matrix = pywd.empty((2048, 2048), np.float32)
    random = np.random.default_rng(0).standard_normal((2048, 2048), dtype=np.float32)
    torch = _torch()
    peer = None if torch is None else partial(torch.nn.init.orthogonal_,
                                              torch.empty(2048, 2048))
    return _row("orthogonal", "orthogonal", "2048^2", "float32", [matrix.shape],
                dict(pywd=lambda: pywd.init.orthogonal_(matrix, rng=_GEN),
                     numpy=lambda: np.linalg.qr(random), torch=peer), budget)


def muon_row(size):
    """A Muon step on MUON_CASES[size]: pywd, its NumPy twin (the same BLAS products) and
    torch's Muon (bfloat16 products), one round of one call each after a warm-up: a
    4096^2 step takes seconds, set by its Newton-Schulz products, not by memory."""
    ours, theirs, peer = muon_case(MUON_CASES[size])
    return _row("muon", "muon", size, "float32", MUON_CASES[size],
                dict(pywd=ours, numpy=theirs, torch=peer), 0.0, rounds=1)


def adafactor_row(size, budget):
    """An Adafactor step on ADAFACTOR_CASES[size]: pywd, its NumPy twin, torch's Adafactor;
    rated in the bytes a step moves (adafactor_bytes)."""
    shapes = ADAFACTOR_CASES[size] or resnet50_shapes()
    ours, theirs, peer = adafactor_case(shapes)
    row = _row("adafactor", "adafactor", size, "float32", shapes,
               dict(pywd=ours, numpy=theirs, torch=peer), budget, memory="numpy")
    row.pop("elements_per_s")
    row["gb_per_s"] = adafactor_bytes(shapes) / row["pywd_s"] / 1e9
    row["footprint"] = 8 * row["elements"]        # params and grads (the state: small)
    return row


def dropin_row(size, budget):
    """pywd.torch.AdamW's step() on DROPIN_CASES[size] (needs torch): against the NumPy
    loop on arrays of those shapes and torch's fused AdamW on its own tensors."""
    shapes = DROPIN_CASES[size] or resnet50_shapes()
    ours, fused = dropin_case(shapes)
    _, theirs = kernel_case("adamw", shapes, np.float32)
    row = _row("dropin", "torch.AdamW", size, "float32", shapes,
               dict(pywd=ours, numpy=theirs, torch=fused), budget,
               KERNELS["adamw"].bytes_per_element, memory="torch")
    row["footprint"] = footprint("adamw", row["elements"], np.float32)
    return row


# ------------------------------------------------------------------------- the runs
# How long a run takes, measured on the project's 2-vCPU test machines: said before it
# starts (docs/benchmarks.md gives the measured times).
DURATION = {False: "about a minute", True: "about 10 minutes"}
BUDGET = {False: 0.5, True: 1.0}           # seconds per row (a NumPy loop may take longer)


def plan(full, budget):
    """Every measurement of a run, in order, none of them run yet: (the row names it
    gives, its size, a callable returning its rows). The default run answers "how fast
    is pywd here" in about a minute; the full run has every kernel, size and dtype."""
    sizes = list(SIZES) if full else ["4K", "1M", "16M"]
    kernels = list(KERNELS) if full else ["sgd+decay", "momentum", "adamw"]
    for kernel in kernels:
        for size in sizes:
            yield [kernel], size, partial(_rows_of, kernel_row, kernel, size, np.float32,
                                          [(SIZES[size],)], budget)
        if full:
            yield [kernel], "16M", partial(_rows_of, kernel_row, kernel, "16M", np.float64,
                                           [(SIZES["16M"],)], budget)
    newer = ("adamax", "radam", "adadelta", "nadam", "rprop", "asgd", "lamb", "lars",
             "adamw-sf", "sgd-sf", "ademamix") if full else ()
    for kernel in ("momentum", "adamw") + (("sgd+decay",) + newer if full else ()):
        yield [kernel], "resnet50", partial(_rows_of, kernel_row, kernel, "resnet50",
                                            np.float32, resnet50_shapes(), budget)
    for kernel in ("sgd+decay", "momentum", "adamw") if full else ("adamw",):
        yield [kernel], MANY, partial(_rows_of, kernel_row, kernel, MANY, np.float32,
                                      MANY_SHAPES, budget)
    for name in OPTIMIZERS if full else ("AdamW.step",):
        yield [name], MANY, partial(_rows_of, optimizer_row, name, MANY, MANY_SHAPES, budget)
        if full:
            yield [name + " usual"], "16M", partial(_rows_of, optimizer_row, name, "16M",
                                                    [(SIZES["16M"],)], budget, "numpy")
    if lowp.bfloat16() is not None:
        lowp_sizes = {"16M": [(SIZES["16M"],)], lowp.IN_CACHE: [(1 << 18,)],
                      "resnet50": resnet50_shapes()}
        for size in lowp_sizes if full else ("16M",):
            for case in lowp.CASES if full else [("adamw SR", "bf16")]:
                yield [case[0]], size, partial(_rows_of, lowp_row, case, size,
                                               lowp_sizes[size], budget)
    for size in ("16M", "1M") if full else ():
        for case in q8.CASES:
            if case[1] != "b16/q8" or lowp.bfloat16() is not None:
                yield [case[0]], size, partial(_rows_of, q8_row, case, size,
                                               [(SIZES[size],)], budget)
    for size in ADAFACTOR_CASES if full else ():
        yield ["adafactor"], size, partial(_rows_of, adafactor_row, size, budget)
    for dtype in (np.float32, np.float64) if full else (np.float32,):
        for name in FILLS if full else ("normal",):
            yield [name], "16M", partial(_rows_of, fill_row, name, dtype, budget)
    if full:
        yield ["orthogonal"], "2048^2", partial(_rows_of, orthogonal_row, budget)
        for size in MUON_CASES:
            yield ["muon"], size, partial(_rows_of, muon_row, size)
    for size in (DROPIN_CASES if full else ("resnet50",)) if _torch() is not None else ():
        yield ["torch.AdamW"], size, partial(_rows_of, dropin_row, size, budget)


def _rows_of(fn, *args):
    return [fn(*args)]


def run(full=False, only=None, sizes=None, progress=None, budget=None):
    """The bench: the probe, then every row of the plan (those whose name matches `only`
    and whose size is in `sizes`, when given), saying where it is on `progress` (a stream)
    if given; `budget`: seconds per row (default BUDGET's)."""
    budget = BUDGET[full] if budget is None else budget
    cache = cache_bytes()
    planned = [(names, size, rows_of) for names, size, rows_of in plan(full, budget)
               if (sizes is None or size in sizes) and any(matches(k, only) for k in names)]
    ticker = Progress(len(planned) + 1, progress) if progress is not None else None
    if ticker:
        ticker.row(0, "memory bandwidth probe")
    # the limit: the best of three fresh placements of the probe's arrays, timed before the
    # rows and again after them (by then the system may have backed them by huge pages)
    probes = [probe_arrays(SIZES["16M"]) for _ in range(3)]
    copies, rmws = probe_bandwidth(SIZES["16M"], budget, arrays=probes)
    rows = []
    with np.errstate(all="ignore"):   # the same gradient every step drives some states to 0/0
        for done, (names, size, rows_of) in enumerate(planned, 1):
            if ticker:
                ticker.row(done, f"{', '.join(names)} {size}")
            rows += [row for row in rows_of() if matches(row["kernel"], only)]
    again = probe_bandwidth(SIZES["16M"], budget, arrays=probes)
    copies, rmws = copies + again[0], rmws + again[1]
    del probes
    for row in rows:
        if "gb_per_s" in row:
            # arrays that fit in cache are not bound by memory bandwidth: a share of it
            # would read above 100%, so they are judged by their time per call instead; and
            # a share is of the probe of the same memory, pywd.empty's
            row["in_cache"] = row["footprint"] <= cache
            row["bandwidth_share"] = (row["gb_per_s"] / max(rmws) if not row["in_cache"]
                                      and row.get("memory", "pywd") == "pywd" else None)
    return dict(machine=machine(), config=config(), full=full, copy_gb_per_s=max(copies),
                rmw_gb_per_s=max(rmws), cache_bytes=cache, rows=rows)


# ------------------------------------------------------------------------- the report
def fmt_ratio(row, peer):
    """`peer`'s time over pywd's ("3.1x": pywd three times as fast), or "-"."""
    value = row.get(f"vs_{peer}")
    if value is None:
        return "-"
    return f"{value:.2f}x" if value < 10 else f"{value:.1f}x" if value < 100 else f"{value:.0f}x"


def fmt_saved(row):
    if "saved_ratio" not in row:
        return "-"
    return f"{row['saved_ratio']:.2f}x" + (" SLOWER" if row["slower"] else "")


# What each kind of row compares, said under the table for the kinds that ran.
NOTES = {
    "kernel": "kernel rows: pywd's function on arrays from pywd.empty; NumPy loop: the same "
              "step in pywd.reference's NumPy code; torch: torch.optim's fused optimiser with "
              "the same step (SGD, Adam, AdamW, Adagrad) on tensors torch allocated.",
    "optimizer": "AdamW.step, SGD.step: pywd.optim's class (its bookkeeping per parameter "
                 "included: 10^4x16 is 10^4 arrays of 16); \"usual\": params and grads made "
                 "by NumPy, the state by the class.",
    "lowp": "adamw/momentum SR/RN: AdamW and SGD with momentum on 16-bit storage, "
            "stochastic rounding or to nearest (dtype bf16: all bfloat16; f32/b16: float32 "
            "params and grads, bfloat16 state; b16/f32: bfloat16 params); its NumPy loop is "
            "the same step in float32 (NumPy has no bfloat16 arithmetic), its torch the "
            "fused step on bfloat16 tensors (rounded to nearest).",
    "q8": "adamw 8bit: AdamW with its moments in 8 bits (pywd.QuantizedState; dtype "
          "f32/q8: float32 params and grads, b16/q8: bfloat16); its NumPy loop is float32 "
          "AdamW, its torch bitsandbytes' AdamW8bit on CPU tensors (float32 params).",
    "fill": "fills: pywd.init into a 16M array; NumPy loop: NumPy's Generator (the "
            "truncated normal: redrawn); torch: torch.nn.init's; rate in elements per "
            "second (Gel/s: 10^9).",
    "orthogonal": "orthogonal: pywd.init.orthogonal_ against numpy.linalg.qr and "
                  "torch.nn.init.orthogonal_.",
    "muon": "muon: one step each (gpt2x2: the 8 matrices of two GPT-2-small blocks), "
            "float32 products by BLAS for pywd and the NumPy loop, torch.optim.Muon's in "
            "bfloat16.",
    "adafactor": "adafactor: rated in the bytes a step moves (24 per element of a matrix, "
                 "32 of a vector); torch: torch.optim.Adafactor.",
    "dropin": "torch.AdamW: pywd.torch.AdamW's step() on torch's tensors (gradients read "
              "from p.grad); NumPy loop: pywd.reference's AdamW on arrays of the same "
              "shapes; torch: torch.optim.AdamW(fused=True) (mlp: 784-256-10).",
}


def report(result, out=sys.stdout):
    cfg = result["config"]
    print(f"pywd {cfg['pywd']} bench{' --full' if result.get('full') else ''} on "
          f"{result['machine']}: {cfg['threads']} threads, OpenMP "
          f"{'on' if cfg['openmp'] else 'off'}, ISA {cfg['isa']}", file=out)
    print(f"memory bandwidth probe (best of 3 placements, before and after the rows): copy "
          f"{result['copy_gb_per_s']:.1f} GB/s, read-modify-write (RMW) "
          f"{result['rmw_gb_per_s']:.1f} GB/s", file=out)
    rows = result["rows"]
    compared = any("saved_ratio" in r for r in rows)
    peers = any(r.get("torch_s") for r in rows)
    width = max([11] + [len(r["kernel"]) for r in rows])
    header = (f"{'row':<{width}} {'size':>8} {'dtype':>7} {'pywd':>10} {'NumPy loop':>10} "
              f"{'vs NumPy loop':>13}" + (f" {'torch':>10} {'vs torch':>8}" if peers else "")
              + f" {'rate':>11} {'of RMW':>8}" + (f" {'vs saved':>14}" if compared else ""))
    print(header, file=out)
    print("-" * len(header), file=out)
    for r in rows:
        line = (f"{r['kernel']:<{width}} {r['size']:>8} {r['dtype']:>7} "
                f"{fmt_time(r['pywd_s']):>10} {fmt_time(r['numpy_s']):>10} "
                f"{fmt_ratio(r, 'numpy'):>13}")
        if peers:
            torch_time = fmt_time(r["torch_s"]) if r.get("torch_s") else "-"
            line += f" {torch_time:>10} {fmt_ratio(r, 'torch'):>8}"
        line += f" {fmt_rate(r):>11} {fmt_share(r):>8}"
        if compared:
            line += f" {fmt_saved(r):>14}"
        print(line + ("  ~" if r.get("noisy") else ""), file=out)
    cache_mb = result.get("cache_bytes", 32 << 20) / (1 << 20)
    sides, ratios = (("pywd, NumPy loop, torch", "vs NumPy loop, vs torch") if peers else
                     ("pywd, NumPy loop", "vs NumPy loop"))
    notes = [f"{sides}: the best of each side's rounds; {ratios}: how many times as fast pywd "
             f"is (above 1: pywd faster), the median of the rounds' ratios (each round times "
             f"every side in turn, so a busy machine slows both)."]
    if any(r.get("noisy") for r in rows):
        notes.append(f"~: the rounds' ratios differ by more than "
                     f"{100 * (timing.NOISY - 1):.0f}% (the machine was busy): run the "
                     f"row again (--only) before reading much into it.")
    if any("gb_per_s" in r for r in rows):
        notes.append(f"rate: the GB/s pywd reads and writes (each array once); of RMW: that "
                     f"rate as a share of the probe's, both on pywd.empty's memory (2 MB-"
                     f"aligned, huge pages advised); (numpy), (torch): the arrays came from "
                     f"that allocator, so no share of pywd's probe is given; \"in cache\": the "
                     f"arrays fit in this machine's {cache_mb:.0f} MB cache, so memory does not "
                     f"bound them (judge their time per call).")
    notes += [text for kind, text in NOTES.items() if any(r.get("kind") == kind for r in rows)]
    if compared:
        notes.append(f"vs saved: the saved run's pywd time over this run's (above 1: faster "
                     f"now); SLOWER: every round of this run slower than every round of the "
                     f"saved one by more than {100 * timing.MARGIN:.0f}%, in pywd's "
                     f"time and in its ratio to the NumPy loop (rows found noisy in either "
                     f"run are not judged).")
    for note in notes:
        print(textwrap.fill(note, 90), file=out)
    report_lowp([r for r in rows if r.get("kind") == "lowp"], cfg["threads"], out)
    report_q8([r for r in rows if r.get("kind") == "q8"], cfg["threads"], out)


def report_q8(rows, threads, out):
    """The 8-bit state rows against pywd's float32 AdamW and the other 8-bit AdamWs."""
    if not rows:
        return
    print(f"\n8-bit state (AdamW, {threads} threads): pywd's time against", file=out)
    print(f"{'row':<12} {'size':>8} {'dtype':>7} {'f32':>8} {'bnb':>8} {'torchao':>8} "
          f"{'ns/element/core':>16}", file=out)
    for r in rows:
        print(f"{r['kernel']:<12} {r['size']:>8} {r['dtype']:>7} {fmt_ratio(r, 'f32'):>8} "
              f"{fmt_ratio(r, 'torch'):>8} {fmt_ratio(r, 'torchao'):>8} "
              f"{r['ns_per_element_core']:>16.2f}" + ("  ~" if r.get("noisy") else ""),
              file=out)
    print(textwrap.fill(
        "f32: pywd's float32 AdamW's time over its 8-bit one's; bnb, torchao: "
        "bitsandbytes' and torchao's AdamW8bit on CPU tensors (above 1: pywd faster; - "
        "where not installed). dtype f32/q8: float32 params and grads, 8-bit moments; "
        "b16/q8: bfloat16 params and grads (docs/q8.md).", 90), file=out)


def report_lowp(rows, threads, out):
    """The 16-bit rows against pywd's float32 step, and their compute cost per element."""
    if not rows:
        return
    print(f"\n16-bit storage against pywd's float32 step of the same kernel ({threads} "
          f"threads):", file=out)
    print(f"{'row':<12} {'size':>8} {'dtype':>7} {'vs f32':>8} {'ns/element/core':>16}",
          file=out)
    for r in rows:
        print(f"{r['kernel']:<12} {r['size']:>8} {r['dtype']:>7} {fmt_ratio(r, 'f32'):>8} "
              f"{r['ns_per_element_core']:>16.2f}" + ("  ~" if r.get("noisy") else ""),
              file=out)
    print(textwrap.fill(
        f"vs f32: pywd's float32 time over its 16-bit time (above 1: the fewer bytes buy "
        f"time). ns/element/core: the 16-bit step's time x threads / elements; on the "
        f"{lowp.IN_CACHE} rows (in cache) it is the compute cost, and a machine whose "
        f"memory gives each core fewer bytes per ns than the row moves per element in that "
        f"time is memory-bound on it (docs/lowp.md).", 90), file=out)


def compare(result, earlier):
    """Marks each row of `result` that `earlier` (a saved run's result) has too, by name,
    size and dtype: "saved_ratio", the earlier pywd time over this one (above 1: faster
    now), and "slower" (pywd.bench.timing.slower: the runs' rounds do not overlap)."""
    before = {(r["kernel"], r["size"], r["dtype"]): r for r in earlier.get("rows", [])}
    for row in result["rows"]:
        old = before.get((row["kernel"], row["size"], row["dtype"]))
        if old is None or "pywd_s" not in old:
            continue
        row["saved_ratio"] = old["pywd_s"] / row["pywd_s"]
        row["slower"] = slower(row, old)
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m pywd bench",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true",
                        help=f"every kernel, size and dtype ({DURATION[True]} on 2 cores); "
                             f"the default run takes {DURATION[False]}")
    parser.add_argument("--quick", action="store_true", help=argparse.SUPPRESS)  # (the old
    parser.add_argument("--json", action="store_true",        # name of the default run)
                        help="print the results as JSON")
    parser.add_argument("--only", metavar="PATTERN",
                        help="only the rows whose name contains PATTERN (or matches it, "
                             "with * ? [ ]), e.g. adamw, 'sgd*'")
    parser.add_argument("--sizes", metavar="LIST",
                        help="only these sizes, comma-separated: 4K, 64K, 1M, 16M, resnet50, "
                             "10^4x16, gpt2x2, 4096^2, 2048^2, mlp")
    parser.add_argument("--progress", action="store_true",
                        help="say on stderr which row runs and how long is left (the default "
                             "when stderr is a terminal)")
    parser.add_argument("--save", metavar="FILE", help="write the result as JSON to FILE")
    parser.add_argument("--compare", metavar="FILE",
                        help="a saved result (--save) to compare with: a column of speed "
                             "ratios; a row is flagged SLOWER only when the two runs' "
                             "rounds do not overlap")
    parser.add_argument("--plot", metavar="FILE.png",
                        help="draw the result: GB/s per row against the memory probes, "
                             "fills in elements per second (needs matplotlib: the demo extra)")
    args = parser.parse_args(argv)
    if args.full and args.quick:
        parser.error("--quick is the default run; --full is the whole one: give one")
    if args.plot:                          # before the run: a missing matplotlib fails at once
        try:
            plot.pyplot()
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
    print(f"pywd bench{' --full' if args.full else ''}: takes {DURATION[args.full]} on a "
          f"2-core machine{' (less: a subset of the rows)' if filtered else ''}",
          file=sys.stderr, flush=True)
    progress = sys.stderr if args.progress or sys.stderr.isatty() else None
    result = run(full=args.full, only=args.only, sizes=sizes, progress=progress)
    if earlier is not None:
        compare(result, earlier)
    if args.save:
        with open(args.save, "w") as f:
            json.dump(result, f, indent=1)
    if args.plot:
        plot.plot(result, args.plot)
    if args.json:
        json.dump(result, sys.stdout, indent=1)
        print()
    else:
        report(result)
    return 0
