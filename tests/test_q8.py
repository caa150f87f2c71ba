"""8-bit block-quantised optimiser state (csrc/q8.h, pywd.QuantizedState).

The claims: the maps are bitsandbytes' dynamic maps bit for bit; a value is stored as the
code of its nearest map value (bitsandbytes' exact bucketize form), with one float32 absmax
per block of 256; an optimiser step on 8-bit state decodes, runs the float32 kernel and
encodes each block with its new absmax, bit for bit as pywd.reference.q8_step around the
float32 twin, at any thread count and on every ISA unit. Bad input is refused before
anything is written.
"""
import copy
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pywd
from pywd import reference

from helpers import (DECAY_MODES, VALID_CALLS, assert_same_at_thread_counts, call_update,
                     isa_units, make_array, outputs_by_unit, snapshot, table_states)

BLOCK = reference.Q8_BLOCK


def midpoints(signed):
    table = reference.dynamic_map(signed)
    return ((table[:-1] + table[1:]) / np.float32(2)).astype(np.float32)


def hard_values(signed):
    """Every float32 within 3 ulps of each midpoint (where the code changes), both signs,
    and the edges: zeros, +-1, the smallest subnormal, in blocks whose absmax is exactly 1
    (so that the scale leaves them as they are)."""
    near = []
    for m in midpoints(signed):
        b = np.array([m], np.float32).view(np.int32)[0]
        near += list(range(b - 3, b + 4))
    near = np.array(near, np.int64).astype(np.uint32).view(np.float32)
    near = np.concatenate([near, -near, np.float32([0, -0.0, 1, -1, 1e-45, -1e-45])])
    blocks = -(-near.size // (BLOCK - 1))
    x = np.zeros(blocks * BLOCK, np.float32)
    for k in range(blocks):
        chunk = near[k * (BLOCK - 1):(k + 1) * (BLOCK - 1)]
        x[k * BLOCK:k * BLOCK + chunk.size] = chunk
        x[k * BLOCK + BLOCK - 1] = 1.0
    return x


def special_blocks(rng):
    """Blocks of zeros, one holding a NaN, one an infinity, one a subnormal largest value,
    and a short last block."""
    x = (rng.standard_normal(5 * BLOCK + 77) * 3).astype(np.float32)
    x[:BLOCK] = 0.0
    x[BLOCK + 5] = np.nan
    x[2 * BLOCK + 9] = -np.inf
    x[3 * BLOCK:4 * BLOCK] *= np.float32(1e-40)
    return x


def assert_same_state(state, codes, absmax, what=""):
    np.testing.assert_array_equal(np.asarray(state.codes), codes, err_msg=what)
    np.testing.assert_array_equal(state.absmax.view(np.uint32), absmax.view(np.uint32),
                                  err_msg=what)


# ------------------------------------------------------------------------------- the maps
@pytest.mark.parametrize("signed", [True, False])
def test_the_kernels_maps_are_the_twins(signed):
    np.testing.assert_array_equal(pywd.QuantizedState.maps(signed).view(np.uint32),
                                  reference.dynamic_map(signed).view(np.uint32))


@pytest.mark.parametrize("signed", [True, False])
def test_the_maps_are_bitsandbytes_dynamic_maps(signed):
    functional = pytest.importorskip("bitsandbytes.functional")
    theirs = functional.create_dynamic_map(signed=signed).numpy()
    np.testing.assert_array_equal(reference.dynamic_map(signed).view(np.uint32),
                                  theirs.view(np.uint32))


def test_the_maps_follow_their_construction():
    """256 distinct ascending values in [-1, 1] (unsigned: [0, 1]) with 0 and 1; signed: 127
    negatives, each the negation of a positive; seven decades of 2^i values (2^(i+1)
    unsigned), the linspace's midpoints times 10^(i-6)."""
    for signed in (True, False):
        table = reference.dynamic_map(signed)
        assert table.dtype == np.float32 and table.size == 256
        assert (np.diff(table) > 0).all() and table[-1] == 1.0 and 0.0 in table
        assert table[0] >= (-1.0 if signed else 0.0)
        for i in range(7):
            decade = table[(np.abs(table) >= 0.1 * 10.0 ** (i - 6) * 0.99999)
                           & (np.abs(table) < 10.0 ** (i - 6))]
            assert (decade > 0).sum() == (2 ** i if signed else 2 ** (i + 1))
    signed = reference.dynamic_map(True)
    assert (signed < 0).sum() == 127
    np.testing.assert_array_equal(np.sort(-signed[signed < 0]),
                                  signed[(signed > 0) & (signed < 1)])


def test_the_linspace_is_torchs_bit_for_bit():
    torch = pytest.importorskip("torch")
    for steps in (2, 3, 5, 9, 17, 33, 65, 129):
        np.testing.assert_array_equal(
            reference._torch_linspace_f32(0.1, 1.0, steps),
            torch.linspace(0.1, 1.0, steps, dtype=torch.float32).numpy())


# ----------------------------------------------------------------- encoding and decoding
@pytest.mark.parametrize("signed", [True, False])
def test_codes_near_every_midpoint_are_the_twins(signed):
    x = hard_values(signed)
    state = pywd.quantize(x, signed)
    assert_same_state(state, *reference.q8_encode(x, signed))
    np.testing.assert_array_equal(state.dequantize().view(np.uint32),
                                  reference.q8_decode(state.codes, state.absmax,
                                                      signed).view(np.uint32))


@settings(max_examples=60, deadline=None)
@given(shape=st.one_of(st.tuples(st.integers(0, 3 * BLOCK + 3)),
                       st.tuples(st.integers(1, 30), st.integers(1, 40))),
       spread=st.floats(0, 8), signed=st.booleans(), seed=st.integers(0, 2**32 - 1),
       order=st.sampled_from("CF"))
def test_quantize_equals_the_twin(shape, spread, signed, seed, order):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * np.exp(rng.standard_normal(shape) * spread))
    x = np.asarray(x * x if not signed else x, np.float32, order=order)
    state = pywd.quantize(x, signed)
    assert state.shape == x.shape and state.absmax.size == -(-x.size // BLOCK)
    assert state.flags.f_contiguous == x.flags.f_contiguous
    codes, absmax = reference.q8_encode(x, signed)
    assert_same_state(state, codes, absmax)
    np.testing.assert_array_equal(state.dequantize().view(np.uint32),
                                  reference.q8_decode(codes, absmax, signed).view(np.uint32))


@pytest.mark.parametrize("signed", [True, False])
def test_special_values_are_the_twins(signed):
    x = special_blocks(np.random.default_rng(1))
    if not signed:
        x = np.abs(x)
    state = pywd.quantize(x, signed)
    codes, absmax = reference.q8_encode(x, signed)
    assert_same_state(state, codes, absmax)
    assert np.isnan(state.absmax[1]) and (np.asarray(state.codes)[BLOCK:2 * BLOCK] == 255).all()
    assert state.absmax[0] == 0 and (state.dequantize()[:BLOCK] == 0).all()


@pytest.mark.parametrize("signed", [True, False])
def test_each_value_gets_its_nearest_code(signed):
    """From the equations: the code's map value is the nearest to x / absmax (either
    neighbour where x lies within float32 rounding of their midpoint)."""
    rng = np.random.default_rng(2)
    x = (rng.standard_normal(40 * BLOCK) * np.exp(rng.standard_normal(40 * BLOCK) * 3)
         ).astype(np.float32)
    if not signed:
        x = x * x
    state = pywd.quantize(x, signed)
    table = reference.dynamic_map(signed).astype(np.float64)
    scaled = (x.reshape(-1, BLOCK) * (np.float32(1) / state.absmax)[:, None]).ravel()
    scaled = np.clip(scaled.astype(np.float64), -1, 1)
    chosen = table[np.asarray(state.codes)]
    best = np.abs(table[None, :] - scaled[:, None]).min(axis=1)
    assert (np.abs(chosen - scaled) <= best * (1 + 1e-6) + 1e-12).all()


def test_quantization_error_is_at_most_half_a_gap_of_the_block():
    rng = np.random.default_rng(3)
    x = rng.standard_normal(50 * BLOCK).astype(np.float32)
    back = pywd.dequantize(pywd.quantize(x))
    table = reference.dynamic_map(True)
    absmax = np.abs(x.reshape(-1, BLOCK)).max(axis=1).repeat(BLOCK)
    # half the widest gap between codes, or the distance from -1 to the lowest code (the
    # signed map has 1 but not -1)
    bound = max(np.diff(table).max() / 2, 1.0 + table[0])
    assert (np.abs(back - x) <= bound * absmax * (1 + 1e-5)).all()
    # on average a quarter of the gap (the top decade's, 0.9/64, is the widest), not half
    assert np.abs(back - x).mean() <= np.diff(table).max() / 4 * absmax.mean()


def test_bitsandbytes_reads_our_state_and_we_never_round_farther_than_it():
    """bitsandbytes' dequantize_blockwise of our codes and absmax gives our values; its CPU
    quantize_blockwise (a 65536-bin table, approximate) agrees on most codes, and where it
    differs our code's value is the nearer to x (so ours is the exact nearest)."""
    torch = pytest.importorskip("torch")
    functional = pytest.importorskip("bitsandbytes.functional")
    rng = np.random.default_rng(4)
    x = rng.standard_normal(64 * BLOCK).astype(np.float32)
    for signed, data in ((True, x), (False, x * x)):
        ours = pywd.quantize(data, signed)
        code = functional.create_dynamic_map(signed=signed)
        state = functional.QuantState(absmax=torch.from_numpy(ours.absmax.copy()), code=code,
                                      blocksize=BLOCK, dtype=torch.float32)
        back = functional.dequantize_blockwise(torch.from_numpy(np.asarray(ours.codes).copy()),
                                               state).numpy()
        np.testing.assert_array_equal(back.view(np.uint32), ours.dequantize().view(np.uint32))
        theirs, their_state = functional.quantize_blockwise(torch.from_numpy(data), code=code,
                                                            blocksize=BLOCK)
        np.testing.assert_array_equal(their_state.absmax.numpy(), ours.absmax)
        scaled = (data.reshape(-1, BLOCK) / ours.absmax[:, None]).ravel().astype(np.float64)
        table = code.numpy().astype(np.float64)
        ours_err = np.abs(table[np.asarray(ours.codes)] - scaled)
        their_err = np.abs(table[theirs.numpy().astype(int)] - scaled)
        assert (ours_err <= their_err + 1e-7).all()
        assert (np.asarray(ours.codes) == theirs.numpy()).mean() > (0.99 if signed else 0.9)


# ------------------------------------------------------------------------ the state object
def test_zeros_read_zero_and_know_their_bytes():
    params = [np.ones((3, 5), np.float32), np.ones((700,), np.float32, order="C"),
              np.ones((4, 300), np.float32, order="F")]
    states = pywd.quantized_zeros_like(params, signed=False)
    for p, s in zip(params, states):
        assert isinstance(s, pywd.QuantizedState) and s.shape == p.shape and not s.signed
        assert (s.dequantize() == 0).all()
        assert s.flags.c_contiguous == p.flags.c_contiguous
        assert s.dequantize().flags.c_contiguous == p.flags.c_contiguous
        assert s.state_nbytes == p.size + 4 * -(-p.size // BLOCK)
    assert pywd.quantized_zeros_like(params[0]).signed


def test_copies_and_pickles_keep_the_scales_views_do_not():
    state = pywd.quantize(np.linspace(-3, 3, 600, dtype=np.float32))
    for other in (state.copy(), copy.copy(state), copy.deepcopy(state),
                  pickle.loads(pickle.dumps(state))):
        assert isinstance(other, pywd.QuantizedState) and other.signed
        assert_same_state(other, np.asarray(state.codes), state.absmax)
        assert not np.shares_memory(other.absmax, state.absmax)
    assert type(state[10:20]) is np.ndarray and type(state + 1) is np.ndarray
    assert type(state.codes) is np.ndarray and np.shares_memory(state.codes, state)
    assert "signed=True" in repr(state) and "blocks=3" in repr(state)
    with pytest.raises(ValueError, match="has no block scales"):
        pywd.dequantize(state.view(pywd.QuantizedState))


def test_conversions_refuse_what_they_cannot_take():
    with pytest.raises(TypeError, match="values must be float32"):
        pywd.quantize(np.ones(3))
    with pytest.raises(TypeError, match="signed must be True or False"):
        pywd.quantize(np.ones(3, np.float32), signed=1)
    with pytest.raises(TypeError, match="state must be a pywd.QuantizedState"):
        pywd.dequantize(np.ones(3, np.uint8))
    with pytest.raises(TypeError, match="params must be an array"):
        pywd.quantized_zeros_like(3)


# ------------------------------------------------------------------- optimisers on 8 bits
ELEMENTWISE = sorted(name for name in VALID_CALLS
                     if name not in ("lamb", "lars", "muon", "decay", "adafactor"))


def q8_arrays(rng, name, shapes, quantized):
    """params, grads and every state of `name` (float32), the states in `quantized` as
    QuantizedStates on their table's map (non-negative: unsigned), with the twin's copies."""
    optional, _ = VALID_CALLS[name]
    states = table_states(name, optional)
    arrays, twin = {}, {}
    for arg in ["params", "grads", *states]:
        nonneg = states.get(arg, (0, False))[1]
        values = [make_array(rng, s, np.float32, o) for s, o in shapes]
        values = [np.abs(v) * np.float32(0.1) if nonneg else v for v in values]
        if arg in quantized:
            arrays[arg] = pywd.quantize(values, signed=not nonneg)
            twin[arg] = [(np.asarray(q.codes).copy(order="K"), q.absmax.copy(), q.signed)
                         for q in arrays[arg]]
        else:
            arrays[arg] = values
            twin[arg] = [v.copy(order="K") for v in values]
    return arrays, twin


def step_both(name, arrays, twin, quantized, step):
    _, options = VALID_CALLS[name]
    options = dict(options)
    if "step" in options:
        options["step"] = step
    call_update(name, arrays, **options)
    reference.q8_step(lambda wide: getattr(reference, name)(**wide, **options), twin,
                      set(quantized))


def assert_same(arrays, twin, quantized):
    for arg, values in arrays.items():
        for i, (got, want) in enumerate(zip(values, twin[arg])):
            if arg in quantized:
                codes, absmax, _ = want
                assert_same_state(got, codes, absmax, f"{arg}[{i}]")
            else:   # (a NaN's sign and payload depend on the operands' order: not compared)
                nan = np.isnan(want)
                np.testing.assert_array_equal(np.isnan(got), nan, err_msg=f"{arg}[{i}]")
                np.testing.assert_array_equal(got[~nan].view(np.uint32),
                                              want[~nan].view(np.uint32), err_msg=f"{arg}[{i}]")


@settings(max_examples=40, deadline=None)
@given(name=st.sampled_from(ELEMENTWISE), data=st.data())
def test_every_elementwise_optimiser_on_8_bit_state_equals_the_twin(name, data):
    """Lists of odd shapes over several blocks (C and F order), any subset of the state in
    8 bits, three steps: the kernel's params, codes and scales are the twin's bit for bit."""
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    shapes = [(data.draw(st.sampled_from([(1,), (255,), (257,), (600,), (3, 300), (17, 41)])),
               data.draw(st.sampled_from("CF"))) for _ in range(data.draw(st.integers(1, 3)))]
    states = list(table_states(name, VALID_CALLS[name][0]))
    if name == "rmsprop":                        # centered: its variance refuses 8 bits
        states = ["momentum_buffers"]
    quantized = [s for s in states if data.draw(st.booleans())] or states[:1]
    arrays, twin = q8_arrays(rng, name, shapes, quantized)
    for step in (1, 2, 3):
        arrays["grads"] = twin["grads"] = [make_array(rng, s, np.float32, o)
                                           for s, o in shapes]
        step_both(name, arrays, twin, quantized, step)
        assert_same(arrays, twin, quantized)


TRUST_RATIO = {"lamb": (dict(lr=1e-2, always_adapt=True), ["exp_avgs", "exp_avg_sqs"]),
               "lars": (dict(lr=0.5, momentum=0.9, nesterov=True, always_adapt=True),
                        ["momentum_buffers"])}


@settings(max_examples=30, deadline=None)
@given(name=st.sampled_from(sorted(TRUST_RATIO)), decay=st.sampled_from(DECAY_MODES),
       data=st.data())
def test_lamb_and_lars_on_8_bit_state_equal_the_float32_kernel_around_the_twin(name, decay,
                                                                                data):
    """LAMB and LARS, whose trust ratio is a per-tensor norm pass before the update, on any
    subset of their state in 8 bits: the kernel's params, codes and scales are those of
    reference.q8_step around pywd's own float32 kernel (decode, the float32 step, encode),
    bit for bit, over three steps; so the norm pass reads the decoded state as the update
    does. (The float32 kernels are test_lamb.py's and test_lars.py's, against their twins.)"""
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    shapes = [(data.draw(st.sampled_from([(1,), (255,), (257,), (600,), (3, 300), (17, 41)])),
               data.draw(st.sampled_from("CF"))) for _ in range(data.draw(st.integers(1, 3)))]
    options, states = TRUST_RATIO[name]
    options = dict(options, weight_decay=1e-3 if decay == "l1" else 0.05, decay=decay)
    quantized = [s for s in states if data.draw(st.booleans())] or states[:1]
    arrays, twin = q8_arrays(rng, name, shapes, quantized)
    for step in (1, 2, 3):
        arrays["grads"] = twin["grads"] = [make_array(rng, s, np.float32, o)
                                           for s, o in shapes]
        stepped = dict(options, step=step) if name == "lamb" else options
        getattr(pywd, name)(**arrays, **stepped)
        reference.q8_step(lambda wide: float32_kernel(name, wide, stepped, shapes), twin,
                          set(quantized))
        assert_same(arrays, twin, quantized)


def float32_kernel(name, wide, options, shapes):
    """pywd's float32 kernel on q8_step's float32 copies (C order), each first laid out in
    its tensor's order (of `shapes`), as the 8-bit blocks run (in wide, which q8_step reads
    back and encodes in that order)."""
    for arg, values in wide.items():
        wide[arg] = [np.asarray(v, order=order) for v, (_, order) in zip(values, shapes)]
    getattr(pywd, name)(**wide, **options)


@pytest.mark.parametrize("name, states, options", [
    ("adamw", ["exp_avgs", "exp_avg_sqs"], dict(lr=1e-2, weight_decay=0.1)),
    ("lamb", ["exp_avgs", "exp_avg_sqs"], dict(lr=1e-2, weight_decay=0.1)),
    ("lars", ["momentum_buffers"], dict(lr=0.1, momentum=0.9, weight_decay=0.1))])
def test_the_thread_count_does_not_change_the_bytes(name, states, options):
    """Threads split a call on 8-bit block boundaries (LAMB's and LARS's norms by fixed
    blocks): tensors of many blocks whose sizes are not multiples of 256, at 1, 2 and 3
    threads."""
    shapes = [((100_003,), "C"), ((257, 129), "F"), ((65_536,), "C")]
    def run():
        arrays, _ = q8_arrays(np.random.default_rng(6), name, shapes, states)
        for step in (1, 2):
            getattr(pywd, name)(**arrays, **dict(options, step=step) if name != "lars"
                                else options)
        return [a.tobytes() + getattr(a, "absmax", np.empty(0)).tobytes()
                for values in arrays.values() for a in values]
    assert_same_at_thread_counts(run)


def test_every_unit_gives_the_same_bytes():
    """quantize, dequantize and an AdamW step on 8-bit state, in a fresh process per unit
    (PYWD_ISA, and the AVX-512 unit with and without AVX512-VBMI's decode): one hash."""
    units = isa_units()
    if len(units) == 1:
        pytest.skip("this CPU runs the baseline unit only")
    script = (
        "import numpy as np, pywd, sys, hashlib\n"
        "r = np.random.default_rng(0)\n"
        "x = (r.standard_normal(100_003) * np.exp(r.standard_normal(100_003) * 3))"
        ".astype(np.float32)\n"
        "x[5] = np.nan; x[3000] = np.inf; x[7000:7300] = 0\n"
        "out = []\n"
        "for signed in (True, False):\n"
        "    q = pywd.quantize(x if signed else x * x, signed)\n"
        "    out += [q.tobytes(), q.absmax.tobytes(), q.dequantize().tobytes()]\n"
        "p = r.standard_normal(70_001).astype(np.float32)\n"
        "m, v = pywd.quantized_zeros_like(p), pywd.quantized_zeros_like(p, signed=False)\n"
        "for s in range(1, 4):\n"
        "    pywd.adamw(p, r.standard_normal(70_001).astype(np.float32), m, v, step=s, lr=1e-2)\n"
        "out += [p.tobytes(), m.tobytes(), m.absmax.tobytes(), v.tobytes(), v.absmax.tobytes()]\n"
        "sys.stdout.write(pywd._kernels._isa() + ' ' + hashlib.sha256(b''.join(out))"
        ".hexdigest())\n")
    # the AVX-512 unit twice where the CPU has AVX512-VBMI: decoding with it and without
    runs = [(isa, "0") for isa in units] + [("avx512", "1")] * ("avx512" in units)
    outputs = outputs_by_unit(script, [dict(PYWD_ISA=isa, PYWD_NO_AVX512_VBMI=no_vbmi)
                                       for isa, no_vbmi in runs])
    assert [unit for unit, _ in outputs] == [isa for isa, _ in runs], outputs
    assert len(set(outputs.values())) == 1, outputs


def test_mixed_storage_in_one_call():
    """bfloat16 params with 8-bit moments, and 8-bit with float32 state in one call."""
    ml_dtypes = pytest.importorskip("ml_dtypes")
    rng = np.random.default_rng(7)
    w = rng.standard_normal(1000).astype(ml_dtypes.bfloat16)
    twin_w = [w.copy()]
    m = pywd.quantized_zeros_like(w)
    v = np.zeros(1000, np.float32)
    twin_m = [(np.asarray(m.codes).copy(), m.absmax.copy(), True)]
    twin_v = [v.copy()]
    g = rng.standard_normal(1000).astype(np.float32)
    pywd.adamw(w, g, m, v, step=1, lr=1e-2, rounding="nearest")

    def update(wide):
        reference.lowp_step(
            lambda w16: reference.adamw(w16["params"], w16["grads"], w16["m"], w16["v"],
                                        step=1, lr=1e-2),
            {"params": wide["params"], "grads": wide["grads"], "m": wide["m"],
             "v": wide["v"]}, ["params", "m", "v"], rounding="nearest")
    reference.q8_step(update, {"params": twin_w, "grads": [g], "m": twin_m, "v": twin_v}, {"m"})
    np.testing.assert_array_equal(w.view(np.uint16), twin_w[0].view(np.uint16))
    assert_same_state(m, twin_m[0][0], twin_m[0][1])
    np.testing.assert_array_equal(v, twin_v[0])


# ------------------------------------------------------------------------------ refusals
def adamw_call(rng, n=600):
    p = rng.standard_normal(n).astype(np.float32)
    g = rng.standard_normal(n).astype(np.float32)
    return p, g, pywd.quantized_zeros_like(p), pywd.quantized_zeros_like(p, signed=False)


def everything(*arrays):
    return snapshot([x for a in arrays for x in (a, getattr(a, "absmax", None))
                     if isinstance(x, np.ndarray)])


@pytest.mark.parametrize("case, error, match", [
    ("swapped maps", ValueError, "exp_avgs: state that changes sign needs the signed map"),
    ("plain uint8", TypeError, r"exp_avgs: expected float32 like params, got uint8 \(8-bit "),
    ("a slice", TypeError, "expected float32 like params, got uint8"),
    ("a view", ValueError, "exp_avgs: a view or a slice of a QuantizedState has no block"),
    ("short absmax", ValueError, r"exp_avg_sqs: 2 block scales for 600 elements; blocks "
                                 r"of 256 need 3"),
    ("read-only absmax", ValueError, "exp_avg_sqs: its absmax is read-only"),
    ("8-bit params", TypeError, "params: 8-bit quantised storage is for optimiser state"),
    ("8-bit grads", TypeError, "grads: 8-bit quantised storage is for optimiser state"),
    ("float64 params", TypeError, "exp_avgs: 8-bit state goes with float32"),
    ("two maps in one argument", ValueError, r"exp_avg_sqs\[1\]: every 8-bit state of an "
                                             r"argument uses one map"),
])
def test_bad_8_bit_input_is_refused_before_anything_changes(case, error, match):
    rng = np.random.default_rng(8)
    p, g, m, v = adamw_call(rng)
    args = [p, g, m, v]
    if case == "swapped maps":
        args = [p, g, v, m]
    elif case == "plain uint8":
        args[2] = np.zeros(600, np.uint8)
    elif case == "a slice":
        args[2] = m[:]
    elif case == "a view":
        args[2] = m.view(pywd.QuantizedState)
    elif case == "short absmax":
        v._absmax = v.absmax[:2]
    elif case == "read-only absmax":
        v.absmax.flags.writeable = False
    elif case == "8-bit params":
        args[0] = pywd.quantize(p)
    elif case == "8-bit grads":
        args[1] = pywd.quantize(g)
    elif case == "float64 params":
        args[0], args[1] = p.astype(np.float64), g.astype(np.float64)
    elif case == "two maps in one argument":
        p2, g2, m2, v2 = adamw_call(rng, 300)
        args = [[p, p2], [g, g2], [m, m2], [v, pywd.quantized_zeros_like(p2, signed=True)]]
    flat = [a for arg in args for a in (arg if isinstance(arg, list) else [arg])]
    before = everything(*flat)
    with pytest.raises(error, match=match):
        pywd.adamw(*args, step=1, lr=1e-2)
    assert everything(*flat) == before


def test_muon_without_8_bit_state_says_so():
    rng = np.random.default_rng(9)
    p = rng.standard_normal((30, 40)).astype(np.float32)
    g, b = rng.standard_normal((30, 40)).astype(np.float32), pywd.quantized_zeros_like(p)
    before = everything(p, g, b)
    with pytest.raises(TypeError, match="does not take 8-bit state"):
        pywd.muon(p, g, b, lr=0.02)
    assert everything(p, g, b) == before


# ------------------------------------------------------------------------- the classes
def model(rng):
    """A parameter of several blocks in C order, one in F order, one below min_8bit_size."""
    return [rng.standard_normal((64, 100)).astype(np.float32),
            np.asfortranarray(rng.standard_normal((300, 30)).astype(np.float32)),
            rng.standard_normal(10).astype(np.float32)]


def grads_like(params, rng):
    return [np.asarray(rng.standard_normal(p.shape), np.float32,
                       order="F" if p.flags.f_contiguous and not p.flags.c_contiguous else "C")
            for p in params]


EIGHT_BIT_CLASSES = [(pywd.optim.AdamW, dict(lr=1e-2, weight_decay=0.1)),
                     (pywd.optim.SGD, dict(lr=1e-2, momentum=0.9)),
                     (pywd.optim.Adagrad, dict(lr=1e-2)),
                     (pywd.optim.RMSprop, dict(lr=1e-3, momentum=0.9)),
                     (pywd.optim.Lion, dict(lr=1e-3)),
                     (pywd.optim.Adadelta, dict(lr=1.0)),
                     (pywd.optim.Rprop, dict(lr=1e-3)),
                     (pywd.optim.NAdam, dict(lr=1e-3)),
                     (pywd.optim.AdEMAMix, dict(lr=1e-3)),
                     (pywd.optim.Lamb, dict(lr=1e-3)),
                     (pywd.optim.LARS, dict(lr=0.1, momentum=0.9))]


@pytest.mark.parametrize("cls, options", EIGHT_BIT_CLASSES,
                         ids=[c.__name__ for c, _ in EIGHT_BIT_CLASSES])
def test_a_class_keeps_8_bit_state_on_the_right_map(cls, options):
    """state_dtype="8bit": each state array of a parameter of at least min_8bit_size
    elements is a QuantizedState (non-negative state on the unsigned map), the smaller ones
    float32; the steps move every parameter and keep it finite. (The step itself is the
    function's, tested against the twin above; AdamW's class against it below.)"""
    rng = np.random.default_rng(10)
    params = model(rng)
    before = [p.copy() for p in params]
    opt = cls(params, state_dtype="8bit", **options)
    for _ in range(3):
        opt.step(grads_like(params, rng))
    for i, p in enumerate(params):
        arrays = {k: v for k, v in opt.state[i].items() if isinstance(v, np.ndarray)}
        assert arrays
        for key, value in arrays.items():
            assert isinstance(value, pywd.QuantizedState) == (p.size >= 4096), (i, key)
            if p.size < 4096:
                assert value.dtype == np.float32
            else:
                assert value.signed == (key not in opt.nonnegative_state), key
        assert np.isfinite(p).all() and not np.array_equal(p, before[i])


def test_adamw_class_equals_the_twin():
    rng = np.random.default_rng(11)
    params = model(rng)
    twin_params = [p.copy(order="K") for p in params]
    opt = pywd.optim.AdamW(params, lr=1e-2, weight_decay=0.1, state_dtype="8bit")
    m = [pywd.quantized_zeros_like(p) if p.size >= 4096 else np.zeros_like(p) for p in params]
    v = [pywd.quantized_zeros_like(p, False) if p.size >= 4096 else np.zeros_like(p)
         for p in params]
    twin_m = [(np.asarray(a.codes).copy(order="K"), a.absmax.copy(), True)
              if isinstance(a, pywd.QuantizedState) else a.copy() for a in m]
    twin_v = [(np.asarray(a.codes).copy(order="K"), a.absmax.copy(), False)
              if isinstance(a, pywd.QuantizedState) else a.copy() for a in v]
    for step in (1, 2, 3):
        grads = grads_like(params, rng)
        opt.step(grads)
        for j in range(3):
            quantized = {"m", "v"} if params[j].size >= 4096 else set()
            arrays = {"params": [twin_params[j]], "grads": [grads[j]], "m": [twin_m[j]],
                      "v": [twin_v[j]]}
            reference.q8_step(lambda w: reference.adamw(w["params"], w["grads"], w["m"], w["v"],
                                                        step=step, lr=1e-2, weight_decay=0.1),
                              arrays, quantized)
            twin_m[j], twin_v[j] = arrays["m"][0], arrays["v"][0]
    for j, p in enumerate(params):
        np.testing.assert_array_equal(p, twin_params[j])
        state = opt.state[j]["exp_avg"]
        if isinstance(state, pywd.QuantizedState):
            assert_same_state(state, twin_m[j][0], twin_m[j][1])


def test_8_bit_state_dict_resumes_bit_for_bit(tmp_path):
    rng = np.random.default_rng(12)
    params = model(rng)
    copy_params = [p.copy(order="K") for p in params]
    opt = pywd.optim.AdamW(params, lr=1e-2, state_dtype="8bit")
    opt.step(grads_like(params, rng))
    saved = opt.state_dict()
    assert saved["state/0/exp_avg"].dtype == np.uint8
    assert saved["state/0/exp_avg/absmax"].shape == (25,)
    assert saved["state/2/exp_avg"].dtype == np.float32            # below min_8bit_size
    np.savez(tmp_path / "opt.npz", **saved)
    other = pywd.optim.AdamW(copy_params, lr=1e-2, state_dtype="8bit")
    np.copyto(copy_params[0], params[0]), np.copyto(copy_params[1], params[1])
    np.copyto(copy_params[2], params[2])
    other.load_state_dict(dict(np.load(tmp_path / "opt.npz")))
    grads = grads_like(params, rng)
    opt.step(grads)
    other.step(grads)
    for a, b in zip(params, copy_params):
        np.testing.assert_array_equal(a, b)
    for i in range(3):
        for key in ("exp_avg", "exp_avg_sq"):
            a, b = opt.state[i][key], other.state[i][key]
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
            if isinstance(a, pywd.QuantizedState):
                np.testing.assert_array_equal(a.absmax, b.absmax)
                assert type(b) is pywd.QuantizedState and a.signed == b.signed


def test_decoded_8_bit_state_loads_back_to_the_same_values_and_steps():
    """A state_dict holding 8-bit state's decoded float32 values (no scales: as pywd.torch
    saves a sharded parameter's) loads as 8-bit state that decodes to them bit for bit, so
    the run continues as it would have (the kernels use only the decoded values); plain
    float32 values load as quantize() encodes them."""
    rng = np.random.default_rng(15)
    params = model(rng)
    copy_params = [p.copy(order="K") for p in params]
    opt = pywd.optim.AdamW(params, lr=1e-2, state_dtype="8bit")
    for _ in range(3):
        opt.step(grads_like(params, rng))
    saved = opt.state_dict()
    for key in [k for k in saved if k.endswith("/absmax")]:
        del saved[key]
        name = key[:-len("/absmax")]
        i, state = int(name.split("/")[1]), name.split("/")[2]
        saved[name] = opt.state[i][state].dequantize()
    other = pywd.optim.AdamW(copy_params, lr=1e-2, state_dtype="8bit")
    for a, b in zip(params, copy_params):
        np.copyto(b, a)
    other.load_state_dict(saved)
    for i in range(2):
        for key in ("exp_avg", "exp_avg_sq"):
            a, b = opt.state[i][key], other.state[i][key]
            assert type(b) is pywd.QuantizedState and a.signed == b.signed
            np.testing.assert_array_equal(a.dequantize(), b.dequantize())
    grads = grads_like(params, rng)
    opt.step(grads)
    other.step(grads)
    for a, b in zip(params, copy_params):
        np.testing.assert_array_equal(a, b)
    plain = rng.standard_normal((64, 100)).astype(np.float32)
    saved["state/0/exp_avg"] = plain
    other.load_state_dict(saved)
    expected = pywd.quantize(plain)
    np.testing.assert_array_equal(other.state[0]["exp_avg"].absmax, expected.absmax)
    np.testing.assert_array_equal(np.asarray(other.state[0]["exp_avg"]), np.asarray(expected))


@settings(deadline=None, max_examples=60)
@given(size=st.integers(1, 1500), exponent=st.floats(-30, 30), signed=st.booleans(),
       fortran=st.booleans(), seed=st.integers(0, 2**16))
def test_requantize_reproduces_decoded_values(size, exponent, signed, fortran, seed):
    rng = np.random.default_rng(seed)
    shape = (size,) if not fortran or size < 4 else (size // 4, 4)
    x = (rng.standard_normal(shape) * 10.0 ** exponent).astype(np.float32)
    x = np.asfortranarray(x) if fortran else x
    x = x if signed else np.abs(x)
    decoded = pywd.quantize(x, signed).dequantize()
    again = pywd.quantized.requantize(decoded, signed)
    np.testing.assert_array_equal(again.dequantize(), decoded)
    assert again.signed == signed
    assert again.codes.flags.c_contiguous == decoded.flags.c_contiguous   # its memory order


@pytest.mark.parametrize("change, match", [
    ("drop absmax", r"state/0/exp_avg/absmax'\] must hold the 25 float32 block scales"),
    ("short absmax", r"must hold the 25 float32 block scales of 'state/0/exp_avg', got "
                     r"float32 \(24,\)"),
    ("float64 state", r"state/0/exp_avg'\] is float64 \(64, 100\), but its parameter's "
                      r"state is 8-bit: uint8 codes \(64, 100\) with their absmax, or float32"),
    ("negative values", r"state/0/exp_avg_sq'\] must be >= 0 everywhere"),
    ("stray absmax", r"state/2/exp_avg/absmax'\]: block scales without 8-bit codes"),
])
def test_a_bad_8_bit_state_dict_changes_nothing(change, match):
    rng = np.random.default_rng(13)
    params = model(rng)
    opt = pywd.optim.AdamW(params, lr=1e-2, state_dtype="8bit")
    opt.step(grads_like(params, rng))
    saved = opt.state_dict()
    if change == "drop absmax":
        del saved["state/0/exp_avg/absmax"]
    elif change == "short absmax":
        saved["state/0/exp_avg/absmax"] = saved["state/0/exp_avg/absmax"][:24]
    elif change == "float64 state":
        saved["state/0/exp_avg"] = opt.state[0]["exp_avg"].dequantize().astype(np.float64)
        del saved["state/0/exp_avg/absmax"]
    elif change == "negative values":
        saved["state/0/exp_avg_sq"] = -opt.state[0]["exp_avg_sq"].dequantize() - 1
        del saved["state/0/exp_avg_sq/absmax"]
    elif change == "stray absmax":
        saved["state/2/exp_avg/absmax"] = np.zeros(1, np.float32)
    before = opt.state_dict()
    with pytest.raises(ValueError, match=match):
        opt.load_state_dict(saved)
    after = opt.state_dict()
    assert before.keys() == after.keys()
    assert all(np.array_equal(before[k], after[k]) for k in before)


def test_state_bytes_are_a_quarter_and_the_small_keep_float32():
    rng = np.random.default_rng(14)
    params = model(rng)
    full = pywd.optim.AdamW([p.copy(order="K") for p in params])
    small = pywd.optim.AdamW(params, state_dtype="8bit")
    grads = grads_like(params, rng)
    full.step(grads)
    small.step(grads)
    big = sum(p.size for p in params if p.size >= 4096)
    assert full.state_nbytes() == 2 * 4 * sum(p.size for p in params)
    assert small.state_nbytes() == 2 * (big + 4 * (25 + 36) + 4 * 10)
    low = pywd.optim.AdamW([p.copy(order="K") for p in params], state_dtype="8bit")
    low.min_8bit_size = 1                      # every parameter in 8 bits
    low.step(grads)
    assert all(isinstance(s["exp_avg"], pywd.QuantizedState) for s in low.state.values())


def test_centered_rmsprop_refuses_8_bit_variance_terms():
    """square_avg - grad_avg**2 goes below 0 (its root to NaN) when both are 8-bit:
    refused in the function and the class, nothing changed."""
    rng = np.random.default_rng(16)
    p = rng.standard_normal(600).astype(np.float32)
    g = rng.standard_normal(600).astype(np.float32)
    s, b = pywd.quantized_zeros_like(p, signed=False), np.zeros_like(p)
    a = pywd.quantized_zeros_like(p)
    before = everything(p, s, b, a)
    with pytest.raises(ValueError, match="centered RMSprop cannot keep square_avgs or"):
        pywd.rmsprop(p, g, s, b, a, lr=1e-2, momentum=0.9, centered=True)
    assert everything(p, s, b, a) == before
    with pytest.raises(ValueError, match="centered RMSprop cannot keep"):
        pywd.optim.RMSprop([np.ones(5000, np.float32)], centered=True, state_dtype="8bit")
    pywd.rmsprop(p, g, np.zeros_like(p), pywd.quantized_zeros_like(p), lr=1e-2, momentum=0.9)


@pytest.mark.parametrize("cls", [pywd.optim.Muon, pywd.optim.AdamWScheduleFree,
                                 pywd.optim.SGDScheduleFree])
def test_classes_without_8_bit_state_say_why(cls):
    with pytest.raises(ValueError, match=f"state_dtype='8bit' is not available for "
                                         f"{cls.__name__}: .*use 'bfloat16' or 'float32'"):
        cls([np.ones((64, 100), np.float32)], state_dtype="8bit")


# ------------------------------------------------------------------- torch, bitsandbytes
def torch_model(torch, seed=0):
    """A parameter of 20 blocks and one below min_8bit_size."""
    g = torch.Generator().manual_seed(seed)
    return [torch.nn.Parameter(torch.randn(5000, generator=g)),
            torch.nn.Parameter(torch.randn(10, generator=g))]


def set_grads(torch, params, seed):
    g = torch.Generator().manual_seed(seed)
    for p in params:
        p.grad = torch.randn(p.shape, generator=g)


def copy_into(torch, source, target):
    with torch.no_grad():
        for s, t in zip(source, target):
            t.copy_(s)


def codes_of(opt, param, name):
    return np.asarray(opt.pywd.state[opt._index[param]][name].codes)


def test_torch_classes_keep_8_bit_state_in_bitsandbytes_layout():
    """pywd.torch with state_dtype="8bit": state_dict() holds each parameter's state as
    bitsandbytes' 8-bit optimisers do (state1/absmax1/qmap1, ... under its key; float32
    state1 for a parameter below min_8bit_size; "step" an int), opt.state shows the float32
    values, and a resumed run is the uninterrupted one bit for bit."""
    torch = pytest.importorskip("torch")
    import pywd.torch as pt
    params = torch_model(torch)
    opt = pt.AdamW(params, lr=1e-2, weight_decay=0.01, state_dtype="8bit")
    for seed in range(3):
        set_grads(torch, params, seed)
        opt.step()
    saved = opt.state_dict()
    big, small = saved["state"][0], saved["state"][1]
    assert big["step"] == 3 and type(big["step"]) is int
    nested = big["__bnb_optimizer_quant_state__"]
    assert nested["state1"].dtype == torch.uint8 and nested["absmax1"].shape == (20,)
    np.testing.assert_array_equal(nested["qmap2"].numpy(), reference.dynamic_map(False))
    assert small["__bnb_optimizer_quant_state__"]["state1"].dtype == torch.float32
    view = opt.state[params[0]]["exp_avg"]
    np.testing.assert_array_equal(view.numpy(), opt.pywd.state[0]["exp_avg"].dequantize())
    other = torch_model(torch, seed=5)
    copy_into(torch, params, other)
    resumed = pt.AdamW(other, lr=1e-2, weight_decay=0.01, state_dtype="8bit")
    resumed.load_state_dict(saved)
    for seed in (7, 8):
        set_grads(torch, params, seed)
        set_grads(torch, other, seed)
        opt.step()
        resumed.step()
    assert all(torch.equal(a, b) for a, b in zip(params, other))
    with pytest.raises(ValueError, match="state_dtype='8bit'"):
        opt.torch_state_dict()


BNB_TWINS = [("AdamW", "AdamW8bit", dict(lr=1e-2, weight_decay=0.01)),
             ("Adam", "Adam8bit", dict(lr=1e-2)),
             ("SGD", "SGD8bit", dict(lr=1e-2, momentum=0.9)),
             ("RMSprop", "RMSprop8bit", dict(lr=1e-3)),
             ("Adagrad", "Adagrad8bit", dict(lr=1e-2)),
             ("Lion", "Lion8bit", dict(lr=1e-4)),
             # bitsandbytes' blockwise LAMB8bit and LARS8bit apply no trust ratio (its Adam
             # and momentum steps: test below); pywd's is 1 at weight_decay=0
             ("Lamb", "LAMB8bit", dict(lr=1e-2, weight_decay=0.0, eps=1e-8)),
             ("LARS", "LARS8bit", dict(lr=1e-2, momentum=0.9, weight_decay=0.0))]


@pytest.mark.parametrize("mine, theirs, options", BNB_TWINS, ids=[m for m, _, _ in BNB_TWINS])
def test_state_moves_between_pywd_and_bitsandbytes(mine, theirs, options):
    """Each loads the other's state_dict and continues (bitsandbytes 0.50's CPU 8-bit
    optimisers: their update formulas, and their encode by a 65536-bin table, approximate for
    small values). From the same state, one step of each gives weights within 2 float32
    ulps of 1 (the same update, rounded in another order) and the same codes for at least
    99% of elements (measured: 99.7-99.9%)."""
    torch = pytest.importorskip("torch")
    bnb = pytest.importorskip("bitsandbytes")
    import pywd.torch as pt
    ours = torch_model(torch)
    opt = getattr(pt, mine)(ours, state_dtype="8bit", **options)
    for seed in range(3):
        set_grads(torch, ours, seed)
        opt.step()
    theirs_params = torch_model(torch, seed=5)
    other = getattr(bnb.optim, theirs)(theirs_params, **options)
    names = [n for n in opt.pywd.state_arrays if n in opt.pywd.state[0]]

    def one_step_each(seed):
        set_grads(torch, ours, seed)
        set_grads(torch, theirs_params, seed)
        opt.step()
        other.step()
        # (bitsandbytes' LAMB and LARS on float32 state, below min_8bit_size, clip the
        # update's norm at a multiple of the weights', a rule of their own: not compared)
        for a, b in zip(ours[:1] if mine in ("Lamb", "LARS") else ours, theirs_params):
            assert float((a - b).detach().abs().max()) <= 2 * np.finfo(np.float32).eps
        for k, name in enumerate(names, 1):
            same = np.mean(codes_of(opt, ours[0], name) ==
                           other.state[theirs_params[0]][f"state{k}"].numpy())
            assert same >= 0.99, (name, same)

    copy_into(torch, ours, theirs_params)           # bitsandbytes continues pywd's run
    other.load_state_dict(opt.state_dict())
    one_step_each(10)
    copy_into(torch, theirs_params, ours)           # and pywd continues bitsandbytes'
    opt.load_state_dict(other.state_dict())
    one_step_each(11)


def test_bitsandbytes_lamb_and_lars_in_8_bits_take_no_trust_ratio():
    """Why pywd's Lamb and LARS are compared with bitsandbytes' at weight_decay=0 only:
    bitsandbytes 0.50's LAMB8bit and LARS8bit keep blockwise state, whose update has no trust
    ratio: with weight decay they step exactly as its AdamW8bit and SGD8bit do."""
    torch = pytest.importorskip("torch")
    bnb = pytest.importorskip("bitsandbytes")

    def run(cls, **options):
        params = torch_model(torch)
        opt = cls(params, **options)
        for seed in range(3):
            set_grads(torch, params, seed)
            opt.step()
        return params[0].detach()

    assert torch.equal(run(bnb.optim.LAMB8bit, lr=1e-2, weight_decay=0.1),
                       run(bnb.optim.AdamW8bit, lr=1e-2, weight_decay=0.1))
    assert torch.equal(run(bnb.optim.LARS8bit, lr=1e-2, momentum=0.9, weight_decay=0.1),
                       run(bnb.optim.SGD8bit, lr=1e-2, momentum=0.9, weight_decay=0.1))


def test_a_foreign_map_or_missing_scales_are_refused():
    torch = pytest.importorskip("torch")
    import pywd.torch as pt
    params = torch_model(torch)
    opt = pt.AdamW(params, lr=1e-2, state_dtype="8bit")
    set_grads(torch, params, 0)
    opt.step()
    for change, match in (("qmap", "is not pywd's unsigned dynamic map for 'exp_avg_sq'"),
                          ("absmax", "holds 8-bit codes without absmax1"),
                          ("stray", "has entries \\['state9'\\]")):
        saved = opt.state_dict()
        nested = saved["state"][0]["__bnb_optimizer_quant_state__"]
        if change == "qmap":
            nested["qmap2"] = nested["qmap1"]
        elif change == "absmax":
            del nested["absmax1"]
        else:
            nested["state9"] = nested["state1"]
        before = opt.state_dict()["state"][0]["__bnb_optimizer_quant_state__"]["state1"].clone()
        with pytest.raises(ValueError, match=match):
            opt.load_state_dict(saved)
        assert torch.equal(before,
                           opt.state_dict()["state"][0]["__bnb_optimizer_quant_state__"]["state1"])


def test_over_100_steps_pywd_and_bitsandbytes_stay_within_the_quantisation_noise():
    """The same AdamW run (100 steps, the same gradients: noise plus a pull toward 0.3 w)
    with 8-bit state in pywd and in bitsandbytes: the two end closer to each other (rms of
    the weights' difference) than half as far as either ends from torch's float32-state run,
    which is the quantisation's own noise (measured: 0.0007 against 0.0031)."""
    torch = pytest.importorskip("torch")
    bnb = pytest.importorskip("bitsandbytes")
    import pywd.torch as pt
    runs = {"pywd": (pt.AdamW, dict(state_dtype="8bit")), "bnb": (bnb.optim.AdamW8bit, {}),
            "float32": (torch.optim.AdamW, {})}
    weights = {}
    for name, (cls, options) in runs.items():
        g = torch.Generator().manual_seed(0)
        params = [torch.nn.Parameter(torch.randn(20000, generator=g)),
                  torch.nn.Parameter(torch.randn(64, 100, generator=g))]
        opt = cls(params, lr=1e-2, weight_decay=0.01, **options)
        g = torch.Generator().manual_seed(1)
        for _ in range(100):
            for p in params:
                p.grad = torch.randn(p.shape, generator=g) + 0.3 * p.detach()
            opt.step()
        weights[name] = torch.cat([p.detach().ravel() for p in params]).numpy()

    def rms(a, b):
        return float(np.sqrt(np.mean((weights[a] - weights[b]) ** 2)))
    noise = min(rms("pywd", "float32"), rms("bnb", "float32"))
    assert noise > 0 and rms("pywd", "bnb") < 0.5 * noise


def test_flat_params_take_8_bit_state():
    """A FlatParams' views are ordinary parameters: an 8-bit optimiser over them steps as
    over separate arrays, bit for bit."""
    flat = pywd.FlatParams([(64, 100), (300,), (5000,)])
    rng = np.random.default_rng(15)
    for v in flat.views:
        v[...] = rng.standard_normal(v.shape)
    separate = [v.copy() for v in flat.views]
    a = pywd.optim.AdamW(flat, lr=1e-2, state_dtype="8bit")
    b = pywd.optim.AdamW(separate, lr=1e-2, state_dtype="8bit")
    for _ in range(3):
        grads = [rng.standard_normal(v.shape).astype(np.float32) for v in flat.views]
        a.step(grads)
        b.step(grads)
    for x, y in zip(flat.views, separate):
        np.testing.assert_array_equal(x, y)
    assert isinstance(a.state[0]["exp_avg"], pywd.QuantizedState)
    assert not isinstance(a.state[1]["exp_avg"], pywd.QuantizedState)      # 300 < 4096
