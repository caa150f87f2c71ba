"""Peers, when installed (skipped otherwise): torch.optim.AdamW(fused=True) and SGD(fused=True)
on the same arrays as pywd (torch.from_numpy shares their memory), so pywd's ratio to torch's
fused CPU optimisers reads side by side with its ratio to the NumPy reference."""
import numpy as np
import pytest

from pywd.bench import SIZES, kernel_case
from pywd._models import resnet50_shapes

torch = pytest.importorskip("torch")

CASES = {"16M": [(SIZES["16M"],)], "1M": [(SIZES["1M"],)], "resnet50": resnet50_shapes()}


def torch_step(name, shapes, dtype):
    """A zero-argument torch step over arrays like pywd's case (gradients set once)."""
    rng = np.random.default_rng(0)
    params = [torch.from_numpy(rng.standard_normal(s).astype(dtype)) for s in shapes]
    for p in params:
        p.requires_grad_(True)
        p.grad = torch.from_numpy(rng.standard_normal(p.shape).astype(dtype))
    if name == "adamw":
        opt = torch.optim.AdamW(params, lr=1e-3, fused=True)
    else:
        opt = torch.optim.SGD(params, lr=1e-3, momentum=0.9, weight_decay=1e-4, fused=True)
    opt.step()                         # creates the state outside the timing
    return opt.step


@pytest.mark.parametrize("size", list(CASES))
@pytest.mark.parametrize("name", ["adamw", "momentum"])
@pytest.mark.parametrize("who", ["pywd", "torch-fused"])
def test_peer(benchmark, who, name, size):
    benchmark.group = f"peers {name} {size} float32"
    if who == "pywd":
        step, _ = kernel_case(name, CASES[size], np.float32)
    else:
        step = torch_step(name, CASES[size], np.float32)
    benchmark(step)
