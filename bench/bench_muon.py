"""Muon: pywd.muon against its NumPy twin (the same float32 BLAS products) and, when torch
is installed, torch.optim.Muon (bfloat16 products), on the matrices of two GPT-2-small blocks
and one 4096 x 4096 matrix (seconds a step: one round)."""
import pytest

from pywd.bench import MUON_CASES, muon_case

IMPLS = ["pywd", "reference", "torch"]


@pytest.mark.parametrize("size", list(MUON_CASES))
@pytest.mark.parametrize("who", IMPLS)
def test_muon(benchmark, size, who):
    benchmark.group = f"muon {size} float32"
    step = dict(zip(IMPLS, muon_case(MUON_CASES[size])))[who]
    if step is None:
        pytest.skip("torch is not installed")
    step()                                         # warm-up, outside the timing
    benchmark.pedantic(step, rounds=1 if size == "4096^2" else 3, iterations=1)
