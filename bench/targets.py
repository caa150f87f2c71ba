"""The project's own speed targets, judged on a bench run (they are the team's, not a
user's: `python -m pywd bench` does not print them).

    python bench/targets.py              # a full run (python -m pywd bench --full), judged
    python bench/targets.py run.json     # a saved run (python -m pywd bench --save run.json)

A target missed on one run is not a fault: the targets were set on the project's 2-core
test machines, and a shared machine's memory bandwidth and clocks change from second to
second. Run again to see the spread.
"""
import json
import sys

from pywd import bench

# 16M streaming rows (arrays from pywd.empty): their rate as a share of the best probe.
# Kernels that move more streams or compute more per byte get less.
BANDWIDTH_SHARES = {
    **{(kernel, "16M", "float32"): 0.85
       for kernel in ("sgd+decay", "sgd+l1", "momentum", "nesterov", "adamw", "adam+l2",
                      "rmsprop", "adagrad", "lion", "adamax", "radam", "adadelta",
                      "nadam", "rprop", "asgd", "lamb", "lars", "adamw-sf", "sgd-sf", "ademamix",
                      "adamw+anchor", "momentum+anchor", "adamw+cautious", "adamw+caution",
                      "adamw+norm")},
    ("amsgrad", "16M", "float32"): 0.75, ("rmsprop+c+m", "16M", "float32"): 0.75,
    ("adamw", "16M", "float64"): 0.70,
    ("momentum", "resnet50", "float32"): 0.85, ("adamw", "resnet50", "float32"): 0.85,
}
# (row, base row, size): the row's time at most this many times the base row's, same run
OVERHEADS = [("adamw+stats", "adamw", "16M", 1.10)]
# The usual case (NumPy-made params, pywd.optim's state) against torch's fused optimiser on
# its own tensors, in the same run: pywd's speed over torch's.
TORCH_RATIOS = {"AdamW": 1.5, "SGD": 1.3}
# (name, size, dtype) -> at least this many times as fast as the NumPy loop
NUMPY_RATIOS = {("sgd+decay", "16M", "float32"): 10, ("momentum", "resnet50", "float32"): 5,
                ("adamw", "16M", "float32"): 20, ("adamw", "resnet50", "float32"): 8,
                ("normal", "16M", "float32"): 6, ("uniform", "16M", "float32"): 3,
                ("trunc_normal", "16M", "float32"): 10, ("normal", "16M", "float64"): 3,
                ("uniform", "16M", "float64"): 3, ("trunc_normal", "16M", "float64"): 3}

# 16-bit storage (all-bf16 rows): at least this many times as fast as a peer in the same run,
# the peer pywd's own float32 step ("f32") or torch's fused step on bfloat16 tensors; and
# the compute cost on cache-resident arrays, ns per element per core. Set for a machine
# with the AVX-512 unit (on AVX2-only machines the issue asked for 1.0x, 1.2x and 1.2x of
# float32); docs/lowp.md says which of them this kind of CPU cannot reach and why.
LOWP_RATIOS = [("adamw SR", "16M", 1.2, "f32"), ("adamw SR", "16M", 1.5, "torch"),
               ("adamw RN", "16M", 1.5, "f32"), ("momentum SR", "16M", 1.5, "f32")]
LOWP_PEERS = {"f32": "pywd's float32 step", "torch": "torch's fused bf16 step"}
LOWP_COSTS = {"adamw SR": 0.5, "adamw RN": 0.35}
# 8-bit state: AdamW with 8-bit moments against pywd's float32 AdamW ("f32") and
# the CPU 8-bit AdamWs (bitsandbytes' as "torch", torchao's), in the same run
Q8_RATIOS = [("f32/q8", "16M", 1.4, "f32"), ("f32/q8", "16M", 20, "torch"),
             ("f32/q8", "16M", 20, "torchao"), ("f32/q8", "1M", 20, "torch"),
             ("f32/q8", "1M", 20, "torchao"), ("b16/q8", "16M", 2.0, "f32")]
Q8_PEERS = {"f32": "pywd's float32 AdamW", "torch": "bitsandbytes' AdamW8bit",
            "torchao": "torchao's AdamW8bit"}


def targets(rows):
    """[(target, met, measured)] for the rows a run has."""
    def row(kernel, size, dtype="float32"):
        return next((r for r in rows if (r["kernel"], r["size"], r["dtype"]) ==
                     (kernel, size, dtype)), None)
    out = []
    for (kernel, size, dtype), times in NUMPY_RATIOS.items():
        found = row(kernel, size, dtype)
        if found:
            out.append((f"{size} {dtype} {kernel} >= {times}x the NumPy loop",
                        found["vs_numpy"] >= times, f"{found['vs_numpy']:.1f}x"))
    small = row("sgd+decay", "4K")
    if small:
        out.append(("4K float32 sgd+decay <= 1.5 us per call", small["pywd_s"] <= 1.5e-6,
                    f"{small['pywd_s'] * 1e6:.2f} us"))
    for (kernel, size, dtype), share in BANDWIDTH_SHARES.items():
        found = row(kernel, size, dtype)
        if found:
            out += bandwidth_target(f"{size} {dtype} {kernel}", found, share)
    for kernel, base, size, limit in OVERHEADS:
        found, under = row(kernel, size), row(base, size)
        if found and under:
            cost = found["pywd_s"] / under["pywd_s"]
            out.append((f"{size} float32 {kernel} <= {limit:.2f}x {base}'s time", cost <= limit,
                        f"{cost:.2f}x"))
    for name, ratio in TORCH_RATIOS.items():
        usual = row(f"{name}.step usual", "16M")
        if usual and usual.get("torch_s"):
            out.append(torch_target(name, usual, ratio))
    for kernel in ("sgd+decay", "momentum", "adamw"):
        many = row(kernel, bench.MANY)
        if many:
            per = many["pywd_s"] / many["arrays"]
            out.append((f"{kernel} over 10^4 small arrays <= 100 ns per array", per <= 100e-9,
                        f"{per * 1e9:.0f} ns"))
    for name in bench.OPTIMIZERS:
        many = row(name, bench.MANY)
        if many:
            per = many["pywd_s"] / many["arrays"]
            out.append((f"optim.{name} over 10^4 small arrays <= 300 ns per parameter",
                        per <= 300e-9, f"{per * 1e9:.0f} ns"))
    for kernel, size, ratio, peer in LOWP_RATIOS:
        found = row(kernel, size, "bf16")
        if found and found.get(f"vs_{peer}"):
            out.append((f"{size} all-bf16 {kernel} >= {ratio}x {LOWP_PEERS[peer]}",
                        found[f"vs_{peer}"] >= ratio, f"{found[f'vs_{peer}']:.2f}x"))
    for kernel, cost in LOWP_COSTS.items():
        found = row(kernel, bench.lowp.IN_CACHE, "bf16")
        if found:
            out.append((f"in-cache all-bf16 {kernel} <= {cost} ns per element per core",
                        found["ns_per_element_core"] <= cost,
                        f"{found['ns_per_element_core']:.2f} ns"))
    for storage, size, ratio, peer in Q8_RATIOS:
        found = row("adamw 8bit", size, storage)
        if found and found.get(f"vs_{peer}"):
            out.append((f"{size} AdamW 8-bit state ({storage}) >= {ratio}x {Q8_PEERS[peer]}",
                        found[f"vs_{peer}"] >= ratio, f"{found[f'vs_{peer}']:.2f}x"))
    ortho = row("orthogonal", "2048^2")
    if ortho and ortho.get("torch_s"):
        out.append(("orthogonal_ 2048x2048 no slower than torch.nn.init.orthogonal_",
                    ortho["vs_torch"] >= 1.0, f"{ortho['vs_torch']:.2f}x"))
    elif ortho:
        out.append(("orthogonal_ 2048x2048 no slower than numpy.linalg.qr",
                    ortho["vs_numpy"] >= 1.0, f"{ortho['vs_numpy']:.2f}x"))
    return out


def bandwidth_target(name, row, share=0.85):
    """A streaming row's target share of the probe (none where the cache holds its arrays)."""
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


def main(argv):
    if argv:
        with open(argv[0]) as f:
            result = json.load(f)
    else:
        result = bench.run(full=True, progress=sys.stderr)
    for target, met, measured in targets(result["rows"]):
        print(f"  [{'met' if met else 'below'}] {target}: {measured}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
