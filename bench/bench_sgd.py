"""SGD family: pywd.sgd against pywd.reference.sgd, per variant, size and dtype, and on
the 161 arrays of ResNet-50 in one call (pywd) versus a loop over them (reference)."""
import numpy as np
import pytest

from pywd.bench import SGD_VARIANTS, SIZES, kernel_case
from pywd._models import resnet50_shapes

CASES = [(variant, size, np.float32) for variant in SGD_VARIANTS for size in SIZES]
CASES += [(variant, "16M", np.float64) for variant in SGD_VARIANTS]


@pytest.mark.parametrize("variant, size, dtype", CASES,
                         ids=[f"{v}-{s}-{np.dtype(d).name}" for v, s, d in CASES])
def test_sgd(benchmark, impl, variant, size, dtype):
    benchmark.group = f"sgd {variant} {size} {np.dtype(dtype).name}"
    ours, theirs = kernel_case(variant, [(SIZES[size],)], dtype)
    benchmark(ours if impl == "pywd" else theirs)


@pytest.mark.parametrize("variant", ["momentum", "sgd+decay"])
def test_sgd_resnet50(benchmark, impl, variant):
    benchmark.group = f"sgd {variant} resnet50 float32 (161 arrays)"
    ours, theirs = kernel_case(variant, resnet50_shapes(), np.float32)
    benchmark(ours if impl == "pywd" else theirs)
