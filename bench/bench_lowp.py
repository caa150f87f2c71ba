"""16-bit storage: AdamW on bfloat16 arrays, stochastic and nearest rounding, and
the mixed storages, each beside pywd's float32 AdamW on the same shapes (the "reference"
side of the pair here: what the fewer bytes buy). Needs ml_dtypes."""
import pytest

from pywd.bench import lowp as bench_lowp
from pywd._models import resnet50_shapes
from pywd.bench import SIZES

pytest.importorskip("ml_dtypes")
SHAPES = {"16M": [(SIZES["16M"],)], "1M": [(SIZES["1M"],)], "resnet50": resnet50_shapes()}
CASES = [(kernel, label, size) for (kernel, label) in bench_lowp.CASES for size in SHAPES]


@pytest.mark.parametrize("kernel, label, size", CASES,
                         ids=[f"{k.replace(' ', '-')}-{l}-{s}" for k, l, s in CASES])
def test_adamw_16_bit(benchmark, impl, kernel, label, size):
    benchmark.group = f"{kernel} {label} {size}"
    dtypes, rounding = bench_lowp.CASES[(kernel, label)]
    if impl == "reference":
        dtypes, rounding = ("float32",) * 4, "nearest"
    benchmark(bench_lowp.adamw_case(SHAPES[size], dtypes, rounding))
