"""8-bit optimiser state: AdamW with its moments in 8 bits (float32 or bfloat16 params and
grads), beside pywd's float32 AdamW on the same shapes (the "reference" side of the pair
here: what a quarter of the state's bytes costs or buys)."""
import pytest

from pywd.bench import SIZES
from pywd.bench import lowp as bench_lowp
from pywd.bench import q8 as bench_q8

SHAPES = {"16M": [(SIZES["16M"],)], "1M": [(SIZES["1M"],)]}
CASES = [(kernel, label, size) for (kernel, label) in bench_q8.CASES for size in SHAPES]


@pytest.mark.parametrize("kernel, label, size", CASES,
                         ids=[f"{k.replace(' ', '-')}-{l.replace('/', '-')}-{s}"
                              for k, l, s in CASES])
def test_8_bit_state(benchmark, impl, kernel, label, size):
    benchmark.group = f"{kernel} {label} {size}"
    dtype = bench_q8.CASES[(kernel, label)]
    if dtype == "bfloat16" and bench_lowp.bfloat16() is None:
        pytest.skip("bfloat16 needs ml_dtypes")
    step = (bench_q8.float32_case(SHAPES[size]) if impl == "reference"
            else bench_q8.step_case(SHAPES[size], dtype))
    benchmark(step)
