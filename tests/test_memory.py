"""No memory growth over 10**5 calls, error paths included: a leaked array reference, batch
buffer or exception in any path would grow the process by megabytes here (Linux: RSS from
/proc/self/statm)."""
import gc
import os

import numpy as np
import pytest

import pywd
from pywd import init, optim

pytestmark = [
    pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="Linux only"),
    # AddressSanitizer holds freed memory in quarantine (up to 256 MB): RSS grows by design
    pytest.mark.skipif("libasan" in os.environ.get("LD_PRELOAD", ""),
                       reason="meaningless under AddressSanitizer"),
]
CALLS = 100_000


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def one_round(i, arrays):
    w, g, m, v, bad_grad, nan_grad, ws = arrays
    pywd.adamw(w, g, m, v, step=i % 100 + 1, lr=1e-3, max_grad_norm=1.0)   # a StepResult
    pywd.sgd([w, ws], [g, g[:4].copy()], lr=1e-3)                          # a list call
    try:
        pywd.sgd(w, bad_grad, lr=1e-3)                                     # TypeError
    except TypeError:
        pass
    try:
        pywd.lion(w, nan_grad, m, lr=1e-3, nonfinite="raise")              # FloatingPointError
    except FloatingPointError:
        pass
    if not pywd.sgd(w, nan_grad, lr=1e-3, nonfinite="skip"):               # skipped
        pass
    try:
        pywd.adam(w, g, m, v, step=0, lr=1e-3)                             # ValueError
    except ValueError:
        pass


def test_no_rss_growth_over_many_calls_including_errors():
    rng = np.random.default_rng(0)
    w, g = rng.standard_normal(64).astype(np.float32), rng.standard_normal(64).astype(np.float32)
    nan_grad = g.copy()
    nan_grad[7] = np.nan
    arrays = (w, g, np.zeros_like(w), np.zeros_like(w), g.astype(np.float64), nan_grad,
              np.zeros(4, np.float32))
    opt = optim.AdamW([np.zeros(16), np.zeros((4, 4))], lr=1e-3)
    grads = [np.ones(16), np.ones((4, 4))]
    t = np.empty((8, 8), np.float32)
    for i in range(2000):                          # warm up: caches, freelists, interning
        one_round(i, arrays)
    gc.collect()
    before = rss_bytes()
    for i in range(CALLS // 6):                    # six calls per round
        one_round(i, arrays)
        if i % 10 == 0:
            opt.step(grads, max_grad_norm=1.0)
            init.kaiming_normal_(t, rng=i)
    gc.collect()
    growth = rss_bytes() - before
    assert growth < 1 << 20, f"RSS grew by {growth / 1e6:.1f} MB over {CALLS} calls"
