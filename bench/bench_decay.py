"""pywd.decay against pywd.reference.decay, per mode, at 1M and 16M float32."""
import numpy as np
import pytest

import pywd
from pywd import reference

MODES = ("decoupled", "independent", "l2", "l1")


@pytest.mark.parametrize("n", [1 << 20, 1 << 24], ids=["1M", "16M"])
@pytest.mark.parametrize("mode", MODES)
def test_decay(benchmark, impl, mode, n):
    benchmark.group = f"decay {mode} {n >> 20}M float32"
    w = np.random.default_rng(0).standard_normal(n, dtype=np.float32)
    fn = pywd.decay if impl == "pywd" else reference.decay
    benchmark(fn, w, lr=1e-3, weight_decay=1e-4, decay=mode)
