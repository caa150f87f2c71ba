"""LARS: pywd.lars against pywd.reference.lars, per size and dtype, and over the
ResNet-50 list."""
import numpy as np
import pytest

from pywd._models import resnet50_shapes
from pywd.bench import SIZES, kernel_case

CASES = [("lars", size, np.float32) for size in ("4K", "1M", "16M")]
CASES += [("lars", "16M", np.float64)]


@pytest.mark.parametrize("variant, size, dtype", CASES,
                         ids=[f"{v}-{s}-{np.dtype(d).name}" for v, s, d in CASES])
def test_lars(benchmark, impl, variant, size, dtype):
    benchmark.group = f"{variant} {size} {np.dtype(dtype).name}"
    ours, theirs = kernel_case(variant, [(SIZES[size],)], dtype)
    benchmark(ours if impl == "pywd" else theirs)


def test_lars_resnet50(benchmark, impl):
    benchmark.group = "lars resnet50 float32 (161 arrays)"
    ours, theirs = kernel_case("lars", resnet50_shapes(), np.float32)
    benchmark(ours if impl == "pywd" else theirs)
