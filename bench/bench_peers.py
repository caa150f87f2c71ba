"""Peers, when installed (skipped otherwise): torch.optim.AdamW(fused=True) and SGD(fused=True)
on tensors torch allocated itself, as a torch user has them, beside pywd on arrays from
pywd.empty; pywd's ratio to torch's fused CPU optimisers reads side by side with its ratio to
the NumPy reference. (Where big arrays sit decides their speed: README "Memory".)"""
import numpy as np
import pytest

from pywd import bench
from pywd.bench import SIZES, kernel_case
from pywd._models import resnet50_shapes

torch = pytest.importorskip("torch")

CASES = {"16M": [(SIZES["16M"],)], "1M": [(SIZES["1M"],)], "resnet50": resnet50_shapes()}


def torch_step(name, shapes):
    """A zero-argument fused torch step over float32 tensors of these shapes, parameters and
    gradients from torch's allocator (gradients set once), its state already made."""
    if name == "adamw":
        return bench.torch_step(torch, torch.optim.AdamW, shapes, lr=1e-3, fused=True)
    return bench.torch_step(torch, torch.optim.SGD, shapes, lr=1e-3, momentum=0.9,
                            weight_decay=1e-4, fused=True)


@pytest.mark.parametrize("size", list(CASES))
@pytest.mark.parametrize("name", ["adamw", "momentum"])
@pytest.mark.parametrize("who", ["pywd", "torch-fused"])
def test_peer(benchmark, who, name, size):
    benchmark.group = f"peers {name} {size} float32"
    if who == "pywd":
        step, _ = kernel_case(name, CASES[size], np.float32)
    else:
        step = torch_step(name, CASES[size])
    benchmark(step)
