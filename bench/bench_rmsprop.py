"""RMSprop (plain, and centered with momentum): pywd.rmsprop against pywd.reference.rmsprop, per size and dtype."""
import numpy as np
import pytest

from pywd.bench import SIZES, kernel_case

VARIANTS = ["rmsprop", "rmsprop+c+m"]
CASES = [(v, size, np.float32) for v in VARIANTS for size in SIZES]
CASES += [(v, "16M", np.float64) for v in VARIANTS]


@pytest.mark.parametrize("variant, size, dtype", CASES,
                         ids=[f"{v}-{s}-{np.dtype(d).name}" for v, s, d in CASES])
def test_rmsprop(benchmark, impl, variant, size, dtype):
    benchmark.group = f"{variant} {size} {np.dtype(dtype).name}"
    ours, theirs = kernel_case(variant, [(SIZES[size],)], dtype)
    benchmark(ours if impl == "pywd" else theirs)
