"""How `python -m pywd bench` times a row, and when it calls a row noisy or slower.

A row has sides: pywd, the NumPy loop (pywd.reference's code, or NumPy's own function),
where torch is installed and has the same step, torch, and on the 16-bit and 8-bit storage
rows pywd's own float32 step ("f32") (and torchao's 8-bit AdamW on the 8-bit rows). They are timed in rounds: in each
round every side runs once in turn (a batch of calls lasting a share of the row's budget),
the order reversed every other round. A machine that gets busy for a moment then slows
every side of that round alike, so the ratios are taken round by round (pywd against each
peer in the same round) and their median reported; a side's time is its best round. A
row whose rounds' ratios differ by more than NOISY, leaving out the highest and the lowest
(one round that met a busy moment is not noise), is marked: its ratio is not to be trusted
on this run.

A saved run (``--save``) compared with a new one (``--compare``) flags a row as slower only
when neither run found it noisy and the two runs' rounds do not overlap: every round of the
new run slower than every round of the saved one by more than MARGIN, both in pywd's own
time and, where the row has a NumPy loop, in its ratio to it (a machine that is busier in
one run than in the other slows the NumPy loop too). On a shared 2-core machine a busy
neighbour slows pywd's two threads more than NumPy's one, hence the wide margin: the
comparison catches a real loss, not a few percent.
"""
import statistics
import time
from collections.abc import Callable, Mapping
from typing import Any

ROUNDS = 5
NOISY = 1.25
MARGIN = 0.25
PEERS = ("numpy", "torch", "f32", "torchao")


def interleaved(sides: Mapping[str, Callable[[], Any] | None], budget: float,
                rounds: int = ROUNDS) -> dict[str, list[float]]:
    """Seconds per call of each side (None: left out), one value per round (see above);
    each side is called once first, unmeasured (page faults, thread teams)."""
    live = {name: fn for name, fn in sides.items() if fn is not None}
    batch = {}
    for name, fn in live.items():
        fn()
        start = time.perf_counter()
        fn()
        once = max(time.perf_counter() - start, 1e-7)
        batch[name] = max(1, int(budget / (rounds * len(live)) / once))
    samples: dict[str, list[float]] = {name: [] for name in live}
    order = list(live)
    for r in range(rounds):
        for name in order if r % 2 == 0 else order[::-1]:
            fn, number = live[name], batch[name]
            start = time.perf_counter()
            for _ in range(number):
                fn()
            samples[name].append((time.perf_counter() - start) / number)
    return samples


def summary(samples: Mapping[str, list[float]]) -> dict[str, Any]:
    """A row's times from its rounds: each side's best (``pywd_s``, ``numpy_s``,
    ``torch_s``, ``f32_s``) and rounds (``*_rounds_s``); each peer's speed against pywd, the
    median of the rounds' ratios (``vs_numpy``, ``vs_torch``, ``vs_f32``: how many times as
    fast pywd is), with
    their range (``*_range``); ``noisy`` when a range, its extremes left out, spans more
    than NOISY."""
    out: dict[str, Any] = {}
    for name, times in samples.items():
        out[f"{name}_s"] = min(times)
        out[f"{name}_rounds_s"] = list(times)
    noisy = False
    for peer in PEERS:
        if peer in samples and "pywd" in samples:
            ratios = [theirs / ours for theirs, ours in zip(samples[peer], samples["pywd"])]
            out[f"vs_{peer}"] = statistics.median(ratios)
            out[f"vs_{peer}_range"] = [min(ratios), max(ratios)]
            inner = sorted(ratios)[1:-1] if len(ratios) >= 4 else ratios
            noisy = noisy or max(inner) > NOISY * min(inner)
    out["noisy"] = noisy
    return out


def slower(row: Mapping[str, Any], saved: Mapping[str, Any]) -> bool:
    """Whether `row` is slower than the `saved` run's row of the same name (see above)."""
    now, before = row.get("pywd_rounds_s"), saved.get("pywd_rounds_s")
    if not now or not before or row.get("noisy") or saved.get("noisy"):
        return False
    if min(now) <= max(before) * (1 + MARGIN):
        return False
    if row.get("numpy_rounds_s") and saved.get("numpy_rounds_s"):
        ratio_now = [n / p for n, p in zip(row["numpy_rounds_s"], now)]
        ratio_before = [n / p for n, p in zip(saved["numpy_rounds_s"], before)]
        return max(ratio_now) * (1 + MARGIN) < min(ratio_before)
    return True
