"""pywd.init fills against NumPy's Generator (random, standard_normal, a redraw loop for the
truncated normal) on 16M elements, and orthogonal_ against numpy.linalg.qr on 2048 x 2048."""
import numpy as np
import pytest

import pywd
from pywd.bench import FILLS, numpy_fill


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", list(FILLS))
def test_fill(benchmark, impl, name, dtype):
    benchmark.group = f"fill {name} 16M {np.dtype(dtype).name}"
    out = np.empty(1 << 24, dtype)
    ours, theirs = FILLS[name]
    if impl == "pywd":
        benchmark(ours, out)
    else:
        benchmark(numpy_fill, theirs, out, np.random.default_rng(0))


def test_orthogonal(benchmark, impl):
    benchmark.group = "orthogonal 2048x2048 float32"
    if impl == "pywd":
        matrix = np.empty((2048, 2048), np.float32)
        benchmark(pywd.init.orthogonal_, matrix, rng=pywd.Generator(0))
    else:
        random = np.random.default_rng(0).standard_normal((2048, 2048), dtype=np.float32)
        benchmark(np.linalg.qr, random)
