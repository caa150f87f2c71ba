"""The torch drop-in: pywd.torch.AdamW's step() against
torch.optim.AdamW(fused=True), both on torch's tensors with gradients in p.grad, on a small
model (an MLP, 784-256-10: call overhead) and ResNet-50's parameter shapes (memory
bandwidth). Skipped without torch."""
import pytest

from pywd._models import resnet50_shapes
from pywd.bench import DROPIN_CASES, dropin_case

pytest.importorskip("torch")


@pytest.mark.parametrize("size", list(DROPIN_CASES))
@pytest.mark.parametrize("who", ["pywd.torch", "torch-fused"])
def test_adamw_step(benchmark, who, size):
    benchmark.group = f"torch drop-in AdamW {size} float32"
    ours, fused = dropin_case(DROPIN_CASES[size] or resnet50_shapes())
    benchmark(ours if who == "pywd.torch" else fused)
