"""pywd.init.orthogonal_: the blocked construction against pywd.reference's one reflection
at a time, orthogonality to the dtype's precision, and the Haar distribution (exact laws of
small orthogonal matrices, by Kolmogorov-Smirnov and moments at fixed seeds)."""
import math

import numpy as np
import pytest

from pywd import Generator, init, reference

# D's 0.001 critical value is 1.95 / sqrt(n) (Kolmogorov), as in test_generator
KS_CRITICAL = 1.95
SAMPLES = 4000


def ks_statistic(sample, cdf):
    x = np.sort(np.asarray(sample, np.float64))
    f = cdf(x)
    i = np.arange(1, len(x) + 1)
    return max(np.max(i / len(x) - f), np.max(f - (i - 1) / len(x)))


def normals_of(shape, seed, dtype):
    """The draws orthogonal_ makes: a (long side, short side) normal matrix."""
    return init.normal_(np.empty((max(shape), min(shape)), dtype), rng=Generator(seed))


@pytest.mark.parametrize("shape", [(300, 260), (260, 300), (129, 129), (1, 1), (7, 1),
                                   (1, 7), (257, 128), (40, 3, 3)])
def test_blocked_reflections_equal_the_reference(shape):
    seed, gain = 11, 1.5
    t = init.orthogonal_(np.empty(shape), gain=gain, rng=Generator(seed))
    rows, cols = shape[0], math.prod(shape[1:])
    q = gain * reference.haar_columns(normals_of((rows, cols), seed, np.float64))
    expected = q.T if rows < cols else q
    np.testing.assert_allclose(t.reshape(rows, cols), expected, rtol=0, atol=1e-13)


def test_float32_is_orthogonal_to_float32_precision_across_many_blocks():
    t = init.orthogonal_(np.empty((1024, 1024), np.float32), rng=3).astype(np.float64)
    assert np.abs(t.T @ t - np.eye(1024)).max() <= 1e-5
    assert np.abs(t @ t.T - np.eye(1024)).max() <= 1e-5


def haar_sample(shape, seed=0):
    gen = Generator(seed)
    return np.stack([init.orthogonal_(np.empty(shape), rng=gen) for _ in range(SAMPLES)])


@pytest.mark.parametrize("shape", [(3, 3), (3, 2), (2, 3)])
def test_entries_of_haar_3x3_are_uniform_on_minus_one_one(shape):
    # a column (row, for (2, 3)) of a Haar matrix is uniform on the sphere S^2, whose
    # coordinates are uniform on [-1, 1] (Archimedes); a lost sign rule biases them
    q = haar_sample(shape)
    for entry in (q[:, 0, 0], q[:, 1, 1], q[:, -1, -1], q[:, 0, -1]):
        d = ks_statistic(entry, lambda x: (x + 1) / 2)
        assert d < KS_CRITICAL / math.sqrt(SAMPLES), d


def test_rotation_angle_of_haar_3x3_follows_its_law():
    # det(Q) Q is Haar on SO(3), whose rotation angle has density (1 - cos t) / pi on
    # [0, pi]: CDF (t - sin t) / pi
    q = haar_sample((3, 3), seed=1)
    rotation = q * np.linalg.det(q)[:, None, None]
    angle = np.arccos(np.clip((np.trace(rotation, axis1=1, axis2=2) - 1) / 2, -1, 1))
    assert np.allclose(np.abs(np.linalg.det(q)), 1)
    d = ks_statistic(angle, lambda t: (t - np.sin(t)) / np.pi)
    assert d < KS_CRITICAL / math.sqrt(SAMPLES), d
    # both components of O(3), equally often (a binomial 5-sigma bound)
    negative = np.mean(np.linalg.det(q) < 0)
    assert abs(negative - 0.5) < 5 * math.sqrt(0.25 / SAMPLES)


def test_trace_moments_of_haar_8x8():
    # Diaconis & Shahshahani: for Haar O(n), E tr(Q)^k equals the standard normal's k-th
    # moment for k <= n (mean 0, second moment 1, fourth 3), and E tr(Q^2) = 1
    q = haar_sample((8, 8), seed=2)
    tr = np.trace(q, axis1=1, axis2=2)
    tr2 = np.trace(q @ q, axis1=1, axis2=2)
    for value, mean, sd in ((tr, 0, 1), (tr ** 2, 1, math.sqrt(2)), (tr ** 4, 3, math.sqrt(96)),
                            (tr2, 1, None)):
        sd = np.std(value) if sd is None else sd
        assert abs(value.mean() - mean) < 5 * sd / math.sqrt(SAMPLES), (value.mean(), mean)


def test_reference_one_column_is_the_normalised_draw():
    # one reflection maps x to -sign(x_1)|x| e_1, and the sign rule undoes it: Q = x / |x|
    x = np.random.default_rng(4).standard_normal((9, 1))
    np.testing.assert_allclose(reference.haar_columns(x), x / np.linalg.norm(x), rtol=1e-15)
