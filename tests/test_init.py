"""pywd.init: each scheme's formula, fans and gains, orthogonality, eye and dirac exactly,
sparse patterns, and bad input (a clear error, the array untouched)."""
import math

import numpy as np
import pytest

from pywd import Generator, init, reference
from helpers import snapshot

SHAPES = [(256, 512), (512, 256), (64, 32, 3, 3), (32, 16, 5)]


def std_bound(n):
    """5-sigma sampling bound on a sample std's relative error (normal-like data)."""
    return 5 * math.sqrt(0.5 / n)


@pytest.mark.parametrize("shape", SHAPES)
def test_fans_follow_torch(shape):
    receptive = math.prod(shape[2:])
    assert init.compute_fans(shape) == (shape[1] * receptive, shape[0] * receptive)


def test_fans_in_other_layouts():
    assert init.compute_fans((3, 3, 16, 32), layout="keras") == (16 * 9, 32 * 9)
    assert init.compute_fans((3, 3, 32, 16), layout="keras_transposed") == (16 * 9, 32 * 9)
    assert init.compute_fans((16, 32, 3, 3), layout="torch_transposed") == (16 * 9, 32 * 9)
    assert init.compute_fans((7,), layout="keras") == (7, 7)
    assert init.compute_fans((), layout="keras") == (1, 1)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        init.compute_fans((7,))
    with pytest.raises(ValueError, match="layout must be one of"):
        init.compute_fans((2, 2), layout="jax")


def gain_by_quadrature(f):
    """1/sqrt(E[f(z)^2]), z ~ N(0, 1)."""
    z = np.linspace(-30, 30, 600_001)
    pdf = np.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    return 1 / math.sqrt(np.sum(f(z) ** 2 * pdf) * (z[1] - z[0]))


def test_gains_follow_torch_and_the_second_moment_criterion():
    assert init.calculate_gain("linear") == 1.0 and init.calculate_gain("conv2d") == 1.0
    assert init.calculate_gain("sigmoid") == 1.0
    assert init.calculate_gain("tanh") == 5 / 3
    assert init.calculate_gain("relu") == math.sqrt(2)
    assert init.calculate_gain("selu") == 3 / 4
    assert init.calculate_gain("leaky_relu") == math.sqrt(2 / (1 + 0.01 ** 2))
    assert init.calculate_gain("leaky_relu", 0.2) == math.sqrt(2 / 1.04)
    # the criterion reproduces torch's relu gain, and gives gelu's and silu's
    assert gain_by_quadrature(lambda z: np.maximum(z, 0)) == pytest.approx(math.sqrt(2), rel=1e-9)
    erf = np.vectorize(math.erf)
    gelu = lambda z: z * 0.5 * (1 + erf(z / math.sqrt(2)))   # noqa: E731
    assert init.calculate_gain("gelu") == pytest.approx(gain_by_quadrature(gelu), rel=1e-9)
    silu = lambda z: z / (1 + np.exp(-z))                     # noqa: E731
    assert init.calculate_gain("silu") == pytest.approx(gain_by_quadrature(silu), rel=1e-9)
    with pytest.raises(ValueError, match="unknown nonlinearity 'swish'"):
        init.calculate_gain("swish")


def scheme_cases():
    """(initialiser call, expected std as a function of fan_in and fan_out)."""
    relu, tanh = math.sqrt(2), 5 / 3
    return [
        (lambda t: init.xavier_uniform_(t, rng=1), lambda i, o: math.sqrt(2 / (i + o))),
        (lambda t: init.xavier_normal_(t, gain=tanh, rng=1), lambda i, o: tanh * math.sqrt(2 / (i + o))),
        (lambda t: init.kaiming_uniform_(t, nonlinearity="relu", rng=1), lambda i, o: relu / math.sqrt(i)),
        (lambda t: init.kaiming_normal_(t, mode="fan_out", nonlinearity="relu", rng=1),
         lambda i, o: relu / math.sqrt(o)),
        (lambda t: init.kaiming_uniform_(t, a=math.sqrt(5), rng=1),        # torch Linear's default
         lambda i, o: math.sqrt(2 / 6) / math.sqrt(i)),
        (lambda t: init.lecun_uniform_(t, rng=1), lambda i, o: 1 / math.sqrt(i)),
        (lambda t: init.lecun_normal_(t, rng=1), lambda i, o: 1 / math.sqrt(i)),
        (lambda t: init.variance_scaling_(t, 2.0, "fan_avg", "untruncated_normal", rng=1),
         lambda i, o: math.sqrt(2 / ((i + o) / 2))),
        (lambda t: init.variance_scaling_(t, 0.5, "fan_out", "uniform", rng=1),
         lambda i, o: math.sqrt(0.5 / o)),
        (lambda t: init.variance_scaling_(t, 3.0, "fan_in", "truncated_normal", rng=1),
         lambda i, o: math.sqrt(3 / i)),
    ]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("case", range(len(scheme_cases())))
def test_scheme_std_equals_its_formula(dtype, shape, case):
    fill, formula = scheme_cases()[case]
    t = fill(np.empty(shape, dtype))
    fan_in, fan_out = init.compute_fans(shape)
    assert abs(t.std() / formula(fan_in, fan_out) - 1) < std_bound(t.size) * 1.3   # uniform: < normal's
    assert abs(t.mean()) < 5 * formula(fan_in, fan_out) / math.sqrt(t.size)


def test_uniform_schemes_have_the_right_bounds():
    t = init.kaiming_uniform_(np.empty((128, 300)), nonlinearity="relu", rng=2)
    bound = math.sqrt(3) * math.sqrt(2) / math.sqrt(300)
    assert t.max() < bound and t.min() >= -bound and t.max() > 0.99 * bound
    t = init.variance_scaling_(np.empty((128, 300)), rng=2)      # truncated at 2 std
    std = math.sqrt(1 / 300) / init.TRUNCATED_NORMAL_STD
    assert np.abs(t).max() <= 2 * std


@pytest.mark.parametrize("shape", [(50, 50), (30, 80), (80, 30), (16, 8, 3, 3), (4, 100)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_orthogonal_rows_or_columns_are_orthonormal(shape, dtype):
    t = init.orthogonal_(np.empty(shape, dtype), gain=2.0, rng=5)
    flat = t.reshape(shape[0], -1).astype(np.float64) / 2.0
    small = min(flat.shape)
    gram = flat @ flat.T if flat.shape[0] == small else flat.T @ flat
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(gram, np.eye(small), atol=tol)


def test_orthogonal_is_reproducible_and_not_always_the_same():
    a = init.orthogonal_(np.empty((20, 20)), rng=Generator(1))
    b = init.orthogonal_(np.empty((20, 20)), rng=Generator(1))
    c = init.orthogonal_(np.empty((20, 20)), rng=Generator(2))
    assert a.tobytes() == b.tobytes() and not np.allclose(a, c)


def test_eye_is_exact_and_rectangular():
    t = init.eye_(np.full((3, 5), 7.0, np.float32), gain=0.5)
    expected = np.zeros((3, 5), np.float32)
    expected[[0, 1, 2], [0, 1, 2]] = 0.5
    np.testing.assert_array_equal(t, expected)
    np.testing.assert_array_equal(init.eye_(np.empty((4, 2))), np.eye(4, 2))


@pytest.mark.parametrize("shape, groups", [((4, 4, 3), 1), ((6, 3, 3, 3), 2), ((2, 5, 3, 3, 3), 1),
                                           ((8, 2, 5, 5), 4)])
def test_dirac_passes_channels_through(shape, groups):
    # output channel g*out_per_group + d sees only input channel d of its group, at the
    # kernel's centre tap, with weight 1: a 'same' convolution copies it through
    t = init.dirac_(np.full(shape, 9.0), groups=groups)
    out_per_group = shape[0] // groups
    centre = tuple(k // 2 for k in shape[2:])
    expected = np.zeros(shape)
    for g in range(groups):
        for d in range(min(out_per_group, shape[1])):
            expected[(g * out_per_group + d, d) + centre] = 1.0
    np.testing.assert_array_equal(t, expected)


def test_sparse_zeroes_a_fraction_of_each_column():
    t = init.sparse_(np.empty((10, 300)), sparsity=0.25, std=0.5, rng=3)
    zeros_per_column = (t == 0).sum(axis=0)
    np.testing.assert_array_equal(zeros_per_column, math.ceil(0.25 * 10))
    assert abs(t[t != 0].std() / 0.5 - 1) < std_bound((t != 0).sum())


def test_martens_sparse_gives_k_nonzeros_per_unit():
    t = init.martens_sparse_(np.empty((40, 100), np.float32), nonzeros=15, rng=3)
    np.testing.assert_array_equal((t != 0).sum(axis=1), 15)
    assert len({tuple(np.flatnonzero(row)) for row in t}) > 30      # units differ


def test_constant_zeros_ones_in_any_memory_order():
    t = np.empty((3, 4), order="F")
    np.testing.assert_array_equal(init.constant_(t, 2.5), 2.5)
    np.testing.assert_array_equal(init.zeros_(t), 0.0)
    np.testing.assert_array_equal(init.ones_(t), 1.0)


def test_zero_size_tensors_are_a_no_op():
    for fill in (init.xavier_uniform_, init.kaiming_normal_, init.lecun_normal_,
                 init.orthogonal_):
        assert fill(np.empty((0, 5))).shape == (0, 5)


def read_only(shape=(4, 4)):
    t = np.ones(shape)
    t.flags.writeable = False
    return t


BAD = [
    ("int-dtype", lambda: init.normal_(np.ones((3, 3), np.int32)), TypeError,
     r"tensor: expected float32 or float64, got int32"),
    ("not-array", lambda: init.uniform_([1.0, 2.0]), TypeError, r"tensor: expected a numpy.ndarray, got list"),
    ("read-only", lambda: init.normal_(read_only()), ValueError, r"tensor: is read-only"),
    ("strided", lambda: init.uniform_(np.ones((4, 4))[:, ::2]), ValueError,
     r"tensor: must be C- or F-contiguous"),
    ("1-d-xavier", lambda: init.xavier_uniform_(np.ones(5)), ValueError,
     r"xavier_uniform_ needs a tensor with at least 2 dimensions"),
    ("1-d-orthogonal", lambda: init.orthogonal_(np.ones(5)), ValueError,
     r"orthogonal_ needs a tensor with at least 2 dimensions"),
    ("2-d-dirac", lambda: init.dirac_(np.ones((3, 3))), ValueError, r"dirac_ needs a tensor with 3 to 5"),
    ("3-d-eye", lambda: init.eye_(np.ones((2, 2, 2))), ValueError, r"eye_ needs a tensor with 2 to 2"),
    ("sparsity", lambda: init.sparse_(np.ones((4, 4)), 1.5), ValueError,
     r"sparsity must be a finite number in \[0, 1\], got 1.5"),
    ("low-above-high", lambda: init.uniform_(np.ones(3), 2.0, 1.0), ValueError, r"needs a <= b"),
    ("negative-std", lambda: init.normal_(np.ones(3), std=-1.0), ValueError,
     r"std must be a finite number >= 0"),
    ("zero-std-trunc", lambda: init.trunc_normal_(np.ones(3), std=0.0), ValueError,
     r"std must be a finite number > 0"),
    ("nan-mean", lambda: init.normal_(np.ones(3), mean=float("nan")), ValueError, r"mean must be a finite"),
    ("nonlinearity", lambda: init.kaiming_normal_(np.ones((3, 3)), nonlinearity="swish"),
     ValueError, r"unknown nonlinearity 'swish'"),
    ("mode", lambda: init.kaiming_normal_(np.ones((3, 3)), mode="fan_avg"), ValueError,
     r"mode must be one of \('fan_in', 'fan_out'\)"),
    ("distribution", lambda: init.variance_scaling_(np.ones((3, 3)), distribution="gamma"),
     ValueError, r"distribution must be one of"),
    ("negative-seed", lambda: init.normal_(np.ones(3), rng=-1), ValueError,
     r"seed must be an int in \[0, 2\*\*64\), got -1"),
    ("float-seed", lambda: init.normal_(np.ones(3), rng=1.5), TypeError, r"rng must be an int seed"),
    ("negative-offset", lambda: init.normal_(np.ones(3), rng=1, offset=-1), ValueError,
     r"offset must be an int >= 0"),
    ("dirac-groups", lambda: init.dirac_(np.ones((3, 3, 3)), groups=2), ValueError,
     r"output channels \(3\) to divide by groups \(2\)"),
    ("martens-k", lambda: init.martens_sparse_(np.ones((3, 4)), nonzeros=5), ValueError,
     r"nonzeros must be an int in \[0, 4\]"),
    # an element index past 2**64 used to wrap, and the fill left the old contents
    ("offset-past-2**64", lambda: init.normal_(np.full(3, 7.0), rng=0, offset=2**64 - 3),
     ValueError, r"offset \+ tensor.size must be < 2\*\*64"),
    ("negative-fan", lambda: init.compute_fans((-3, 4)), ValueError,
     r"shape must have dimensions >= 0, got \(-3, 4\)"),
    ("float-fan", lambda: init.compute_fans((3.5, 4)), TypeError,
     r"shape must be a sequence of ints, got \(3.5, 4\)"),
    ("str-fan", lambda: init.compute_fans("34"), TypeError, r"shape must be a sequence of ints"),
]


@pytest.mark.parametrize("call, error, pattern", [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_input_is_refused(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()


def test_fill_up_to_the_last_64_bit_index_is_written():
    t = np.full(3, 7.0)
    init.normal_(t, rng=0, offset=2**64 - 4)
    assert not (t == 7.0).any()
    # the kernel's polynomial log/sin/cos against NumPy's libm: 1e-13, as test_generator
    np.testing.assert_allclose(t, reference.fill_normal((3,), np.float64, 0.0, 1.0, 0,
                                                        offset=2**64 - 4), rtol=0, atol=1e-13)


def test_edge_shapes_and_parameters():
    assert init.dirac_(np.ones((2, 2, 0))).shape == (2, 2, 0)      # was an IndexError
    assert init.dirac_(np.ones((0, 2, 3))).shape == (0, 2, 3)
    # sqrt(2 / (1 + slope^2)) without overflowing slope^2 (was an OverflowError)
    assert init.calculate_gain("leaky_relu", 1e200) == pytest.approx(math.sqrt(2) * 1e-200)
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04), rel=1e-15)
    assert init.compute_fans(np.array([3, 4])) == (4, 3)


def test_refused_calls_leave_array_and_generator_untouched():
    t = np.full((4, 4), 3.0)
    g = Generator(7, position=11)
    before = snapshot([t])
    for call in (lambda: init.trunc_normal_(t, a=1.0, b=0.0, rng=g),
                 lambda: init.kaiming_normal_(t, nonlinearity="nope", rng=g),
                 lambda: init.sparse_(t, -0.5, rng=g)):
        with pytest.raises(ValueError):
            call()
    assert snapshot([t]) == before and g.position == 11


def test_numpy_layout_and_a_default_set_once():
    """For x @ W, W is (in, out): "numpy" reads it so; set_layout or the
    default_layout context manager sets it for every call that gives none."""
    assert init.compute_fans((128, 64), "numpy") == (128, 64)
    assert init.compute_fans((128, 64)) == (64, 128)                    # torch: (out, in)
    W = np.empty((128, 64))
    init.kaiming_normal_(W, nonlinearity="relu", layout="numpy", rng=0)
    as_torch = init.kaiming_normal_(np.empty((128, 64)), nonlinearity="relu", rng=0)
    assert abs(W.std() - math.sqrt(2 / 128)) < 0.01                     # fan_in 128
    assert abs(as_torch.std() - math.sqrt(2 / 64)) < 0.01                # fan_in 64
    with init.default_layout("numpy"):
        assert init.compute_fans((128, 64)) == (128, 64)
        same = init.kaiming_normal_(np.empty((128, 64)), nonlinearity="relu", rng=0)
        assert same.tobytes() == W.tobytes()
    assert init.compute_fans((128, 64)) == (64, 128)                    # restored
    previous = init.set_layout("keras")
    try:
        assert previous == "torch" and init.compute_fans((3, 3, 16, 32)) == (144, 288)
    finally:
        init.set_layout(previous)
    with pytest.raises(ValueError, match=r"layout must be one of \('torch', "
                                         r"'torch_transposed', 'numpy', 'keras'"):
        init.set_layout("tf")


@pytest.mark.parametrize("name", ["xavier_uniform_", "xavier_normal_", "kaiming_uniform_",
                                  "kaiming_normal_", "variance_scaling_", "lecun_uniform_",
                                  "lecun_normal_"])
def test_every_fan_based_initialiser_says_early_whose_layout_its_fans_read(name):
    """A NumPy user's (in, out) weight gets torch's fans unless layout="numpy": the
    docstring says so in its second paragraph, before the equivalents."""
    doc = getattr(init, name).__doc__
    second = doc.split("\n\n")[1]
    assert "(out, in, *kernel)" in second and 'layout="numpy"' in second
