"""Where big arrays sit, and how fast a streaming kernel runs on them.

    python bench/placement.py [--processes 10] [--n 16777216]

Each fresh process makes params and grads as users do (NumPy, `standard_normal().astype`),
then times pywd.adamw and SGD-momentum (pywd.sgd) with their state allocated in several
ways, in a shuffled order: NumPy's `np.zeros`; pywd's allocator with every array at the same
distance past its 2 MB boundary (stagger 0), and with successive arrays a stagger further;
and all four arrays (params and grads too) from pywd's allocator. Then, in the same process,
AdamW on four arrays cut from one huge-page arena at controlled distances (64 MB + delta
apart, so their offsets modulo 2 MB step by delta), the layouts interleaved over rounds. It
prints, per layout, the median over processes of each process's best time, and the range.
Last, it judges the targets for the usual case over the processes: pywd.optim's AdamW
and SGD(momentum=0.9) on NumPy params against torch's fused optimisers on tensors torch
allocated (when torch is installed), timed in the same processes, and how far the slowest
process is from the median. What the README's "Memory" section says comes from its output.
"""
import argparse
import json
import random
import subprocess
import sys
import time

import numpy as np

import targets                      # (bench/targets.py: this folder's)
from pywd import bench

LAYOUTS = ["numpy", "numpy padded 64K", "pywd stagger 0", "pywd stagger 4K",
           "pywd stagger 768K", "all pywd stagger 0", "all pywd stagger 768K"]
STRIDES = {"0": 0, "4K": 4096, "768K": 3 << 18}
DELTAS = [0, 64, 4096, 4096 + 64, 65536 + 64, 1 << 18, 1 << 19, 3 << 18]


def best(fn, calls=15):
    fn()
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def one_process(n, seed):
    import pywd
    from pywd import memory
    rng = np.random.default_rng(seed)
    params = rng.standard_normal(n).astype(np.float32)
    grads = rng.standard_normal(n).astype(np.float32)
    out = {}
    order = list(LAYOUTS)
    random.Random(seed).shuffle(order)
    for layout in order:
        if layout.startswith("numpy"):
            pad = 16384 if "padded" in layout else 0         # a first guess: 64 KB more
            make = lambda: np.zeros(n + pad, np.float32)[:n]  # noqa: E731
            w, g = params, grads
        else:
            memory.STAGGER = STRIDES[layout.rsplit(" ", 1)[1]]
            make = lambda: memory.zeros(n, np.float32)       # noqa: E731
            if layout.startswith("all"):
                w, g = memory.empty(n, np.float32), memory.empty(n, np.float32)
                w[...], g[...] = params, grads
            else:
                w, g = params, grads
        m, v, b = make(), make(), make()
        adamw = best(lambda: pywd.adamw(w, g, m, v, step=10, lr=1e-6))
        sgdm = best(lambda: pywd.sgd(w, g, b, lr=1e-6, momentum=0.9))
        out[layout] = dict(adamw=adamw, sgd_momentum=sgdm,
                           offsets=[a.ctypes.data % (2 << 20) for a in (w, g, m, v)],
                           huge=[memory.huge_page_bytes(a) for a in (w, g, m, v)])
        m = v = b = None       # freed before the next layout (the lambdas are done)
    memory.STAGGER = STRIDES["768K"]
    out["pywd.optim on NumPy params"] = optimizer_classes(pywd.optim, params, grads)
    torch = bench._torch()
    if torch is not None:
        out["torch fused, own tensors"] = {
            KEYS[name]: best(bench.torch_fused_step(torch, cls_name, hyper, n))
            for name, (cls_name, hyper, _) in bench.OPTIMIZERS.items()}
    _, rmws = bench.probe_bandwidth(n, budget=1.0, placements=3)
    out["probe rmw GB/s"] = max(rmws)
    out["arena"] = arena_offsets(n, seed)
    return out


KEYS = {"AdamW.step": "adamw", "SGD.step": "sgd_momentum"}   # bench.OPTIMIZERS -> this file


def optimizer_classes(optim, params, grads):
    """The usual case: params and grads from NumPy, state made by pywd.optim's classes, with
    the bench's hyper-parameters (the torch peer gets the same)."""
    out = {}
    for name, (cls_name, hyper, _) in bench.OPTIMIZERS.items():
        opt = getattr(optim, cls_name)([params], **hyper)
        out[KEYS[name]] = best(lambda: opt.step([grads]))
        opt = None             # freed before the next class
    return out


def arena_offsets(n, seed, rounds=4):
    """Best AdamW time per delta: four arrays 4n + delta bytes apart in one huge-page arena
    (the layouts interleaved in a shuffled order each round; median over rounds)."""
    import pywd
    from pywd import memory
    nbytes = 4 * n
    arena = memory.zeros(4 * (nbytes + max(DELTAS)) + (4 << 20), np.uint8)
    arena[::4096] = 1
    times = {d: [] for d in DELTAS}
    order = list(DELTAS)
    for _ in range(rounds):
        random.Random(seed).shuffle(order)
        for d in order:
            w, g, m, v = (arena[i * (nbytes + d):i * (nbytes + d) + nbytes].view(np.float32)
                          for i in range(4))
            w[...], g[...] = 1.0, 0.5
            times[d].append(best(lambda: pywd.adamw(w, g, m, v, step=10, lr=1e-6), 8))
    return {str(d): float(np.median(t)) for d, t in times.items()}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--processes", type=int, default=10)
    parser.add_argument("--n", type=int, default=1 << 24)
    parser.add_argument("--child", type=int, default=None)
    args = parser.parse_args()
    if args.child is not None:
        json.dump(one_process(args.n, args.child), sys.stdout)
        return
    runs = []
    for seed in range(args.processes):
        text = subprocess.run([sys.executable, __file__, "--child", str(seed), "--n",
                               str(args.n)], capture_output=True, text=True, check=True).stdout
        runs.append(json.loads(text))
    bytes_adamw, bytes_sgdm = (bench.KERNELS[k].bytes_per_element * args.n
                               for k in ("adamw", "momentum"))
    print(f"{'layout':<28} {'AdamW ms (median, range)':>28} {'GB/s':>6} "
          f"{'SGD-momentum ms':>24} {'GB/s':>6}")
    for layout in LAYOUTS + ["pywd.optim on NumPy params", "torch fused, own tensors"]:
        if layout not in runs[0]:
            continue
        a = np.array([r[layout]["adamw"] for r in runs]) * 1e3
        s = np.array([r[layout]["sgd_momentum"] for r in runs]) * 1e3
        print(f"{layout:<28} {np.median(a):8.2f} ({a.min():5.2f}-{a.max():5.2f}) "
              f"{bytes_adamw / np.median(a) / 1e6:12.1f} {np.median(s):8.2f} "
              f"({s.min():5.2f}-{s.max():5.2f}) {bytes_sgdm / np.median(s) / 1e6:6.1f}")
    print("one arena, arrays 64 MB + delta apart: AdamW ms, median over processes (range)")
    for d in DELTAS:
        a = np.array([r["arena"][str(d)] for r in runs]) * 1e3
        print(f"  delta {d:>7}: {np.median(a):6.2f} ({a.min():5.2f}-{a.max():5.2f})")
    print("offsets mod 2 MB and huge-page bytes of (w, g, m, v), first process:")
    for layout in LAYOUTS:
        print(f"  {layout:<24} {runs[0][layout]['offsets']} {runs[0][layout]['huge']}")
    judge(runs, args.n)


def judge(runs, n):
    """The targets for the usual case over these processes: medians of pywd.optim on
    NumPy params against torch fused on its own tensors (timed in the same processes), the
    share of the best probe seen in any process, and the slowest process within 1.3x of the
    median."""
    best_probe = max(r["probe rmw GB/s"] for r in runs)
    print(f"best RMW probe over {len(runs)} processes: {best_probe:.1f} GB/s; targets:")
    for name, (_, _, kernel) in bench.OPTIMIZERS.items():
        key, cls_name = KEYS[name], name.split(".")[0]
        ours = np.array([r["pywd.optim on NumPy params"][key] for r in runs])
        slowest = ours.max() / np.median(ours)
        print(f"  [{'met' if slowest <= 1.3 else 'below target'}] usual optim.{cls_name}: "
              f"slowest process within 1.3x of the median: {slowest:.2f}x")
        if "torch fused, own tensors" not in runs[0]:
            continue
        theirs = np.array([r["torch fused, own tensors"][key] for r in runs])
        nbytes = bench.KERNELS[kernel].bytes_per_element * n
        row = dict(pywd_s=float(np.median(ours)), torch_s=float(np.median(theirs)),
                   bandwidth_share=nbytes / np.median(ours) / 1e9 / best_probe)
        target, met, measured = targets.torch_target(cls_name, row,
                                                      targets.TORCH_RATIOS[cls_name])
        print(f"  [{'met' if met else 'below target'}] {target}: {measured} (pywd "
              f"{1e3 * row['pywd_s']:.2f} ms, torch {1e3 * row['torch_s']:.2f} ms, medians)")


if __name__ == "__main__":
    main()
