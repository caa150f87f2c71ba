"""16-bit storage: bfloat16 and float16 params, grads and state in the float32 kernels.

The claim (csrc/lowp.h): a call computes exactly as the float32 kernel does on float32 copies
of its arrays and rounds each written 16-bit value once, to nearest (as astype) or
stochastically with the Philox bits of reference.rounding_bits. So every test here compares
bit for bit: kernel against reference.lowp_step wrapped around the float32 kernel, and
reference.round_to_16bit (written in float64 arithmetic on the value) against the kernel's
integer rounding on every kind of float32 value.
"""
from functools import partial

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pywd
from pywd import reference

from helpers import (DECAY_MODES, VALID_CALLS, call_update, isa_units, make_array, snapshot,
                     table_states)

ml_dtypes = pytest.importorskip("ml_dtypes")
BF16, F16 = np.dtype(ml_dtypes.bfloat16), np.dtype(np.float16)
STORAGE = (np.dtype(np.float32), BF16, F16)
HALF_SLOTS = {"params": 0, "grads": 1}


def bits(a):
    return np.ascontiguousarray(a).view(np.uint16 if a.itemsize == 2 else np.uint32)


def assert_same_bytes(actual, expected, what=""):
    assert actual.dtype == expected.dtype, what
    np.testing.assert_array_equal(bits(actual), bits(expected), err_msg=what)


# --------------------------------------------------------------------- the rounding itself
def kernel_round(x, dtype, rounding="stochastic", seed=0, step=1):
    """x (float32) stored into a `dtype` array by a kernel: SGD's first momentum step sets
    the buffer to the gradient, which is x, so the buffer holds x rounded once (slot 2)."""
    buf = np.zeros(x.shape, dtype)
    pywd.sgd(np.zeros(x.shape, np.float32), x, buf, lr=0.0, momentum=0.5, first_step=True,
             step=step, rounding=rounding, rng=seed)
    return buf


def every_kind_of_float32(rng, n=200_000):
    """Random bit patterns over every exponent (subnormals, NaNs with any payload, inf), plus
    the edges: zeros, the largest finite values and the values either side of 16-bit
    overflow, the smallest normals and subnormals of each format."""
    x = rng.integers(0, 2**32, size=n, dtype=np.uint64).astype(np.uint32).view(np.float32)
    edges = np.array([0.0, -0.0, np.inf, -np.inf, 3.4028235e38, 65504.0, 65519.99, 65520.0,
                      65536.0, 2.0 ** -14, 2.0 ** -24, 2.0 ** -25, 1.5 * 2.0 ** -25,
                      2.0 ** -126, 2.0 ** -133, 2.0 ** -149, 1.0, 1.0 + 2.0 ** -9],
                     np.float32)
    payloads = np.array([0x7F800001, 0xFF800001, 0x7FC00000, 0x7F80FFFF], np.uint32)
    return np.concatenate([x, edges, -edges, payloads.view(np.float32)])


@pytest.mark.parametrize("dtype", [BF16, F16], ids=["bfloat16", "float16"])
def test_nearest_is_astype(dtype):
    """Round to nearest, ties to even, is NumPy's (float16) and ml_dtypes' (bfloat16) astype,
    for every kind of float32 value: overflow to inf, subnormals, signed zeros, NaN."""
    x = every_kind_of_float32(np.random.default_rng(1))
    with np.errstate(over="ignore", invalid="ignore"):
        got, want = kernel_round(x, dtype, "nearest"), x.astype(dtype)
    nan = np.isnan(x)
    assert np.isnan(got[nan].astype(np.float32)).all()
    assert_same_bytes(got[~nan], want[~nan])


@pytest.mark.parametrize("dtype", [BF16, F16], ids=["bfloat16", "float16"])
def test_stochastic_rounding_equals_the_float64_twin(dtype):
    x = every_kind_of_float32(np.random.default_rng(2))
    got = kernel_round(x, dtype, seed=11, step=5)
    noise = reference.rounding_bits(11, 5, 0, 2, x.size)
    want = reference.round_to_16bit(x, dtype, "stochastic", noise)
    nan = np.isnan(x)
    assert np.isnan(got[nan].astype(np.float32)).all()      # a low-payload NaN is no inf
    assert_same_bytes(got[~nan], want[~nan])


@pytest.mark.parametrize("dtype", [BF16, F16], ids=["bfloat16", "float16"])
def test_special_values_stay(dtype):
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan], np.float32)
    x = np.concatenate([x, np.array([0x7F800001, 0xFFC00001], np.uint32).view(np.float32)])
    for seed in range(20):
        got = kernel_round(np.repeat(x, 64), dtype, seed=seed).astype(np.float32)
        got = got.reshape(len(x), 64)
        assert (bits(got[0]) == 0).all() and (bits(got[1]) == 0x80000000).all()
        assert (got[2] == np.inf).all() and (got[3] == -np.inf).all()
        assert np.isnan(got[4:]).all()
        assert (np.signbit(got[-1])).all()


def test_overflow_goes_to_inf_as_the_next_binade_is_reached():
    """Beyond the largest finite value, a value rounds up to inf with the probability of the
    fraction of the gap it covers, as stochastic rounding does everywhere; far beyond, always."""
    for dtype, top in ((BF16, float(ml_dtypes.finfo(ml_dtypes.bfloat16).max)), (F16, 65504.0)):
        spacing = top - float(np.nextafter(np.array(top, np.float32).astype(dtype),
                                           np.array(0, dtype)))
        x = np.full(100_000, top + spacing / 4, np.float32)
        got = kernel_round(x, dtype, seed=3).astype(np.float32)
        assert set(np.unique(got)) == {np.float32(top), np.float32(np.inf)}
        assert abs(np.mean(np.isinf(got)) - 0.25) < 5 * np.sqrt(0.25 * 0.75 / x.size)
    far = kernel_round(np.full(64, 1e6, np.float32), F16, seed=3).astype(np.float32)
    assert (far == np.inf).all()


@pytest.mark.parametrize("dtype", [BF16, F16], ids=["bfloat16", "float16"])
def test_stochastic_rounding_is_unbiased(dtype):
    """For values between two neighbours of the format, over every exponent, both signs and
    the subnormals: the mean of 10^5 roundings lies within 5 sigma of the value, and the
    share rounded up is the fraction of the gap."""
    rng = np.random.default_rng(4)
    digits, tiny, _ = reference.LOWP_FORMATS[dtype.name]
    top = 121 if dtype == BF16 else 6          # log2 of the largest spacing, plus one
    exponents = list(range(tiny, tiny + 4)) + list(rng.integers(tiny + 4, top, size=8))
    n = 100_000
    for e in exponents:
        for sign in (1.0, -1.0):
            gap = 2.0 ** int(e)             # the spacing of [2**(e + digits - 1), 2**(e + digits))
            lo = gap * 2 ** (digits - 1) if e > tiny else gap * rng.integers(0, 2**8)
            frac = rng.integers(1, 2**13) / 2**13           # exact in float32 at any exponent
            value = np.float32(sign * (lo + frac * gap))
            got = kernel_round(np.full(n, value, np.float32), dtype, seed=int(e) + 200,
                               step=7).astype(np.float64)
            assert set(np.unique(np.abs(got))) <= {lo, lo + gap}
            up = np.mean(np.abs(got) == lo + gap)
            sigma = np.sqrt(frac * (1 - frac) / n)
            assert abs(up - frac) < 5 * sigma, (e, sign, frac, up)
            assert abs(got.mean() - float(value)) < 5 * sigma * gap, (e, sign)


@pytest.mark.parametrize("dtype", [BF16, F16], ids=["bfloat16", "float16"])
def test_stored_values_are_exact_16_bit_values(dtype):
    """What a kernel stores is a value of the format: widened to float32 and narrowed again
    it is unchanged (for bfloat16: the low 16 bits of its float32 widening are zero)."""
    x = every_kind_of_float32(np.random.default_rng(5))
    x = x[np.isfinite(x)]
    for rounding in ("stochastic", "nearest"):
        stored = kernel_round(x, dtype, rounding, seed=8)
        wide = stored.astype(np.float32)
        if dtype == BF16:
            assert (wide.view(np.uint32) & 0xFFFF == 0).all()
        with np.errstate(over="ignore"):
            assert_same_bytes(wide.astype(dtype), stored)


@pytest.mark.parametrize("seed, step, tensor, slot, start, n", [
    (1, 1, 0, 0, 0, 5000), (7, 2**40 + 3, 2**24 - 1, 4, 12345, 4097),
    (2**64 - 1, 9, 3, 2, 2**33 - 1001, 3000),      # a run of pairs across j = 2^32: two keys
    (5, 6, 7, 3, 2**40 + 1, 777)])
def test_the_kernels_bits_are_the_twins(seed, step, tensor, slot, start, n):
    """The C bits (csrc/lowp.h, drawn as the kernels draw them) equal the NumPy twin's bit for
    bit, also where element pairs pass 2^32 and the key changes."""
    got = pywd._kernels._rounding_bits(seed, step, tensor, slot, start, n)
    assert_same_bytes(got, reference.rounding_bits(seed, step, tensor, slot, n, start))


def test_the_twins_bits_follow_their_definition():
    """reference.rounding_bits against rounding_key and rounding_word written out for a few
    elements in plain Python integers (the hash as its equations say)."""
    seed, step, tensor, slot = 3, 2**33 + 5, 9, 2
    bits = reference.rounding_bits(seed, step, tensor, slot, 10, start=2**33 + 4)
    for i, e in enumerate(range(2**33 + 4, 2**33 + 14)):
        j = e // 2
        words = reference.philox4x32((step >> 32, 2**31 | (j >> 32), tensor | slot << 24,
                                      step % 2**32), (seed % 2**32, seed >> 32))
        x = ((j % 2**32) ^ words[0]) * (words[1] | 1) % 2**32
        for shift, mult in ((16, 0x21F0AAAD), (15, 0x735A2D97)):
            x = (x ^ (x >> shift)) * mult % 2**32
        x ^= x >> 15
        assert bits[i] == (x >> 16 if e % 2 else x & 0xFFFF), e


def test_the_bits_change_with_step_seed_tensor_and_argument():
    """New bits every step (else rounding errors would add up in one direction), and apart
    for each seed, tensor and argument."""
    base = reference.rounding_bits(1, 1, 0, 0, 4096)
    for args in [(2, 1, 0, 0), (1, 2, 0, 0), (1, 1, 1, 0), (1, 1, 0, 2), (1, 2**32 + 1, 0, 0)]:
        other = reference.rounding_bits(*args, 4096)
        assert np.mean(other == base) < 0.01, args


# ------------------------------------------------------------ every update, against twins
def row(fn, optional, options, has_step):
    """A row of UPDATES from the table of optimisers: (call, {state: (C slot, non-negative)},
    options, whether the function has a step of its own)."""
    return (partial(call_update, fn), table_states(fn, optional), options, has_step)


# name: (call, state arrays with their C slots and whether non-negative, fixed options,
# whether the function has a step of its own)
UPDATES = {
    "sgd": row("sgd", ("momentum_buffers",), dict(lr=0.05, momentum=0.9, nesterov=True),
               False),
    "sgd-plain": row("sgd", (), dict(lr=0.05), False),
    "adam": row("adam", (), dict(lr=0.01), True),
    "amsgrad": row("adam", ("max_exp_avg_sqs",), dict(lr=0.01, amsgrad=True), True),
    "rmsprop": row("rmsprop", ("momentum_buffers", "grad_avgs"),
                   dict(lr=0.01, momentum=0.9, centered=True), False),
    "adagrad": row("adagrad", (), dict(lr=0.05), True),
    "lion": row("lion", (), dict(lr=0.001), False),
    "adamax": row("adamax", (), dict(lr=0.01), True),
    "radam": row("radam", (), dict(lr=0.01), True),
    "adadelta": row("adadelta", (), dict(lr=1.0), False),
    "nadam": row("nadam", (), dict(lr=0.01), True),
    "rprop": row("rprop", (), dict(lr=0.01), False),
    "asgd": row("asgd", (), dict(lr=0.05, t0=1.0), True),
    "lamb": row("lamb", (), dict(lr=0.01), True),
    "lars": row("lars", ("momentum_buffers",), dict(lr=0.5, momentum=0.9, nesterov=True),
                False),
    "adamw_schedulefree": row("adamw_schedulefree", (), dict(lr=0.01, average_weight=0.3),
                              True),
    "sgd_schedulefree": row("sgd_schedulefree", (), dict(lr=0.5, average_weight=0.7), False),
    "decay": row("decay", (), dict(lr=0.1), False),
}
# the other updates as their valid call (helpers.VALID_CALLS; sgdw and adamw are sgd's and
# adam's kernels, Muon's 16-bit storage is test_muon.py's)
UPDATES.update({name: row(name, optional, {k: v for k, v in options.items() if k != "step"},
                          "step" in options)
                for name, (optional, options) in VALID_CALLS.items()
                if name not in UPDATES and name not in ("sgdw", "adamw", "muon")})


def make_arrays(rng, name, shapes_orders, dtypes):
    """The named arrays of an update, lists over tensors, with the given storage dtypes."""
    _, states, _, _ = UPDATES[name]
    names = ["params"] + ([] if name == "decay" else ["grads"]) + list(states)
    arrays = {}
    for arg in names:
        nonneg = states.get(arg, (0, False))[1]
        arrays[arg] = []
        for shape, order in shapes_orders:
            a = make_array(rng, shape, np.float32, order)
            arrays[arg].append((np.abs(a) * 0.1 if nonneg else a).astype(dtypes[arg],
                                                                         order="K"))
    return arrays


def run_both(name, arrays, decay, anchors=None, rounding="stochastic", seed=5, step=3,
             threads=None, **extra):
    """The kernel on the arrays, and the twin: lowp_step around the float32 kernel. Returns
    both dicts."""
    call, states, options, has_step = UPDATES[name]
    kw = dict(options, weight_decay=0.02 if decay != "l1" else 1e-3, decay=decay,
              rounding=rounding, rng=seed, step=step, **extra)
    if anchors is not None:
        kw["decay_to"] = anchors
    twin = {k: [a.copy(order="K") for a in v] for k, v in arrays.items()}
    slots = dict(HALF_SLOTS, **{k: s for k, (s, _) in states.items()})
    written = ["params"] + list(states)
    wide_anchors = None if anchors is None else [a.astype(np.float32) for a in anchors]
    reference.lowp_step(lambda wide: call(wide, **dict(kw, decay_to=wide_anchors)
                                          if anchors is not None else kw),
                        twin, written, seed=seed, step=step, rounding=rounding, slots=slots)
    if threads is None:
        call(arrays, **kw)
    else:
        saved = pywd.get_num_threads()
        pywd.set_num_threads(threads)
        try:
            call(arrays, **kw)
        finally:
            pywd.set_num_threads(saved)
    return arrays, twin


dtype_choice = st.sampled_from(STORAGE)


@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(sorted(UPDATES)), decay=st.sampled_from(DECAY_MODES),
       data=st.data(), rounding=st.sampled_from(["stochastic", "nearest"]),
       anchored=st.booleans(), seed=st.integers(0, 2**64 - 1), step=st.integers(1, 2**40))
def test_kernel_equals_the_twin_bit_for_bit(name, decay, data, rounding, anchored, seed, step):
    """Any storage dtype per argument (params, grads, each state array, anchors), lists of
    odd shapes in C and F order, every decay mode: the kernel's bytes are the twin's."""
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    n = data.draw(st.integers(1, 4))
    shapes_orders = [(data.draw(st.sampled_from([(1,), (7,), (33,), (5, 9), (600,), (2, 3, 5)])),
                      data.draw(st.sampled_from("CF"))) for _ in range(n)]
    _, states, _, _ = UPDATES[name]
    dtypes = {arg: data.draw(dtype_choice) for arg in ["params", "grads", *states]}
    if all(dtypes[a] == np.float32 for a in ["params", *states]):
        dtypes["params"] = data.draw(st.sampled_from([BF16, F16]))
    arrays = make_arrays(rng, name, shapes_orders, dtypes)
    anchors = None
    if anchored:
        anchor_dtype = data.draw(dtype_choice)
        anchors = [np.asarray(make_array(rng, s, np.float32), anchor_dtype, order=o)
                   for s, o in shapes_orders]
    got, want = run_both(name, arrays, decay, anchors, rounding, seed, step)
    for arg in got:
        for i, (a, b) in enumerate(zip(got[arg], want[arg])):
            assert_same_bytes(a, b, f"{arg}[{i}]")


@pytest.mark.parametrize("name", sorted(UPDATES))
def test_the_twin_agrees_with_the_numpy_equations(name):
    """The twin around pywd.reference's equations (not the kernel) lands on the same 16-bit
    values but where a float32 ulp of difference crosses a rounding boundary: within one
    16-bit spacing everywhere, equal almost everywhere."""
    rng = np.random.default_rng(9)
    arrays = make_arrays(rng, name, [((4000,), "C")],
                         {k: BF16 for k in ["params", "grads", *UPDATES[name][1]]})
    got, _ = run_both(name, {k: [a.copy() for a in v] for k, v in arrays.items()},
                      "decoupled")
    twin_fn = getattr(reference, UPDATES[name][0].args[0])      # the row's function
    _, states, options, has_step = UPDATES[name]
    kw = dict(options, weight_decay=0.02, decay="decoupled")
    slots = dict(HALF_SLOTS, **{k: s for k, (s, _) in states.items()})

    def by_equations(wide):
        twin_fn(**wide, **kw, **(dict(step=3) if has_step else {}))

    twin = {k: [a.copy(order="K") for a in v] for k, v in arrays.items()}
    reference.lowp_step(by_equations, twin, ["params", *states], seed=5, step=3,
                        slots=slots)
    for arg in ["params", *states]:
        a = got[arg][0].astype(np.float64)
        b = twin[arg][0].astype(np.float64)
        nan = np.isnan(a)         # centered RMSprop of made-up state: sqrt of negatives
        np.testing.assert_array_equal(nan, np.isnan(b))
        a, b = a[~nan], b[~nan]
        spacing = np.abs(a) * 2.0 ** -7 + 2.0 ** -133
        assert (np.abs(a - b) <= spacing).all(), arg
        assert np.mean(a == b) > 0.99, arg


def test_the_thread_count_does_not_change_the_bytes():
    shapes = [((300_000,), "C"), ((257, 31), "F"), ((9,), "C")]
    dtypes = {"params": BF16, "grads": BF16, "exp_avgs": BF16, "exp_avg_sqs": F16}
    results = []
    for threads in (1, 2, 3):
        arrays = make_arrays(np.random.default_rng(3), "adam", shapes, dtypes)
        got, want = run_both("adam", arrays, "decoupled", threads=threads)
        results.append(got)
        for arg in got:
            for a, b in zip(got[arg], want[arg]):
                assert_same_bytes(a, b)
    for other in results[1:]:
        for arg in other:
            for a, b in zip(other[arg], results[0][arg]):
                assert_same_bytes(a, b)


def test_every_unit_gives_the_same_bytes(tmp_path):
    """Every ISA unit the CPU runs (PYWD_ISA=baseline, avx2, avx512; the wider ones convert
    float16 with F16C) in fresh processes: an AdamW run, and every kind of float32 value
    rounded to both formats both ways and widened back."""
    import subprocess
    import sys
    script = (
        "import numpy as np, pywd, ml_dtypes, sys\n"
        "r = np.random.default_rng(0)\n"
        "bf = ml_dtypes.bfloat16\n"
        "w = r.standard_normal(100_003).astype(bf); g = r.standard_normal(100_003).astype(bf)\n"
        "m = np.zeros(100_003, bf); v = np.zeros(100_003, np.float16)\n"
        "for s in range(1, 4): pywd.adamw(w, g, m, v, step=s, lr=1e-3, rng=1)\n"
        "x = r.integers(0, 2**32, 300_007, dtype=np.uint64).astype(np.uint32).view(np.float32)\n"
        "outs = []\n"
        "for dt in (bf, np.float16):\n"
        "    for rd in ('stochastic', 'nearest'):\n"
        "        buf = np.zeros(x.size, dt)\n"
        "        pywd.sgd(np.zeros(x.size, np.float32), x, buf, lr=0.0, momentum=0.5,\n"
        "                 first_step=True, step=3, rounding=rd, rng=4)\n"
        "        outs.append(buf.tobytes())\n"
        "        wide = np.zeros(x.size, np.float32)\n"
        "        pywd.sgd(np.zeros(x.size, np.float32), buf, wide, lr=0.0, momentum=0.5,\n"
        "                 first_step=True)\n"
        "        outs.append(wide.tobytes())\n"
        "sys.stdout.write(pywd._kernels._isa() + ' ' + str(hash(w.tobytes() + m.tobytes() "
        "+ v.tobytes() + b''.join(outs))))\n")
    outputs = {}
    units = isa_units()
    if len(units) == 1:
        pytest.skip("this CPU runs the baseline unit only")
    # the AVX-512 unit twice where the CPU has AVX512-BF16: with its instruction and without
    runs = [(isa, "0") for isa in units] + [("avx512", "1")] * ("avx512" in units)
    for isa, no_bf16 in runs:
        env = dict(__import__("os").environ, PYWD_ISA=isa, PYTHONHASHSEED="0",
                   PYWD_NO_AVX512_BF16=no_bf16)
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                             env=env, check=True).stdout.split()
        outputs[out[0], no_bf16] = out[1]
    assert len(outputs) == len(runs) and len(set(outputs.values())) == 1, outputs


# ------------------------------------------------------------------------- refusals
def test_bad_input_is_refused_before_anything_changes():
    w = np.ones(8, BF16)
    g = np.ones(8, np.float32)
    before = snapshot([w])
    with pytest.raises(ValueError, match=r"stochastic rounding of 16-bit arrays needs step="):
        pywd.sgd(w, g, lr=0.1)
    with pytest.raises(ValueError, match=r"rounding must be one of \('stochastic', 'nearest'\)"):
        pywd.sgd(w, g, lr=0.1, step=1, rounding="up")
    with pytest.raises(TypeError, match=r"rng must be an int seed, a pywd.Generator or None"):
        pywd.sgd(w, g, lr=0.1, step=1, rng=True)
    with pytest.raises(TypeError, match=r"params: expected float32, float64, bfloat16 or "
                                        r"float16, got uint16"):
        pywd.sgd(w.view(np.uint16), g, lr=0.1, step=1)           # bf16 bits posing as uint16
    with pytest.raises(TypeError, match=r"grads: expected float64 like params, got bfloat16"):
        pywd.sgd(np.ones(8), g.astype(BF16), lr=0.1)            # float64 stays float64
    with pytest.raises(TypeError, match=r"grads\[1\]: expected bfloat16 like grads\[0\], got "
                                        r"float32 \(one dtype per argument"):
        pywd.sgd([w, w.copy()], [g.astype(BF16), g], lr=0.1, step=1)
    with pytest.raises(TypeError, match=r"tensor: expected float32 or float64, got bfloat16"):
        pywd.init.normal_(w)
    assert snapshot([w]) == before
    # a float32 call ignores rounding= but still checks it
    with pytest.raises(ValueError, match=r"rounding must be one of"):
        pywd.sgd(np.ones(8, np.float32), g, lr=0.1, rounding=1)


def test_nothing_written_in_16_bits_needs_no_step():
    """float32 params with bfloat16 gradients: nothing is rounded, no bits are drawn."""
    w = np.ones(8, np.float32)
    pywd.sgd(w, np.full(8, 0.5, BF16), lr=0.5)
    assert (w == 0.75).all()


@pytest.mark.parametrize("dtype", [BF16, F16], ids=["bfloat16", "float16"])
def test_gradient_options_see_16_bit_gradients(dtype):
    """nonfinite= and max_grad_norm= read 16-bit gradients as their float32 values."""
    w = np.ones(4, np.float32)
    g = np.array([3.0, 4.0, 0.0, 0.0], dtype)
    result = pywd.sgd(w, g, lr=1.0, max_grad_norm=1.0)
    assert result.grad_norm == 5.0
    np.testing.assert_allclose(w, [1 - 0.6, 1 - 0.8, 1, 1], rtol=1e-6)
    g[2] = np.inf
    assert not pywd.sgd(w, g, lr=1.0, nonfinite="skip")
    with pytest.raises(FloatingPointError, match=r"grads has a non-finite value"):
        pywd.sgd(w, g, lr=1.0, nonfinite="raise")


# ------------------------------------------------------------- drift: what SR is for
def test_small_updates_accumulate_with_stochastic_rounding_and_vanish_to_nearest():
    """w = 1 plus 1e-4 per step for 10^4 steps reaches 2 with stochastic rounding; to
    nearest, 1 + 1e-4 rounds back to 1 (bfloat16's spacing there is 2^-7) and w stays 1."""
    stochastic = np.ones(1000, BF16)
    nearest = np.ones(1000, BF16)
    g = np.full(1000, -1e-4, np.float32)
    for step in range(1, 10_001):
        pywd.sgd(stochastic, g, lr=1.0, step=step, rng=0)
        pywd.sgd(nearest, g, lr=1.0, rounding="nearest")
    assert (nearest.astype(np.float32) == 1).all()
    mean = stochastic.astype(np.float64).mean()
    assert abs(mean - 2.0) < 0.02, mean


def test_a_decaying_average_decays_with_stochastic_rounding_and_sticks_to_nearest():
    """v *= 0.999 for 2000 steps: 0.999**2000 = 0.135 with stochastic rounding; to nearest,
    0.999 * v rounds back to v (bfloat16 keeps 8 bits) and v never moves."""
    stochastic = np.ones(2000, BF16)
    nearest = np.ones(2000, BF16)
    for step in range(1, 2001):
        pywd.decay(stochastic, lr=1.0, weight_decay=1e-3, step=step, rng=1)
        pywd.decay(nearest, lr=1.0, weight_decay=1e-3, rounding="nearest")
    assert (nearest.astype(np.float32) == 1).all()
    mean = stochastic.astype(np.float64).mean()
    assert abs(mean - 0.999 ** 2000) < 0.01 * 0.999 ** 2000 + 0.005, mean


# ------------------------------------------------------------------- optimiser classes
def bf16_model(rng, dtype=BF16):
    return [make_array(rng, shape, np.float32, order).astype(dtype, order="K")
            for shape, order in [((40, 30), "C"), ((30,), "C"), ((7, 9), "F"), ((513,), "C")]]


def grads_like(params, rng, dtype=BF16):
    return [make_array(rng, p.shape, np.float32, "F" if p.flags.f_contiguous and
                       not p.flags.c_contiguous else "C").astype(dtype, order="K")
            for p in params]


@pytest.mark.parametrize("state_dtype", [None, "float32", "float16"])
def test_adamw_class_equals_its_function_calls(state_dtype):
    """The class's step is the function's with the step count as the rounding step and each
    parameter's index in the optimiser as its tensor index."""
    rng = np.random.default_rng(0)
    params = bf16_model(rng)
    ref = [p.copy(order="K") for p in params]
    dtype = BF16 if state_dtype is None else np.dtype(state_dtype)
    m = [np.zeros_like(p, dtype=dtype) for p in ref]        # (zeros_like keeps F order)
    v = [np.zeros_like(a) for a in m]
    opt = pywd.optim.AdamW(params, lr=1e-2, weight_decay=0.1, state_dtype=state_dtype, rng=42)
    for step in range(1, 6):
        grads = grads_like(params, rng)
        opt.step(grads)
        pywd.adamw(ref, grads, m, v, step=step, lr=1e-2, weight_decay=0.1, rng=42)
        for a, b in zip(params, ref):
            assert_same_bytes(a, b)
    assert opt.state[0]["exp_avg"].dtype == dtype
    assert opt.rounding_step == 5


@pytest.mark.parametrize("cls", [pywd.optim.SGD, pywd.optim.RMSprop, pywd.optim.Lion])
def test_classes_without_a_step_round_with_the_optimisers_step_count(cls):
    rng = np.random.default_rng(1)
    params = bf16_model(rng)
    ref = [p.copy(order="K") for p in params]
    kw = dict(lr=1e-3, weight_decay=0.01)
    if cls is pywd.optim.SGD:
        kw["momentum"] = 0.9
    opt = cls(params, rng=7, **kw)
    twin = cls(ref, rng=8, **kw)                      # another seed: other bytes
    for _ in range(3):
        grads = grads_like(params, rng)
        opt.step(grads)
        twin.step(grads)
    assert any(a.tobytes() != b.tobytes() for a, b in zip(params, ref))
    again = [p for p in bf16_model(np.random.default_rng(1))]
    same = cls(again, rng=7, **kw)
    rng = np.random.default_rng(1)
    bf16_model(rng)
    for _ in range(3):
        same.step(grads_like(again, rng))
    for a, b in zip(params, again):
        assert_same_bytes(a, b)


def test_grouping_does_not_change_the_bytes():
    """Tensor indices are the parameters' positions in the optimiser: one group, a group per
    parameter or groups sharing a kernel call, the random bits are the same."""
    results = []
    for layout in ("one", "each", "two"):
        rng = np.random.default_rng(2)
        params = bf16_model(rng)
        groups = {"one": [{"params": params}],
                  "each": [{"params": [p]} for p in params],
                  "two": [{"params": params[:1]}, {"params": params[1:], "lr": 1e-2}]}[layout]
        opt = pywd.optim.Adam(groups, lr=1e-2, rng=3)
        for _ in range(3):
            opt.step(grads_like(params, rng))
        results.append(params)
    for other in results[1:]:
        for a, b in zip(other, results[0]):
            assert_same_bytes(a, b)


def test_a_resumed_run_equals_an_uninterrupted_one(tmp_path):
    rng = np.random.default_rng(4)
    grads = [grads_like(bf16_model(np.random.default_rng(4)), rng) for _ in range(8)]
    whole = bf16_model(np.random.default_rng(4))
    opt = pywd.optim.SGD(whole, lr=0.1, momentum=0.9, rng=5, state_dtype="bfloat16")
    for g in grads:
        opt.step(g)
    first = bf16_model(np.random.default_rng(4))
    opt = pywd.optim.SGD(first, lr=0.1, momentum=0.9, rng=5, state_dtype="bfloat16")
    for g in grads[:4]:
        opt.step(g)
    np.savez(tmp_path / "opt.npz", **opt.state_dict())
    resumed = pywd.optim.SGD(first, lr=0.1, momentum=0.9, state_dtype="bfloat16")  # other seed
    resumed.load_state_dict(np.load(tmp_path / "opt.npz"))
    assert resumed.rounding_seed == 5 and resumed.rounding_step == 4
    assert resumed.state[0]["momentum_buffer"].dtype == BF16
    for g in grads[4:]:
        resumed.step(g)
    for a, b in zip(first, whole):
        assert_same_bytes(a, b)


def test_the_default_seed_follows_pywd_seed():
    pywd.seed(123)
    a = pywd.optim.AdamW([np.ones(3, BF16)]).rounding_seed
    b = pywd.optim.AdamW([np.ones(3, BF16)]).rounding_seed
    pywd.seed(123)
    assert pywd.optim.AdamW([np.ones(3, BF16)]).rounding_seed == a != b


def test_storage_options_are_checked_when_the_group_is_added():
    with pytest.raises(ValueError, match=r"state_dtype='bfloat16' is for float32 and 16-bit "
                                         r"params; params\[0\] is float64"):
        pywd.optim.Adam([np.ones(3)], state_dtype="bfloat16")
    with pytest.raises(ValueError, match=r"state_dtype must be None \(the params' dtype\) or "
                                         r"one of \('float32', 'bfloat16', 'float16', '8bit'\), "
                                         r"got "
                                         r"'int8'"):
        pywd.optim.Adam([np.ones(3, np.float32)], state_dtype="int8")
    with pytest.raises(ValueError, match=r"rounding must be one of"):
        pywd.optim.SGD([np.ones(3, BF16)], rounding="down")
    with pytest.raises(TypeError, match=r"rng must be an int seed"):
        pywd.optim.SGD([np.ones(3, BF16)], rng="seed")
    opt = pywd.optim.Adam([np.ones(3, np.float32)], state_dtype=np.float16)
    opt.step([np.ones(3, np.float32)])
    assert opt.state[0]["exp_avg"].dtype == np.float16
    state = opt.state_dict()
    state["state/0/exp_avg"] = state["state/0/exp_avg"].astype(np.float32)
    with pytest.raises(ValueError, match=r"state/0/exp_avg'\] is float32 \(3,\), but its "
                                         r"parameter's state is float16 \(3,\)"):
        opt.load_state_dict(state)


def test_decay_far_below_the_16_bit_spacing_shrinks_weights_as_float32_does():
    """Decoupled decay with lr*wd = 1e-5, 10^5 steps: float32 weights shrink by
    (1 - 1e-5)**1e5 = e^-1; bfloat16 weights with stochastic rounding follow them (to nearest,
    w*(1 - 1e-5) rounds back to w and nothing decays)."""
    f32 = np.ones(256, np.float32)
    stochastic = np.ones(256, BF16)
    nearest = np.ones(256, BF16)
    for step in range(1, 100_001):
        pywd.decay(f32, lr=1e-3, weight_decay=1e-2)
        pywd.decay(stochastic, lr=1e-3, weight_decay=1e-2, step=step, rng=2)
    pywd.decay(nearest, lr=1e-3, weight_decay=1e-2, rounding="nearest")
    assert (nearest.astype(np.float32) == 1).all()
    target = float(f32[0])
    assert abs(target - np.exp(-1)) < 1e-3
    mean = stochastic.astype(np.float64).mean()
    assert abs(mean - target) < 0.01 * target, (mean, target)


# ------------------------------------------------------------------ Kahan compensation
@settings(max_examples=30, deadline=None)
@given(name=st.sampled_from(sorted(UPDATES)), decay=st.sampled_from(DECAY_MODES),
       params_dtype=st.sampled_from([BF16, F16]), state_dtype=dtype_choice,
       seed=st.integers(0, 2**32 - 1), anchored=st.booleans())
def test_kahan_compensation_equals_the_twin_bit_for_bit(name, decay, params_dtype,
                                                         state_dtype, seed, anchored):
    """With or without decay_to anchors: an update's every array argument, its compensation
    and its anchors in one call (AMSGrad's 7)."""
    rng = np.random.default_rng(seed)
    _, states, _, _ = UPDATES[name]
    dtypes = dict({k: state_dtype for k in states}, params=params_dtype, grads=BF16)
    arrays = make_arrays(rng, name, [((300,), "C"), ((5, 7), "F")], dtypes)
    comp = [np.asarray(make_array(rng, p.shape, np.float32, "F" if p.ndim == 2 else "C")
                       * 1e-3).astype(params_dtype, order="K") for p in arrays["params"]]
    call, _, options, _ = UPDATES[name]
    kw = dict(options, weight_decay=0.02 if decay != "l1" else 1e-3, decay=decay, rng=3,
              step=2)
    anchors = ([np.asarray(p.astype(np.float32) + 0.5, params_dtype, order="K")
                for p in arrays["params"]] if anchored else None)
    twin = {k: [a.copy(order="K") for a in v] for k, v in arrays.items()}
    twin_comp = [c.copy(order="K") for c in comp]
    slots = dict(HALF_SLOTS, **{k: s for k, (s, _) in states.items()})
    twin_kw = dict(kw, decay_to=None if anchors is None else
                   [a.astype(np.float32) for a in anchors])
    reference.lowp_step(lambda wide: call(wide, **twin_kw), twin, ["params", *states],
                        seed=3, step=2, slots=slots, compensation=twin_comp)
    call(arrays, compensation=comp, decay_to=anchors, **kw)
    for arg in arrays:
        for a, b in zip(arrays[arg], twin[arg]):
            assert_same_bytes(a, b, arg)
    for a, b in zip(comp, twin_comp):
        assert_same_bytes(a, b, "compensation")


CLASSES_WITH_EVERY_STATE = [
    (pywd.optim.SGD, dict(momentum=0.9)), (pywd.optim.Adam, dict(amsgrad=True)),
    (pywd.optim.AdamW, dict(amsgrad=True)),
    (pywd.optim.RMSprop, dict(momentum=0.9, centered=True)), (pywd.optim.Adagrad, {}),
    (pywd.optim.Lion, {}), (pywd.optim.Adamax, {}), (pywd.optim.RAdam, {}),
    (pywd.optim.Adadelta, {}), (pywd.optim.NAdam, {}), (pywd.optim.Rprop, {}),
    (pywd.optim.ASGD, dict(t0=0)), (pywd.optim.Lamb, {}),
    (pywd.optim.LARS, dict(momentum=0.9)), (pywd.optim.AdamWScheduleFree, {}),
    (pywd.optim.SGDScheduleFree, {})]


@pytest.mark.parametrize("cls, options", CLASSES_WITH_EVERY_STATE)
def test_kahan_sum_and_decay_to_together_in_every_class(cls, options):
    """Every state array, a compensation and an anchor per parameter: AMSGrad's step has 7
    array arguments (this crashed when calls held at most 6)."""
    rng = np.random.default_rng(2)
    params = [rng.standard_normal(s).astype(BF16) for s in [(40,), (3, 5)]]
    twin = [p.copy() for p in params]
    opt = cls(params, lr=0.01, weight_decay=0.1, kahan_sum=True, decay_to="init", rng=4,
              **options)
    plain = cls(twin, lr=0.01, weight_decay=0.1, kahan_sum=True, rng=4, **options)
    for _ in range(3):
        grads = [rng.standard_normal(p.shape).astype(BF16) for p in params]
        assert opt.step(grads).applied and plain.step(grads).applied
    assert all(np.isfinite(p.astype(np.float32)).all() for p in params)
    assert {"compensation", "decay_to"} <= set(opt.state[0])
    # decay toward the initial weights differs from decay toward 0 (in the weights, or in
    # the compensation while the updates are below bfloat16's spacing: Adadelta's)
    changed = [p.tobytes() != t.tobytes() for p, t in zip(params, twin)]
    changed += [opt.state[i]["compensation"].tobytes()
                != plain.state[i]["compensation"].tobytes() for i in range(2)]
    assert any(changed)


def test_kahan_summation_keeps_small_updates_without_random_bits():
    """w = 1 plus 1e-4 per step for 10^4 steps: with a compensation buffer w reaches 2 (to
    nearest alone it stays 1). The buffer is bfloat16 too, so each step may lose half its
    spacing: |c| < 2^-8 here, so at most 2^-17 a step, 10^4 * 2^-17 = 0.08 in all; the same
    every run (no random bits)."""
    w, c = np.ones(64, BF16), np.zeros(64, BF16)
    f32 = np.ones(64, np.float32)
    g = np.full(64, -1e-4, np.float32)
    for _ in range(10_000):
        pywd.sgd(w, g, lr=1.0, compensation=c)
        pywd.sgd(f32, g, lr=1.0)
    total = w.astype(np.float64) + c.astype(np.float64)
    assert np.abs(total - f32).max() <= 10_000 * 2.0 ** -17
    assert np.abs(w.astype(np.float64) - f32).max() <= 10_000 * 2.0 ** -17 + 2.0 ** -8


def test_kahan_needs_16_bit_params_and_a_compensation_of_their_dtype():
    w, g = np.ones(4, np.float32), np.ones(4, np.float32)
    with pytest.raises(TypeError, match=r"compensation is for bfloat16 and float16 params; "
                                        r"params are float32"):
        pywd.sgd(w, g, lr=0.1, compensation=np.zeros(4, BF16))
    w16 = np.ones(4, BF16)
    before = snapshot([w16])
    with pytest.raises(TypeError, match=r"compensation must be bfloat16 like params, got "
                                        r"float16"):
        pywd.sgd(w16, g, lr=0.1, compensation=np.zeros(4, np.float16))
    with pytest.raises(ValueError, match=r"params and compensation overlap"):
        pywd.sgd(w16, g, lr=0.1, compensation=w16)
    assert snapshot([w16]) == before


def test_kahan_sum_in_a_class_keeps_a_compensation_per_parameter(tmp_path):
    rng = np.random.default_rng(6)
    params = bf16_model(rng)
    ref = [p.copy(order="K") for p in params]
    comp = [np.zeros_like(p) for p in ref]
    m = [np.zeros_like(p, dtype=np.float32) for p in ref]
    v = [np.zeros_like(p, dtype=np.float32) for p in ref]
    opt = pywd.optim.AdamW(params, lr=1e-3, kahan_sum=True, state_dtype="float32", rng=1)
    for step in range(1, 4):
        grads = grads_like(params, rng)
        opt.step(grads)
        pywd.adamw(ref, grads, m, v, step=step, lr=1e-3, compensation=comp, rng=1)
    for a, b, c in zip(params, ref, comp):
        assert_same_bytes(a, b)
    for i, c in enumerate(comp):
        assert_same_bytes(opt.state[i]["compensation"], c)
    np.savez(tmp_path / "opt.npz", **opt.state_dict())
    again = pywd.optim.AdamW([p.copy(order="K") for p in params], lr=1e-3, kahan_sum=True,
                             state_dtype="float32")
    again.load_state_dict(np.load(tmp_path / "opt.npz"))
    assert again.state[0]["compensation"].dtype == BF16
    with pytest.raises(ValueError, match=r"kahan_sum=True is for bfloat16 and float16 params; "
                                         r"params\[0\] is float32"):
        pywd.optim.SGD([np.ones(3, np.float32)], kahan_sum=True)
