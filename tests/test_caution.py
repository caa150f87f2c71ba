"""Cautious updates (Liang et al. 2024, "Cautious Optimizers", arXiv 2411.16085; timm's
``caution=True``): the step kept where it has the gradient's sign, times 1 / max(the kept
fraction of the tensor, 1e-3). Every optimiser that takes it (those whose step does not depend
on the weights: the Adam family, Lion, SGD) against pywd.reference's twin, at any thread
count and storage, and against timm's step for step.

Tolerances: kernel against the twin as tests/helpers.py states (float64 1e-12 relative,
float32 2 ulp); against timm, float32 within 2e-6 of the weights' scale after 20 steps (the
same update, its mean taken in float32 by torch)."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pywd
from pywd import reference
from helpers import (VALID_CALLS, assert_matches, assert_same_at_thread_counts, call_update,
                     decay_rules, draw_update_arrays, make_array, timm_optimiser)

CAUTIOUS = ("sgd", "sgdw", "adam", "adamw", "nadam", "radam", "adamax", "ademamix", "lion")


@settings(deadline=None)    # (the profile sets the examples: lighter in CI)
@given(name=st.sampled_from(CAUTIOUS), data=st.data())
def test_every_cautious_optimiser_equals_the_twin(name, data):
    """Lists of awkward shapes (one large enough for several threads at times), float32 and
    float64, every decay mode (with cautious decay, anchors), maximize: the kernel's weights
    and state are the reference's."""
    _, options = VALID_CALLS[name]
    arrays, anchors = draw_update_arrays(data, name)
    twin = {k: [a.copy(order="K") for a in v] for k, v in arrays.items()}
    rules = data.draw(decay_rules())
    options = dict(options, weight_decay=data.draw(st.sampled_from([0.0, 1e-3, 0.1])),
                   maximize=data.draw(st.booleans()), caution=True, decay_to=anchors, **rules)
    call_update(name, arrays, **options)
    getattr(reference, name)(**twin, **options)
    for k in arrays:
        for got, want in zip(arrays[k], twin[k]):
            assert_matches(got, want, f"{name} {k}")


def test_caution_keeps_the_agreeing_steps_and_rescales_them():
    """By hand: SGD without momentum has u = g, so every element with a gradient agrees
    (one with g = 0 has no sign to share: it counts as not kept, so the others' steps grow
    by 4/3); with momentum the disagreeing elements keep their weight (after the decay) and
    the others move by lr * b / kept_fraction."""
    w = np.ones(4)
    g = np.array([1.0, -1.0, 2.0, 0.0])
    pywd.sgd(w, g, lr=0.1, caution=True)
    np.testing.assert_allclose(w, 1 - 0.1 * g * 4 / 3, rtol=1e-15)
    w = np.ones(4)
    b = np.array([2.0, 2.0, -2.0, -2.0])                       # momentum against g in 1 and 2
    pywd.sgd(w, np.array([1.0, -1.0, 1.0, -1.0]), b, lr=0.1, momentum=0.5, weight_decay=0.5,
             decay="decoupled", caution=True)
    b_new = np.array([2.0, 0.0, 0.0, -2.0])                      # 0.5 b + g
    kept = np.array([1.0, 0.0, 0.0, 1.0])                        # b_new * g > 0
    np.testing.assert_allclose(w, 0.95 - 0.1 * b_new * kept / 0.5, rtol=1e-15)
    np.testing.assert_array_equal(b, b_new)                      # the state as without it


def test_no_element_agreeing_leaves_only_the_decay():
    w, g = np.ones(5), -np.ones(5)
    m, v = -np.ones(5), np.ones(5)                 # m opposes g after the update too
    pywd.adamw(w, np.abs(g), m, v, step=2, lr=0.1, weight_decay=0.1, caution=True)
    np.testing.assert_allclose(w, 0.99, rtol=1e-15)


def test_nan_gradients_propagate_as_without_caution():
    w, g = np.ones(3), np.array([1.0, np.nan, 1.0])
    pywd.lion(w, g, np.zeros(3), lr=0.1, caution=True)
    assert np.isnan(w[1]) and np.all(np.isfinite(w[[0, 2]]))


def test_the_thread_count_does_not_change_the_bytes():
    """The kept fraction is counted by fixed blocks: 1, 2 and 3 threads, one large tensor
    and small ones, the same bytes."""
    shapes = [(300_001,), (17, 5), (70_000,)]

    def run():
        r = np.random.default_rng(4)
        p = [make_array(r, s, np.float32) for s in shapes]
        m = [make_array(r, s, np.float32) for s in shapes]
        v = [np.abs(make_array(r, s, np.float32)) for s in shapes]
        g = [make_array(r, s, np.float32) for s in shapes]
        pywd.adamw(p, g, m, v, step=3, lr=1e-2, weight_decay=0.1, caution=True)
        return b"".join(a.tobytes() for a in p + m + v)
    assert_same_at_thread_counts(run)


@pytest.mark.parametrize("storage", ["bfloat16", "8bit"])
def test_16_and_8_bit_storage_take_caution_around_the_float32_kernel(storage):
    """bfloat16 params and grads (rounded to nearest) or 8-bit moments: the float32 cautious
    kernel between the widening and the rounding or encoding, bit for bit."""
    rng = np.random.default_rng(5)
    shapes = [(600,), (3, 300)]
    p = [make_array(rng, s, np.float32) for s in shapes]
    g = [make_array(rng, s, np.float32) for s in shapes]
    if storage == "bfloat16":
        ml_dtypes = pytest.importorskip("ml_dtypes")
        bf16 = np.dtype(ml_dtypes.bfloat16)
        p16, g16 = [a.astype(bf16) for a in p], [a.astype(bf16) for a in g]
        m = [np.zeros(s, np.float32) for s in shapes]
        m32 = [a.copy() for a in m]
        pywd.lion(p16, g16, m, lr=1e-2, caution=True, rounding="nearest")
        wide = [a.astype(np.float32) for a in p16]
        twin = [a.astype(bf16).astype(np.float32) for a in p]
        pywd.lion(twin, [a.astype(np.float32) for a in g16], m32, lr=1e-2, caution=True)
        for got, want in zip(wide, twin):
            np.testing.assert_array_equal(got.view(np.uint32),
                                          want.astype(bf16).astype(np.float32).view(np.uint32))
        for got, want in zip(m, m32):
            np.testing.assert_array_equal(got, want)
        return
    m = pywd.quantize([make_array(rng, s, np.float32) for s in shapes])
    v = pywd.quantize([np.abs(make_array(rng, s, np.float32)) for s in shapes], signed=False)
    twin = {"params": [a.copy() for a in p], "grads": g,
            "exp_avgs": [(np.asarray(q.codes).copy(), q.absmax.copy(), True) for q in m],
            "exp_avg_sqs": [(np.asarray(q.codes).copy(), q.absmax.copy(), False) for q in v]}
    pywd.adamw(p, g, m, v, step=4, lr=1e-2, caution=True)
    reference.q8_step(lambda wide: pywd.adamw(**wide, step=4, lr=1e-2, caution=True), twin,
                      {"exp_avgs", "exp_avg_sqs"})
    for got, want in zip(p, twin["params"]):
        np.testing.assert_array_equal(got, want)
    for got, (codes, absmax, _) in zip(m, twin["exp_avgs"]):
        np.testing.assert_array_equal(np.asarray(got.codes), codes)
        np.testing.assert_array_equal(got.absmax, absmax)


@pytest.mark.parametrize("bad", ["yes", 1, None])
def test_caution_must_be_a_bool_and_nothing_changes(bad):
    w, g = np.ones(4), np.ones(4)
    with pytest.raises(TypeError, match="caution must be a bool"):
        pywd.sgd(w, g, lr=0.1, caution=bad)
    assert np.all(w == 1)


def test_optimisers_whose_step_reads_the_weights_have_no_caution():
    w = np.ones(4)
    with pytest.raises(TypeError, match="caution"):
        pywd.rmsprop(w, np.ones(4), np.zeros(4), lr=0.1, caution=True)


# ------------------------------------------------------------------------------------- timm
TIMM_TWINS = [
    ("adamw", "AdamWLegacy", "AdamW", dict(lr=1e-2, weight_decay=0.05)),   # its "cadamw"
    ("adamw", "AdamWLegacy", "AdamW", dict(lr=1e-2, weight_decay=0.05, amsgrad=True)),
    ("lion", "Lion", "Lion", dict(lr=1e-3, weight_decay=0.5)),
    ("sgdw", "SGDW", "SGDW", dict(lr=1e-2, momentum=0.9, weight_decay=0.05)),
    ("sgdw", "SGDW", "SGDW", dict(lr=1e-2, momentum=0.9, nesterov=True, weight_decay=0.05)),
]


@pytest.mark.parametrize("module, theirs, mine, options", TIMM_TWINS,
                         ids=[f"{m}-{'-'.join(map(str, o.values()))}"
                              for _, _, m, o in TIMM_TWINS])
def test_parity_with_timm_step_for_step(module, theirs, mine, options):
    """timm's class with caution=True and pywd.optim's, float32, the same gradients, 20
    steps: the weights agree after every step."""
    cls = timm_optimiser(module, theirs)              # (skips without torch or timm)
    import torch
    rng = np.random.default_rng(0)
    shapes = [(64, 33), (33,), (7, 5)]
    start = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    tensors = [torch.nn.Parameter(torch.from_numpy(a.copy())) for a in start]
    opt = cls(tensors, caution=True, **options)
    params = [a.copy() for a in start]
    mine_opt = getattr(pywd.optim, mine)(params, caution=True, **options)
    for step in range(20):
        grads = [rng.standard_normal(s).astype(np.float32) for s in shapes]
        for t, g in zip(tensors, grads):
            t.grad = torch.from_numpy(g.copy())
        opt.step()
        mine_opt.step(grads)
        for t, p in zip(tensors, params):
            np.testing.assert_allclose(p, t.detach().numpy(), rtol=0, atol=2e-6,
                                       err_msg=f"step {step + 1}")


def test_the_classes_and_pywd_torch_take_caution_and_save_it():
    """caution is a group option of the classes (saved by state_dict, so a resumed run is
    the same), of pywd.torch's (equal to pywd.optim's), and refused when handing a run to
    torch.optim, which has no cautious update."""
    rng = np.random.default_rng(1)
    start = [rng.standard_normal((30, 20)), rng.standard_normal(20)]
    grads = [[rng.standard_normal(a.shape) for a in start] for _ in range(4)]
    params = [a.copy() for a in start]
    opt = pywd.optim.AdamW(params, lr=1e-2, caution=True)
    assert opt.param_groups[0]["caution"] is True
    for g in grads[:2]:
        opt.step(g)
    resumed_params = [a.copy() for a in params]
    resumed = pywd.optim.AdamW(resumed_params, lr=1e-2)
    resumed.load_state_dict(opt.state_dict())
    assert resumed.param_groups[0]["caution"] is True
    for g in grads[2:]:
        opt.step(g)
        resumed.step(g)
    for a, b in zip(params, resumed_params):
        np.testing.assert_array_equal(a, b)
    torch = pytest.importorskip("torch")
    import pywd.torch as pt
    tensors = [torch.nn.Parameter(torch.from_numpy(a.copy())) for a in start]
    topt = pt.AdamW(tensors, lr=1e-2, caution=True)
    for g in grads:
        for t, gi in zip(tensors, g):
            t.grad = torch.from_numpy(gi.copy())
        topt.step()
    for t, p in zip(tensors, params):
        np.testing.assert_array_equal(t.detach().numpy(), p)
    with pytest.raises(ValueError, match="caution=True"):
        topt.torch_state_dict()
