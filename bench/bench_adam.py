"""Adam family (AdamW, Adam with L2, AMSGrad, AdamW with global-norm clipping and the
non-finite check): pywd.adam against pywd.reference.adam, per size and dtype."""
import numpy as np
import pytest

from pywd.bench import SIZES, kernel_case

VARIANTS = ["adamw", "adam+l2", "amsgrad", "adamw+clip"]
CASES = [(v, size, np.float32) for v in VARIANTS for size in SIZES]
CASES += [(v, "16M", np.float64) for v in VARIANTS]


@pytest.mark.parametrize("variant, size, dtype", CASES,
                         ids=[f"{v}-{s}-{np.dtype(d).name}" for v, s, d in CASES])
def test_adam(benchmark, impl, variant, size, dtype):
    benchmark.group = f"{variant} {size} {np.dtype(dtype).name}"
    ours, theirs = kernel_case(variant, [(SIZES[size],)], dtype)
    benchmark(ours if impl == "pywd" else theirs)


def test_adamw_resnet50(benchmark, impl):
    from pywd._models import resnet50_shapes
    benchmark.group = "adamw resnet50 float32 (161 arrays)"
    ours, theirs = kernel_case("adamw", resnet50_shapes(), np.float32)
    benchmark(ours if impl == "pywd" else theirs)
