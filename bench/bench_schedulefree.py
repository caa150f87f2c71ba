"""Schedule-free AdamW and SGD: pywd.adamw_schedulefree and pywd.sgd_schedulefree against
their pywd.reference twins, per size and dtype, and over the ResNet-50 list."""
import numpy as np
import pytest

from pywd._models import resnet50_shapes
from pywd.bench import SIZES, kernel_case

CASES = [(variant, size, np.float32) for variant in ("adamw-sf", "sgd-sf")
         for size in ("4K", "1M", "16M")]
CASES += [("adamw-sf", "16M", np.float64)]


@pytest.mark.parametrize("variant, size, dtype", CASES,
                         ids=[f"{v}-{s}-{np.dtype(d).name}" for v, s, d in CASES])
def test_schedulefree(benchmark, impl, variant, size, dtype):
    benchmark.group = f"{variant} {size} {np.dtype(dtype).name}"
    ours, theirs = kernel_case(variant, [(SIZES[size],)], dtype)
    benchmark(ours if impl == "pywd" else theirs)


@pytest.mark.parametrize("variant", ["adamw-sf", "sgd-sf"])
def test_schedulefree_resnet50(benchmark, impl, variant):
    benchmark.group = f"{variant} resnet50 float32 (161 arrays)"
    ours, theirs = kernel_case(variant, resnet50_shapes(), np.float32)
    benchmark(ours if impl == "pywd" else theirs)
