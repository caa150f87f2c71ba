"""16-bit storage: AdamW and SGD with momentum on bfloat16 arrays, stochastic and nearest
rounding, and the mixed storages, each beside pywd's float32 step of the same kernel on the
same shapes (the "reference" side of the pair here: what the fewer bytes buy). Needs
ml_dtypes."""
import pytest

from pywd.bench import lowp as bench_lowp
from pywd._models import resnet50_shapes
from pywd.bench import SIZES

pytest.importorskip("ml_dtypes")
SHAPES = {"16M": [(SIZES["16M"],)], "1M": [(SIZES["1M"],)], bench_lowp.IN_CACHE: [(1 << 18,)],
          "resnet50": resnet50_shapes()}
CASES = [(kernel, label, size) for (kernel, label) in bench_lowp.CASES for size in SHAPES]


@pytest.mark.parametrize("kernel, label, size", CASES,
                         ids=[f"{k.replace(' ', '-')}-{l}-{s}" for k, l, s in CASES])
def test_16_bit(benchmark, impl, kernel, label, size):
    benchmark.group = f"{kernel} {label} {size}"
    case = bench_lowp.CASES[(kernel, label)]
    step = (bench_lowp.float32_case(case, SHAPES[size]) if impl == "reference"
            else bench_lowp.step_case(case, SHAPES[size]))
    benchmark(step)
