"""Adafactor: pywd.adafactor against its NumPy twin and, when torch is installed,
torch.optim.Adafactor, on one 4096 x 4096 matrix, the matrices of two GPT-2-small blocks and
the ResNet-50 list (float32)."""
import pytest

from pywd._models import resnet50_shapes
from pywd.bench import ADAFACTOR_CASES, adafactor_case

IMPLS = ["pywd", "reference", "torch"]


@pytest.mark.parametrize("size", list(ADAFACTOR_CASES))
@pytest.mark.parametrize("who", IMPLS)
def test_adafactor(benchmark, size, who):
    benchmark.group = f"adafactor {size} float32"
    shapes = ADAFACTOR_CASES[size] or resnet50_shapes()
    step = dict(zip(IMPLS, adafactor_case(shapes)))[who]
    if step is None:
        pytest.skip("torch is not installed")
    benchmark(step)
