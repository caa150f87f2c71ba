"""Every functional optimiser step of the bench's table (pywd.bench.KERNELS: SGD's variants,
the Adam family, RMSprop, ..., LAMB, LARS, schedule-free, decay toward an anchor,
cautiously): pywd's kernel against pywd.reference's NumPy code, per size and dtype, and on
the 161 arrays of ResNet-50 in one call (pywd) versus a loop over them (the reference).
A new row of the table is benchmarked here without a file of its own."""
import numpy as np
import pytest

from pywd._models import resnet50_shapes
from pywd.bench import KERNELS, SIZES, kernel_case

CASES = [(row, size, np.float32) for row in KERNELS for size in SIZES]
CASES += [(row, "16M", np.float64) for row in KERNELS]
# on the ResNet-50 list: each function's first row, and SGD with momentum
RESNET50 = sorted({next(r for r in KERNELS if KERNELS[r].fn == k.fn) for k in KERNELS.values()}
                  | {"momentum"})


@pytest.mark.parametrize("row, size, dtype", CASES,
                         ids=[f"{r}-{s}-{np.dtype(d).name}" for r, s, d in CASES])
def test_optimiser_step(benchmark, impl, row, size, dtype):
    benchmark.group = f"{row} {size} {np.dtype(dtype).name}"
    ours, theirs = kernel_case(row, [(SIZES[size],)], dtype)
    benchmark(ours if impl == "pywd" else theirs)


@pytest.mark.parametrize("row", RESNET50)
def test_optimiser_step_resnet50(benchmark, impl, row):
    benchmark.group = f"{row} resnet50 float32 (161 arrays)"
    ours, theirs = kernel_case(row, resnet50_shapes(), np.float32)
    benchmark(ours if impl == "pywd" else theirs)
