"""pywd.Generator and the fills: Random123's known answers, the pure-Python Philox, the C fills
against pywd.reference, the same bytes whatever the threads, split or shards, and the
distributions' moments (5-sigma bounds) and Kolmogorov-Smirnov statistics at fixed seeds."""
import math
import os
import subprocess
import sys
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import pywd
from helpers import isa_units
from pywd import _kernels, init, reference
from pywd import Generator

KAT = Path(__file__).parent / "data" / "philox4x32-10-kat.txt"


def known_answers():
    for line in KAT.read_text().splitlines():
        if line.startswith("#") or "->" not in line:
            continue
        inputs, outputs = line.split("->")
        words = [int(w, 16) for w in inputs.split()]
        yield tuple(words[:4]), tuple(words[4:]), tuple(int(w, 16) for w in outputs.split())


@pytest.mark.parametrize("counter, key, expected", list(known_answers()))
def test_philox_reproduces_random123_known_answers(counter, key, expected):
    assert _kernels._philox(counter, key) == expected            # the C generator
    assert reference.philox4x32(counter, key) == expected        # the pure-Python one


@given(st.lists(st.integers(0, 2**32 - 1), min_size=6, max_size=6))
def test_c_philox_equals_pure_python_philox(words):
    assert _kernels._philox(words[:4], words[4:]) == reference.philox4x32(words[:4], words[4:])


@given(seed=st.integers(0, 2**64 - 1), first=st.integers(0, 2**64 - 2**10))
def test_vectorised_reference_equals_pure_python_philox(seed, first):
    words = reference.philox_words(seed, first, 5)
    for k in range(5):
        block = first + k
        expected = reference.philox4x32((block & 0xFFFFFFFF, block >> 32, 0, 0),
                                        (seed & 0xFFFFFFFF, seed >> 32))
        assert tuple(int(w) for w in words[k]) == expected


# ------------------------------------------------------------------------- fills vs reference
fill_cases = st.tuples(
    st.sampled_from([np.float32, np.float64]),
    st.sampled_from([(1,), (7,), (33,), (5, 13), (2, 3, 11), (1000,)]),
    st.integers(0, 2**64 - 1), st.integers(0, 2**40), st.integers(0, 101))


@given(fill_cases, st.floats(-10, 10), st.floats(0, 10))
def test_uniform_fill_equals_reference_bit_for_bit(case, low, width):
    dtype, shape, seed, position, offset = case
    a = np.empty(shape, dtype)
    init.uniform_(a, low, low + width, rng=Generator(seed, position), offset=offset)
    expected = reference.fill_uniform(shape, dtype, low, low + width, seed, position, offset)
    assert a.tobytes() == expected.tobytes()


def test_float64_normal_is_within_4_ulp_of_libm_box_muller():
    """fastmath_f64.h's log, sin and cos against NumPy's libm on 2^18 pairs: each value within
    4 ulp of its pair's radius r (a value is r cos or r sin: its error scales with r, not with
    the value, which crosses 0)."""
    n = 1 << 19
    a = init.normal_(np.empty(n), rng=Generator(17, 5))
    expected = reference.fill_normal((n,), np.float64, 0.0, 1.0, 17, 5)
    radius = np.repeat(np.hypot(expected[0::2], expected[1::2]), 2)
    assert (np.abs(a - expected) <= 4 * np.finfo(np.float64).eps * radius).all()
    assert np.abs(a).max() > 4                    # the tail (small 1 - u1) is in the sample


@given(fill_cases, st.floats(-10, 10), st.floats(0, 10))
def test_normal_fill_matches_reference(case, mean, std):
    # float32: the kernel's polynomial log/sin/cos against NumPy's double precision: within
    # 4 ulp of the largest |value| in scale (the Box-Muller terms are of order std);
    # float64: the kernel's float64 polynomials (fastmath_f64.h) against NumPy's libm, 1e-13.
    dtype, shape, seed, position, offset = case
    a = np.empty(shape, dtype)
    init.normal_(a, mean, std, rng=Generator(seed, position), offset=offset)
    expected = reference.fill_normal(shape, dtype, mean, std, seed, position, offset)
    scale = abs(mean) + std * 6
    tol = 4 * np.finfo(dtype).eps * max(scale, 1e-30) if dtype == np.float32 else 1e-13 * max(scale, 1e-30)
    np.testing.assert_allclose(a, expected, rtol=0, atol=tol)


@given(fill_cases, st.floats(-5, 5), st.floats(0.1, 5), st.floats(-3, 3), st.floats(0.1, 3))
def test_trunc_normal_fill_matches_reference_and_stays_in_bounds(case, mean, std, lo, width):
    # float32 is erfinv in float (Giles 2011): within 1e-5 std of the double-precision
    # inverse CDF over these bounds (|z| <= 6); float64 within 1e-12 std.
    dtype, shape, seed, position, offset = case
    a, b = mean + lo * std, mean + (lo + width) * std
    out = np.empty(shape, dtype)
    init.trunc_normal_(out, mean, std, a, b, rng=Generator(seed, position), offset=offset)
    expected = reference.fill_trunc_normal(shape, dtype, mean, std, a, b, seed, position, offset)
    tol = (1e-5 if dtype == np.float32 else 1e-12) * std + 4 * np.finfo(dtype).eps * abs(mean)
    np.testing.assert_allclose(out, expected, rtol=0, atol=tol)
    assert np.all(out >= dtype(a)) and np.all(out <= dtype(b))



# Intervals in the far tails, where Phi underflows or loses its digits to denormals (they
# once gave: [38, 39] NaN, [-0.04, 0.04] at mean 0.5, std 0.01 (46 std below) gave -0.04), either
# side of the kernel's switch to log space at -10 sigma, narrow and wide.
FAR_INTERVALS = [(0.0, 1.0, 38.0, 39.0), (0.5, 0.01, -0.04, 0.04), (0.0, 1.0, -39.0, -38.0),
                 (0.0, 1.0, -12.0, -9.0), (0.0, 1.0, -9.99, -9.5), (0.0, 1.0, -10.2, -10.1),
                 (0.0, 1.0, 9.5, 10.5), (0.0, 1.0, -1000.001, -1000.0), (0.0, 1.0, -60.0, -5.0),
                 (0.0, 1.0, 5.0, 1e6), (3.0, 2.0, 200.0, 200.5), (0.0, 1.0, -1e4, 1e4)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mean, std, a, b", FAR_INTERVALS)
def test_trunc_normal_far_intervals_match_reference(dtype, mean, std, a, b):
    # float64 within 1e-12 relative of the largest |bound|; float32 within 2 ulp of it
    out = init.trunc_normal_(np.empty(257, dtype), mean, std, a, b, rng=Generator(5, 9))
    expected = reference.fill_trunc_normal((257,), dtype, mean, std, a, b, 5, 9)
    scale = max(abs(a), abs(b), abs(mean) + std)
    tol = (1e-12 if dtype == np.float64 else 2 * np.finfo(dtype).eps) * scale
    np.testing.assert_allclose(out, expected, rtol=0, atol=tol)
    assert np.all(out >= dtype(a)) and np.all(out <= dtype(b)) and np.isfinite(out).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mean, std, a, b", FAR_INTERVALS)
def test_trunc_normal_far_intervals_are_the_exact_quantiles(dtype, mean, std, a, b):
    # Each element is the truncated normal's quantile at its u (the reference's grid value),
    # computed by mpmath at 50 digits: float64 within 1e-14 relative of the value's scale,
    # float32 within one ulp of the exact value (one rounding).
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 50
    n = 64
    out = init.trunc_normal_(np.empty(n, dtype), mean, std, a, b, rng=Generator(11, 3))
    words, lane = reference._element_words(n, dtype, 11, 3, 0)
    u = reference._unit(words, lane, dtype, half=True)
    alpha, beta = (mp.mpf(a) - mean) / std, (mp.mpf(b) - mean) / std
    flip = alpha + beta > 0
    if flip:
        alpha, beta = -beta, -alpha
    cdf = lambda z: mp.erfc(-z / mp.sqrt(2)) / 2         # noqa: E731
    pa, pb = cdf(alpha), cdf(beta)
    for value, ui in zip(out, u):
        target = mp.log(pa + mp.mpf(float(ui)) * (pb - pa))
        start = (float(value) - mean) / std * (-1 if flip else 1)   # the root is exact anyway
        z = mp.findroot(lambda t: mp.log(cdf(t)) - target, mp.mpf(start))
        exact = min(max(float(mean + std * (-z if flip else z)), a), b)
        tol = (1e-14 * max(abs(exact), std) if dtype == np.float64
               else float(np.spacing(np.float32(abs(exact)))))
        assert abs(float(value) - exact) <= tol, (value, exact, ui)


# ------------------------------------------------------------------------- reproducibility
def test_fill_advances_the_generator_and_seed_reseeds_the_default():
    g = Generator(9)
    a, b = np.empty(10, np.float32), np.empty(10, np.float32)
    init.normal_(a, rng=g)
    assert g.position == 3                                   # ceil(10 / 4) blocks
    init.normal_(b, rng=g)
    assert a.tobytes() != b.tobytes()
    init.normal_(b, rng=Generator(9))                        # a fresh generator repeats
    assert a.tobytes() == b.tobytes()
    init.normal_(b, rng=9)                                   # so does an int seed
    assert a.tobytes() == b.tobytes()
    pywd.seed(9)
    init.normal_(b)
    assert a.tobytes() == b.tobytes() and pywd.default_generator().position == 3


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", ["uniform_", "normal_", "trunc_normal_"])
def test_shards_equal_one_whole_fill(dtype, kind):
    whole = np.empty(100_003, dtype)
    getattr(init, kind)(whole, rng=Generator(5, position=77))
    start, parts = 77, []
    for lo, hi in [(0, 1), (1, 40_000), (40_000, 40_001), (40_001, 99_998), (99_998, 100_003)]:
        shard = np.empty(hi - lo, dtype)
        getattr(init, kind)(shard, rng=Generator(5, position=start), offset=lo)
        parts.append(shard)
    assert np.concatenate(parts).tobytes() == whole.tobytes()


def test_memory_order_does_not_change_the_values():
    c, f = np.empty((30, 7), np.float32), np.empty((30, 7), np.float32, order="F")
    init.normal_(c, rng=3)
    init.normal_(f, rng=3)
    np.testing.assert_array_equal(c, f)


FILL_HASH = r"""
import hashlib, numpy as np, pywd
h = hashlib.sha256()
for dtype in (np.float32, np.float64):
    for kind in ("uniform_", "normal_", "trunc_normal_"):
        a = np.empty(1_000_003, dtype)
        getattr(pywd.init, kind)(a, rng=pywd.Generator(11, position=3), offset=5)
        h.update(a.tobytes())
print(h.hexdigest())
"""


def test_same_bytes_for_any_thread_count_and_instruction_set():
    def digest(**env):
        return subprocess.run([sys.executable, "-c", FILL_HASH], env={**os.environ, **env},
                              capture_output=True, text=True, check=True).stdout.strip()
    one = digest(OMP_NUM_THREADS="1")
    assert digest(OMP_NUM_THREADS="2") == one
    assert digest(OMP_NUM_THREADS="3") == one
    for unit in isa_units():                            # every unit this CPU runs
        assert digest(OMP_NUM_THREADS="2", PYWD_ISA=unit) == one, unit


# ------------------------------------------------------------------------- distributions
N = 1_000_000


def ks_statistic(sample, cdf):
    """Kolmogorov-Smirnov D = sup |F_n - F|."""
    x = np.sort(sample.astype(np.float64))
    f = cdf(x)
    i = np.arange(1, len(x) + 1)
    return max(np.max(i / len(x) - f), np.max(f - (i - 1) / len(x)))


# D's 0.001 critical value: sqrt(-ln(0.0005) / 2) / sqrt(n) = 1.95 / sqrt(n) (Kolmogorov)
KS_LIMIT = 1.95 / math.sqrt(N)
phi = np.vectorize(NormalDist().cdf)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("seed", [0, 2**63 + 12345])
def test_uniform_moments_and_ks(dtype, seed):
    a = init.uniform_(np.empty(N, dtype), -1.0, 3.0, rng=seed)
    assert a.min() >= -1.0 and a.max() < 3.0
    mean_se, var = 4 / math.sqrt(12 * N), 16 / 12
    assert abs(a.mean() - 1.0) < 5 * mean_se
    assert abs(a.var() - var) < 5 * var * math.sqrt(0.8 / N)     # var of s^2 for a uniform
    assert ks_statistic(a, lambda x: np.clip((x + 1) / 4, 0, 1)) < KS_LIMIT


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("seed", [1, 2**64 - 1])
def test_normal_moments_and_ks(dtype, seed):
    a = init.normal_(np.empty(N, dtype), 2.0, 3.0, rng=seed).astype(np.float64)
    assert abs(a.mean() - 2.0) < 5 * 3 / math.sqrt(N)
    assert abs(a.std() / 3.0 - 1) < 5 * math.sqrt(0.5 / N)
    z = (a - 2.0) / 3.0
    assert abs(np.mean(z ** 3)) < 5 * math.sqrt(15 / N)          # skewness
    assert abs(np.mean(z ** 4) - 3) < 5 * math.sqrt(96 / N)      # kurtosis
    sub = z[:200_000]
    assert ks_statistic(sub, phi) < 1.95 / math.sqrt(len(sub))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bounds", [(-2.0, 2.0), (0.5, 3.0), (-1.0, 0.0), (3.0, 4.0)])
def test_trunc_normal_ks_and_bounds(dtype, bounds):
    lo, hi = bounds
    a = init.trunc_normal_(np.empty(200_000, dtype), 0.0, 1.0, lo, hi, rng=4)
    assert a.min() >= lo and a.max() <= hi
    pa, pb = NormalDist().cdf(lo), NormalDist().cdf(hi)
    d = ks_statistic(a, lambda x: (phi(x) - pa) / (pb - pa))
    assert d < 1.95 / math.sqrt(len(a))


def test_trunc_normal_std_is_the_keras_constant():
    a = init.trunc_normal_(np.empty(N, np.float64), 0.0, 1.0, -2.0, 2.0, rng=8)
    assert abs(a.std() - init.TRUNCATED_NORMAL_STD) < 5 * 0.88 * math.sqrt(0.5 / N)
