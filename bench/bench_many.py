"""A model of many small arrays (10^4 arrays of 16 elements), where the cost per array is all
there is: one functional call (pywd) against a loop (reference), and one optimiser step of
pywd.optim against the reference's loop; and constructing an optimiser with one group per
parameter (linear in the groups)."""
import numpy as np
import pytest

from pywd import optim
from pywd.bench import MANY_SHAPES, OPTIMIZERS, kernel_case, optimizer_case


@pytest.mark.parametrize("kernel", ["sgd+decay", "momentum", "adamw"])
def test_many_small_arrays(benchmark, impl, kernel):
    benchmark.group = f"{kernel} 10^4 arrays of 16 float32"
    ours, theirs = kernel_case(kernel, MANY_SHAPES, np.float32)
    benchmark(ours if impl == "pywd" else theirs)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizer_step_many_small_arrays(benchmark, impl, name):
    benchmark.group = f"optim.{name} 10^4 arrays of 16 float32"
    ours, theirs = optimizer_case(name, MANY_SHAPES, np.float32)
    benchmark(ours if impl == "pywd" else theirs)


@pytest.mark.parametrize("groups", [1000, 4000])
def test_construct_one_group_per_parameter(benchmark, groups):
    benchmark.group = "optim.AdamW with one group per parameter"
    params = [np.zeros(4, np.float32) for _ in range(groups)]
    benchmark(lambda: optim.AdamW([{"params": [p]} for p in params]))
