"""Bad input to pywd.sgd and pywd.decay: a clear TypeError/ValueError that names the argument
and the list index, raised before any array is modified -- also when only the last of 100
arrays is bad."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import pywd
from helpers import snapshot

N = 100   # arrays per list; the bad one is the last


def model(dtype=np.float32, n=N, size=7):
    rng = np.random.default_rng(0)
    params = [rng.standard_normal(size).astype(dtype) for _ in range(n)]
    grads = [rng.standard_normal(size).astype(dtype) for _ in range(n)]
    bufs = [rng.standard_normal(size).astype(dtype) for _ in range(n)]
    return params, grads, bufs


def unaligned(size, dtype=np.float32):
    raw = np.zeros(size * np.dtype(dtype).itemsize + 1, np.uint8)
    a = raw[1:].view(dtype)
    assert not a.flags.aligned
    return a


def read_only(a):
    a = a.copy()
    a.flags.writeable = False
    return a


def _replace(lst, i, value):
    lst[i] = value
    return lst


# (id, mutate(params, grads, bufs) -> (params, grads, bufs), error type, message pattern)
ARRAY_CASES = [
    ("param-not-array", lambda p, g, b: (_replace(p, -1, [1.0] * 7), g, b),
     TypeError, r"params\[99\]: expected a numpy.ndarray, got list"),
    ("grad-int-dtype", lambda p, g, b: (p, _replace(g, -1, np.ones(7, np.int64)), b),
     TypeError, r"grads\[99\]: expected float32 like params\[0\], got int64"),
    ("param-float64-among-float32", lambda p, g, b: (_replace(p, -1, p[-1].astype(np.float64)), g, b),
     TypeError, r"params\[99\]: expected float32 like params\[0\], got float64"),
    ("buf-float16", lambda p, g, b: (p, g, _replace(b, -1, b[-1].astype(np.float16))),
     TypeError, r"momentum_buffers\[99\]: expected float32"),
    ("grad-byte-swapped", lambda p, g, b: (p, _replace(g, -1, g[-1].astype(">f4")), b),
     TypeError, r"grads\[99\]: expected native byte order"),
    ("grad-shape", lambda p, g, b: (p, _replace(g, -1, np.ones(8, np.float32)), b),
     ValueError, r"grads\[99\]: shape \(8,\) does not match params\[99\] shape \(7,\)"),
    ("buf-shape-2d", lambda p, g, b: (p, g, _replace(b, -1, np.ones((7, 1), np.float32))),
     ValueError, r"momentum_buffers\[99\]: shape \(7, 1\) does not match"),
    ("param-strided", lambda p, g, b: (_replace(p, -1, np.ones(14, np.float32)[::2]), g, b),
     ValueError, r"params\[99\]: must be C- or F-contiguous"),
    ("grad-strided", lambda p, g, b: (p, _replace(g, -1, np.ones(14, np.float32)[::2]), b),
     ValueError, r"grads\[99\]: must be C- or F-contiguous"),
    ("param-read-only", lambda p, g, b: (_replace(p, -1, read_only(p[-1])), g, b),
     ValueError, r"params\[99\]: is read-only"),
    ("buf-read-only", lambda p, g, b: (p, g, _replace(b, -1, read_only(b[-1]))),
     ValueError, r"momentum_buffers\[99\]: is read-only"),
    ("param-unaligned", lambda p, g, b: (_replace(p, -1, unaligned(7)), g, b),
     ValueError, r"params\[99\]: data is not aligned"),
    ("grad-is-param", lambda p, g, b: (p, _replace(g, -1, p[-1]), b),
     ValueError, r"params\[99\] and grads\[99\] overlap in memory"),
    ("param-listed-twice", lambda p, g, b: (_replace(p, -1, p[0]), g, b),
     ValueError, r"params\[0\] and params\[99\] overlap in memory"),
    ("buf-views-a-grad", lambda p, g, b: (p, g, _replace(b, -1, g[3][::-1][::-1])),
     ValueError, r"grads\[3\] and momentum_buffers\[99\] overlap in memory"),
    ("grads-shorter", lambda p, g, b: (p, g[:-1], b),
     ValueError, r"grads has 99 arrays but params has 100"),
    ("bufs-longer", lambda p, g, b: (p, g, b + [b[0].copy()]),
     ValueError, r"momentum_buffers has 101 arrays but params has 100"),
    ("grads-not-a-list", lambda p, g, b: (p, {"a": g[0]}, b),
     TypeError, r"grads must be a numpy.ndarray or a list/tuple of them, got dict"),
]


@pytest.mark.parametrize("mutate, error, pattern",
                         [c[1:] for c in ARRAY_CASES], ids=[c[0] for c in ARRAY_CASES])
def test_bad_array_is_refused_and_nothing_changes(mutate, error, pattern):
    params, grads, bufs = mutate(*model())
    before = snapshot(params) + snapshot(grads) + snapshot(bufs)
    with pytest.raises(error, match=pattern):
        pywd.sgd(params, grads, bufs, lr=0.1, momentum=0.9, weight_decay=0.01)
    assert snapshot(params) + snapshot(grads) + snapshot(bufs) == before


def test_partial_overlap_is_refused():
    base = np.zeros(20)
    with pytest.raises(ValueError, match=r"params\[0\] and grads\[0\] overlap"):
        pywd.sgd([base[:10]], [base[5:15]], lr=0.1)
    pywd.sgd([base[:10]], [base[10:]], lr=0.1)   # adjacent is fine


@given(n=st.sampled_from([3, 40, 150]), data=st.data())
def test_overlap_check_agrees_with_brute_force(n, data):
    """Params, grads and momentum buffers cut from one buffer at random places (so the
    radix-sorted path of big calls and the small-call path both see overlaps of every kind):
    the call is refused exactly when a written array (param or buffer) shares a byte with
    any other array; grads may share with each other."""
    size = 3
    buffer = np.zeros(3 * n * size + 40, np.float64)
    # disjoint slots in a random order, then a few arrays moved onto or next to another
    starts = list(data.draw(st.permutations(range(3 * n))))
    starts = [s * size for s in starts]
    for _ in range(data.draw(st.integers(0, 2))):
        i, j = data.draw(st.integers(0, 3 * n - 1)), data.draw(st.integers(0, 3 * n - 1))
        starts[i] = max(0, starts[j] + data.draw(st.integers(-size, size)))
    views = [buffer[s:s + size] for s in starts]
    params, grads, bufs = views[:n], views[n:2 * n], views[2 * n:]
    written = [(s, "w") for s in starts[:n]] + [(s, "r") for s in starts[n:2 * n]] + \
              [(s, "w") for s in starts[2 * n:]]
    conflict = any(abs(a - b) < size and "w" in (ka, kb)
                   for i, (a, ka) in enumerate(written) for b, kb in written[i + 1:])
    if conflict:
        with pytest.raises(ValueError, match=r"overlap in memory"):
            pywd.sgd(params, grads, bufs, lr=0.0, momentum=0.5)
    else:
        pywd.sgd(params, grads, bufs, lr=0.0, momentum=0.5)


def test_c_and_f_order_are_not_mixed():
    w = np.ones((3, 4), order="C")
    g = np.ones((3, 4), order="F")
    with pytest.raises(ValueError, match=r"grads: memory order \(F\) differs from params \(C\)"):
        pywd.sgd(w, g, lr=0.1)
    pywd.sgd(np.asfortranarray(w), g, lr=0.1)     # both F: fine


def test_single_array_errors_name_the_argument_without_index():
    with pytest.raises(TypeError, match=r"^params: expected float32, float64, bfloat16 or float16, got int32"):
        pywd.sgd(np.ones(3, np.int32), np.ones(3, np.int32), lr=0.1)
    with pytest.raises(TypeError, match=r"params must be a numpy.ndarray or a list"):
        pywd.sgd(3.0, 1.0, lr=0.1)


def test_read_only_grads_are_fine():
    w, g = np.ones(3), read_only(np.ones(3))
    pywd.sgd(w, g, lr=0.5)
    np.testing.assert_array_equal(w, 0.5)


def test_zero_size_arrays_never_overlap():
    base = np.zeros(4)
    pywd.sgd([base[:0], base[:4]], [base[:0], np.ones(4)], lr=0.25)
    np.testing.assert_array_equal(base, -0.25)


GOOD = dict(lr=0.1, momentum=0.9, dampening=0.0, weight_decay=0.01)
HYPER_CASES = [
    ("lr-negative", dict(lr=-0.1), ValueError, r"lr must be a finite number >= 0, got -0.1"),
    ("lr-nan", dict(lr=float("nan")), ValueError, r"lr must be a finite number >= 0, got nan"),
    ("lr-inf", dict(lr=float("inf")), ValueError, r"lr must be a finite number >= 0, got inf"),
    ("lr-str", dict(lr="0.1"), TypeError, r"lr must be a real number, got str"),
    ("lr-none", dict(lr=None), TypeError, r"lr must be a real number, got NoneType"),
    ("lr-complex", dict(lr=1j), TypeError, r"lr must be a real number, got complex"),
    ("momentum-negative", dict(momentum=-0.5), ValueError, r"momentum must be a finite number >= 0"),
    ("dampening-above-1", dict(dampening=1.5), ValueError,
     r"dampening must be a finite number in \[0, 1\], got 1.5"),
    ("wd-negative", dict(weight_decay=-1e-4), ValueError, r"weight_decay must be a finite number >= 0"),
    ("wd-nan", dict(weight_decay=float("nan")), ValueError, r"weight_decay must be a finite"),
    ("nesterov-without-momentum", dict(nesterov=True, momentum=0.0), ValueError,
     r"nesterov=True needs momentum > 0 and dampening == 0"),
    ("nesterov-with-dampening", dict(nesterov=True, dampening=0.1), ValueError,
     r"nesterov=True needs momentum > 0 and dampening == 0"),
    ("nesterov-not-bool", dict(nesterov="yes"), TypeError, r"nesterov must be a bool, got str"),
    ("maximize-int", dict(maximize=1), TypeError, r"maximize must be a bool, got int"),
    ("first-step-none", dict(first_step=None), TypeError, r"first_step must be a bool"),
    ("decay-unknown", dict(decay="L2"), ValueError,
     r"decay must be one of \('l2', 'decoupled', 'independent', 'corrected', 'l1'\), got 'L2'"),
    ("decay-not-str", dict(decay=2), TypeError, r"decay must be a str"),
    ("decoupled-factor-negative", dict(lr=2.0, weight_decay=0.6, decay="decoupled"), ValueError,
     r"1 - lr\*weight_decay, which must be >= 0"),
    ("independent-factor-negative", dict(weight_decay=1.5, decay="independent"), ValueError,
     r"1 - weight_decay\*lr/max_lr, which must be >= 0; got weight_decay=1.5, lr/max_lr=1.0"),
    ("independent-factor-negative-by-max-lr", dict(weight_decay=0.6, decay="independent",
                                                   max_lr=0.05), ValueError,
     r"1 - weight_decay\*lr/max_lr, which must be >= 0; got weight_decay=0.6, lr/max_lr=2.0"),
    ("corrected-factor-negative", dict(lr=2.0, weight_decay=0.3, decay="corrected",
                                       max_lr=1.0), ValueError,
     r"1 - weight_decay\*lr\*\*2/max_lr, which must be >= 0"),
    ("max-lr-zero", dict(max_lr=0.0), ValueError,
     r"max_lr must be a finite number > 0 or None \(= lr\), got 0.0"),
    ("max-lr-negative", dict(max_lr=-1.0), ValueError,
     r"max_lr must be a finite number > 0 or None \(= lr\), got -1.0"),
    ("max-lr-nan", dict(max_lr=float("nan")), ValueError, r"max_lr must be a finite number"),
    ("max-lr-str", dict(max_lr="0.1"), TypeError, r"max_lr must be a real number, got str"),
    ("cautious-not-bool", dict(cautious_decay=1, decay="decoupled"), TypeError,
     r"cautious_decay must be a bool, got int"),
    ("cautious-with-l2", dict(cautious_decay=True, decay="l2"), ValueError,
     r"cautious_decay=True needs a multiplicative decay \('decoupled', 'independent' or "
     r"'corrected'\): decay='l2' has no decay step to withhold"),
    ("cautious-with-l1", dict(cautious_decay=True, decay="l1"), ValueError,
     r"cautious_decay=True needs a multiplicative decay"),
]


@pytest.mark.parametrize("override, error, pattern",
                         [c[1:] for c in HYPER_CASES], ids=[c[0] for c in HYPER_CASES])
def test_bad_hyper_parameter_is_refused_and_nothing_changes(override, error, pattern):
    params, grads, bufs = model()
    before = snapshot(params) + snapshot(grads) + snapshot(bufs)
    with pytest.raises(error, match=pattern):
        pywd.sgd(params, grads, bufs, **{**GOOD, **override})
    assert snapshot(params) + snapshot(grads) + snapshot(bufs) == before


def test_missing_momentum_buffers_is_refused():
    params, grads, _ = model()
    before = snapshot(params)
    with pytest.raises(ValueError, match=r"momentum_buffers are required when momentum > 0"):
        pywd.sgd(params, grads, lr=0.1, momentum=0.9)
    assert snapshot(params) == before


def test_numpy_scalars_and_bools_are_accepted():
    w, g, b = np.ones(3), np.ones(3), np.zeros(3)
    pywd.sgd(w, g, b, lr=np.float32(0.5), momentum=np.float64(0.5), nesterov=np.bool_(True),
             weight_decay=0, first_step=True)
    np.testing.assert_allclose(w, 1 - 0.5 * 1.5)


DECAY_CASES = [
    ("not-array", [[1.0, 2.0]], TypeError, r"params\[0\]: expected a numpy.ndarray"),
    ("int", np.ones(3, np.int8), TypeError, r"params: expected float32, float64, bfloat16 or float16, got int8"),
    ("read-only", read_only(np.ones(3)), ValueError, r"params: is read-only"),
    ("strided", np.ones((4, 4))[:, 1], ValueError, r"params: must be C- or F-contiguous"),
]


@pytest.mark.parametrize("params, error, pattern",
                         [c[1:] for c in DECAY_CASES], ids=[c[0] for c in DECAY_CASES])
def test_decay_refuses_bad_arrays(params, error, pattern):
    with pytest.raises(error, match=pattern):
        pywd.decay(params, lr=0.1, weight_decay=0.1)


def test_decay_refuses_bad_hyper_parameters_and_changes_nothing():
    params, _, _ = model()
    params[-1] = params[0]      # also a duplicate: scalars are checked first
    before = snapshot(params)
    for kwargs, error in [(dict(lr=-1.0, weight_decay=0.1), ValueError),
                          (dict(lr=0.1, weight_decay=0.1, decay="l3"), ValueError),
                          (dict(lr=0.1, weight_decay=2.0, decay="independent"), ValueError),
                          (dict(lr=0.1, weight_decay="x"), TypeError)]:
        with pytest.raises(error):
            pywd.decay(params, **kwargs)
    with pytest.raises(ValueError, match=r"params\[0\] and params\[99\] overlap"):
        pywd.decay(params, lr=0.1, weight_decay=0.1)
    assert snapshot(params) == before


def test_errors_say_how_to_fix_a_dtype_or_memory_order_mismatch():
    """A float64 gradient for float32 weights, a float64 buffer, a
    gradient in the other memory order."""
    w = np.ones(3, np.float32)
    with pytest.raises(TypeError, match=r"grads\[0\]: expected float32 like params\[0\], got "
                                        r"float64 \(convert it as you pass it: "
                                        r"g.astype\(np.float32\)\)"):
        pywd.sgd([w], [np.ones(3)], lr=0.1)
    with pytest.raises(TypeError, match=r"momentum_buffers: .* \(make it float32 where it is "
                                        r"created: pywd updates it in place\)"):
        pywd.sgd(w, np.ones(3, np.float32), np.zeros(3), lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match=r"grads: memory order \(F\) differs from params \(C\);"
                                         r" .*np.ascontiguousarray\(g\)"):
        pywd.sgd(np.ones((3, 2)), np.asfortranarray(np.ones((3, 2))), lr=0.1)
    assert (w == 1).all()
