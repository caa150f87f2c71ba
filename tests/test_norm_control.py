"""Weight-norm control (Loshchilov 2023, "Weight Norm Control", arXiv 2311.11446; AdamWN):
``norm_target=`` makes the multiplicative decay pull each tensor toward the sphere of that
radius, ``w *= 1 - rate * (1 - target / |w|)``. Every optimiser that takes it against
pywd.reference's twin, the equation by hand, the thread count, 16-bit storage, the classes
(a number, "init", a schedule; state_dict in both formats) and bad input.

Tolerances: against the twin, 4 float32 ulp or 1e-12 (float64) of the largest value
(helpers.assert_matches_at_scale): the kernel sums the norm in another order than NumPy, so
a tensor's factor may differ in its last bit, which moves every element by an ulp of its
decay. Equations by hand: 1e-14 relative in float64."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pywd
from pywd import reference
from helpers import (VALID_CALLS, assert_matches_at_scale, assert_same_at_thread_counts,
                     call_update, draw_update_arrays, isa_units, make_array,
                     outputs_by_unit)

CONTROLLED = ("sgd", "sgdw", "adam", "adamw", "nadam", "radam", "adamax", "ademamix", "lion")
MULTIPLICATIVE = ("decoupled", "independent", "corrected")


@settings(deadline=None)    # (the profile sets the examples: lighter in CI)
@given(name=st.sampled_from(CONTROLLED), data=st.data())
def test_every_norm_controlled_optimiser_equals_the_twin(name, data):
    """Lists of awkward shapes, float32 and float64, the multiplicative modes, targets below
    and above the norms (one for all, or one per tensor), caution and maximize: the
    kernel's weights and state are the reference's."""
    _, options = VALID_CALLS[name]
    arrays, _ = draw_update_arrays(data, name)
    twin = {k: [a.copy(order="K") for a in v] for k, v in arrays.items()}
    n = len(arrays["params"])
    per_tensor = data.draw(st.booleans())
    targets = st.sampled_from([0.0, 0.5, 3.0, 40.0])
    norm_target = (data.draw(st.lists(targets, min_size=n, max_size=n)) if per_tensor
                   else data.draw(targets))
    options = dict(options, weight_decay=data.draw(st.sampled_from([0.0, 1e-3, 0.1])),
                   decay=data.draw(st.sampled_from(MULTIPLICATIVE)),
                   max_lr=data.draw(st.sampled_from([None, 1.0, 4.0])),
                   maximize=data.draw(st.booleans()), caution=data.draw(st.booleans()),
                   norm_target=norm_target)
    call_update(name, arrays, **options)
    getattr(reference, name)(**twin, **options)
    for k in arrays:
        for got, want in zip(arrays[k], twin[k]):
            assert_matches_at_scale(got, want)


def test_the_norm_moves_toward_the_target_as_the_equation_says():
    """SGD with a zero gradient does nothing but decay: each step takes the norm to
    (1 - lr*wd) * |w| + lr*wd * target, from above and from below, and the direction stays;
    after k steps |w| - target = (1 - lr*wd)**k * (|w0| - target)."""
    rng = np.random.default_rng(0)
    lr, wd = 0.1, 0.5
    rate = lr * wd
    for target in (0.5, 2.0, 9.0):
        w0 = [rng.standard_normal(50), rng.standard_normal((4, 5))]
        w = [a.copy() for a in w0]
        zero = [np.zeros_like(a) for a in w]
        for _ in range(30):
            pywd.sgdw(w, zero, lr=lr, weight_decay=wd, norm_target=target)
        for a, a0 in zip(w, w0):
            n0, n = np.linalg.norm(a0), np.linalg.norm(a)
            np.testing.assert_allclose(n - target, (1 - rate) ** 30 * (n0 - target),
                                       rtol=1e-12, atol=1e-14)
            np.testing.assert_allclose(a / n, a0 / n0, rtol=1e-13)


def test_a_target_of_zero_is_plain_decay_bit_for_bit():
    rng = np.random.default_rng(1)
    for dtype in (np.float32, np.float64):
        shapes = [(1000,), (7, 3)]
        p = [make_array(rng, s, dtype) for s in shapes]
        g = [make_array(rng, s, dtype) for s in shapes]
        m = [make_array(rng, s, dtype) for s in shapes]
        v = [np.abs(make_array(rng, s, dtype)) for s in shapes]
        twin = [[a.copy() for a in x] for x in (p, m, v)]
        pywd.adamw(p, g, m, v, step=3, lr=1e-2, weight_decay=0.1, norm_target=0.0)
        pywd.adamw(twin[0], g, twin[1], twin[2], step=3, lr=1e-2, weight_decay=0.1)
        for got, want in zip(p + m + v, twin[0] + twin[1] + twin[2]):
            np.testing.assert_array_equal(got, want)


def test_adamwn_holds_the_norm_where_adamw_shrinks_it():
    """AdamW on noise gradients: the norm falls toward its rotational equilibrium; with the
    target set to the initial norm, AdamWN keeps the norm within 3% of it."""
    rng = np.random.default_rng(2)
    w0 = rng.standard_normal(4096)
    runs = {}
    for target in (None, float(np.linalg.norm(w0))):
        w, m, v = w0.copy(), np.zeros(4096), np.zeros(4096)
        for step in range(1, 3001):
            pywd.adamw(w, rng.standard_normal(4096), m, v, step=step, lr=1e-3,
                       weight_decay=0.5, norm_target=target)
        runs[target is None] = np.linalg.norm(w)
    start = np.linalg.norm(w0)
    assert runs[True] < 0.5 * start                    # AdamW: far below the start
    assert abs(runs[False] / start - 1) < 0.03         # AdamWN: at its target


def test_a_zero_tensor_and_a_nan_weight_stay_as_they_are():
    """An all-zero tensor has no direction: the target cannot act (rate 0); a NaN weight
    makes its tensor's norm NaN, and the tensor is decayed as without a target, so the
    NaN does not spread through a NaN factor."""
    w = [np.zeros(5), np.array([1.0, np.nan, 2.0])]
    pywd.sgdw(w, [np.zeros(5), np.zeros(3)], lr=0.1, weight_decay=0.5, norm_target=3.0)
    np.testing.assert_array_equal(w[0], 0.0)
    np.testing.assert_array_equal(w[1][[0, 2]], np.array([1.0, 2.0]) * 0.95)
    assert np.isnan(w[1][1])


def test_the_thread_count_does_not_change_the_bytes():
    """The norms are summed by fixed blocks: 1, 2 and 3 threads, the same bytes."""
    shapes = [(300_001,), (17, 5), (70_000,)]

    def run():
        r = np.random.default_rng(4)
        p = [make_array(r, s, np.float32) for s in shapes]
        m = [make_array(r, s, np.float32) for s in shapes]
        g = [make_array(r, s, np.float32) for s in shapes]
        pywd.lion(p, g, m, lr=1e-2, weight_decay=0.3, norm_target=[100.0, 1.0, 50.0])
        return b"".join(a.tobytes() for a in p + m)
    assert_same_at_thread_counts(run)


def test_every_isa_unit_gives_the_same_bytes():
    """Norm control, with caution and the step statistics (the driver's passes beside the
    update, outside the kernel corpus): the same bytes and sums from every unit this CPU
    runs, float32 and float64, a tensor past the threads' grain."""
    units = isa_units()
    if len(units) == 1:
        pytest.skip("this CPU runs the baseline unit only")
    script = (
        "import numpy as np, pywd, sys, hashlib\n"
        "out = []\n"
        "for dtype in (np.float32, np.float64):\n"
        "    r = np.random.default_rng(0)\n"
        "    shapes = [(100_003,), (37, 5)]\n"
        "    p, g, m, v = ([r.standard_normal(s).astype(dtype) for s in shapes]\n"
        "                  for _ in range(4))\n"
        "    v = [np.abs(a) for a in v]\n"
        "    for step in (1, 2, 3):\n"
        "        s = pywd.adamw(p, g, m, v, step=step, lr=1e-2, weight_decay=0.5, caution=True,\n"
        "                       norm_target=[300.0, 2.0], stats=True).stats\n"
        "        out += [s.sums.tobytes()]\n"
        "        pywd.lion(p, g, m, lr=1e-3, weight_decay=1.0, norm_target=100.0)\n"
        "    out += [a.tobytes() for a in p + m + v]\n"
        "sys.stdout.write(pywd._kernels._isa() + ' ' + hashlib.sha256(b''.join(out))"
        ".hexdigest())\n")
    outputs = outputs_by_unit(script, [dict(PYWD_ISA=isa) for isa in units])
    assert [unit for unit, _ in outputs] == units, outputs
    assert len(set(outputs.values())) == 1, outputs


def test_bfloat16_params_take_the_norm_of_their_widened_values():
    """bfloat16 params (rounded to nearest): the float32 kernel between the widening and
    the rounding, bit for bit, the norm taken of the stored values."""
    ml_dtypes = pytest.importorskip("ml_dtypes")
    bf16 = np.dtype(ml_dtypes.bfloat16)
    rng = np.random.default_rng(5)
    shapes = [(600,), (3, 300)]
    p16 = [make_array(rng, s, np.float32).astype(bf16) for s in shapes]
    g = [make_array(rng, s, np.float32) for s in shapes]
    m, m32 = [np.zeros(s, np.float32) for s in shapes], [np.zeros(s, np.float32) for s in shapes]
    twin = [a.astype(np.float32) for a in p16]
    pywd.lion(p16, g, m, lr=1e-2, weight_decay=1.0, norm_target=30.0, rounding="nearest")
    pywd.lion(twin, g, m32, lr=1e-2, weight_decay=1.0, norm_target=30.0)
    for got, want in zip(p16, twin):
        np.testing.assert_array_equal(got.astype(np.float32).view(np.uint32),
                                      want.astype(bf16).astype(np.float32).view(np.uint32))


def test_step_statistics_see_each_tensors_own_decay():
    """stats=True: the decay's displacement of a tensor is |rate_t| * |w| with its own rate,
    rate_t = lr*wd*(1 - target/|w|) (negative below the target: the decay grows it)."""
    w = [np.full(4, 0.5), np.full(9, 2.0)]                 # norms 1 and 6
    result = pywd.sgdw(w, [np.zeros(4), np.zeros(9)], lr=0.1, weight_decay=0.5,
                       norm_target=3.0, stats=True)
    rates = np.array([0.05 * (1 - 3.0 / 1.0), 0.05 * (1 - 3.0 / 6.0)])
    np.testing.assert_allclose(result.stats.decay_norm, np.abs(rates) * [1.0, 6.0],
                               rtol=1e-14)
    np.testing.assert_allclose(result.stats.weight_norm,
                               (1 - rates) * [1.0, 6.0], rtol=1e-14)


@pytest.mark.parametrize("bad, error, words", [
    (-1.0, ValueError, "norm_target must be a finite number >= 0"),
    (math.nan, ValueError, "norm_target must be a finite number >= 0"),
    ("init", TypeError, "norm_target must be a real number"),
    (True, TypeError, "norm_target must be a real number, got bool"),
    ([1.0], ValueError, "norm_target has 1 values for 2 tensors"),
    ([1.0, -2.0], ValueError, r"norm_target\[1\] must be a finite number >= 0"),
])
def test_bad_targets_are_refused_before_anything_changes(bad, error, words):
    w = [np.ones(3), np.ones(2)]
    m = [np.zeros(3), np.zeros(2)]
    with pytest.raises(error, match=words):
        pywd.lion(w, [np.ones(3), np.ones(2)], m, lr=0.1, weight_decay=0.1, norm_target=bad)
    assert all((a == 1).all() for a in w) and all((a == 0).all() for a in m)


@pytest.mark.parametrize("options, words", [
    (dict(decay="l2"), "norm_target needs a multiplicative decay"),
    (dict(decay="l1"), "the call's decay is 'l1'"),
    (dict(decay_to=[np.zeros(3)]), "norm_target and decay_to cannot be combined"),
    (dict(cautious_decay=True), "norm_target and cautious_decay=True cannot be combined"),
])
def test_rules_it_cannot_scale_are_refused(options, words):
    w = np.ones(3)
    with pytest.raises(ValueError, match=words):
        pywd.sgd(w, np.ones(3), lr=0.1, weight_decay=0.1, norm_target=1.0,
                 **dict(dict(decay="decoupled"), **options))
    assert (w == 1).all()


# --------------------------------------------------------------------------- the classes
def _noise_steps(opt, params, steps, seed):
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        opt.step([rng.standard_normal(p.shape) for p in params])


def test_the_class_with_a_number_steps_as_the_function():
    rng = np.random.default_rng(6)
    params = [rng.standard_normal((8, 4)), rng.standard_normal(5)]
    twin = [p.copy() for p in params]
    opt = pywd.optim.AdamW(params, lr=1e-2, weight_decay=0.2, norm_target=1.5)
    _noise_steps(opt, params, 5, 7)
    m, v = [np.zeros_like(p) for p in twin], [np.zeros_like(p) for p in twin]
    rng = np.random.default_rng(7)
    for step in range(1, 6):
        pywd.adamw(twin, [rng.standard_normal(p.shape) for p in twin], m, v, step=step,
                   lr=1e-2, weight_decay=0.2, norm_target=1.5)
    for got, want in zip(params, twin):
        np.testing.assert_array_equal(got, want)


def test_init_targets_each_parameters_norm_and_survives_a_state_dict():
    """norm_target="init": each parameter's norm when its group was added (state
    "init_norm"); a saved and loaded run continues with the same targets, bytes equal."""
    rng = np.random.default_rng(8)
    params = [rng.standard_normal((16, 8)), 3 * rng.standard_normal(40)]
    start = [np.linalg.norm(p) for p in params]
    opt = pywd.optim.Lion(params, lr=1e-3, weight_decay=1.0, norm_target="init")
    assert [opt.state[i]["init_norm"] for i in range(2)] == pytest.approx(start, rel=1e-15)
    _noise_steps(opt, params, 200, 9)
    for p, n in zip(params, start):            # Lion's steps are large: the norm is held
        assert abs(np.linalg.norm(p) / n - 1) < 0.1
    saved = opt.state_dict()
    assert saved["param_groups/0/norm_target"] == "init"
    resumed_params = [p.copy() for p in params]
    resumed = pywd.optim.Lion(resumed_params, lr=1e-3, weight_decay=1.0, norm_target="init")
    resumed.load_state_dict(saved)                 # the saved norms, not today's
    assert [resumed.state[i]["init_norm"] for i in range(2)] == pytest.approx(start, rel=1e-15)
    _noise_steps(opt, params, 3, 10)
    _noise_steps(resumed, resumed_params, 3, 10)
    for got, want in zip(resumed_params, params):
        np.testing.assert_array_equal(got, want)


def test_a_schedule_sets_the_groups_target_between_steps():
    """A scheduled target: the group's norm_target set before each step, as a scheduler
    sets the lr; each step follows the value it finds (a zero gradient: by the equation)."""
    w = np.full(4, 1.0)                                 # norm 2
    opt = pywd.optim.SGDW([w], lr=0.1, weight_decay=1.0, norm_target=2.0)
    norm = 2.0
    for target in (2.0, 4.0, 1.0):
        opt.param_groups[0]["norm_target"] = target
        opt.step([np.zeros(4)])
        norm = 0.9 * norm + 0.1 * target
        np.testing.assert_allclose(np.linalg.norm(w), norm, rtol=1e-14)


def test_a_scheduler_drives_the_target():
    """pywd's schedulers drive norm_target as they drive the lr (field="norm_target"): a
    cosine from 4 to 1 over 4 steps, and a zero gradient's steps follow each value."""
    from pywd.optim import lr_scheduler
    w = np.full(4, 1.0)
    opt = pywd.optim.SGDW([w], lr=0.1, weight_decay=1.0, norm_target=4.0)
    cosine = lr_scheduler.CosineAnnealingLR(opt, T_max=4, eta_min=1.0, field="norm_target")
    norm = 2.0
    for k in range(4):
        target = 1.0 + 3.0 * (1 + math.cos(math.pi * k / 4)) / 2
        assert opt.param_groups[0]["norm_target"] == pytest.approx(target, rel=1e-12)
        opt.step([np.zeros(4)])
        cosine.step()
        norm = 0.9 * norm + 0.1 * target
        np.testing.assert_allclose(np.linalg.norm(w), norm, rtol=1e-13)
    with pytest.raises(ValueError, match="has no number 'norm_target' to schedule"):
        lr_scheduler.StepLR(pywd.optim.SGDW([np.ones(2)], weight_decay=0.1, norm_target="init"),
                            step_size=1, field="norm_target")


@pytest.mark.parametrize("value, error, words", [
    ("initial", ValueError, "norm_target must be None, a number >= 0 or 'init'"),
    (-1.0, ValueError, "norm_target must be a finite number >= 0"),
])
def test_the_class_refuses_bad_targets_when_built(value, error, words):
    with pytest.raises(error, match=words):
        pywd.optim.AdamW([np.ones(3)], norm_target=value)


def test_the_class_refuses_a_target_its_decay_cannot_scale():
    with pytest.raises(ValueError, match="norm_target needs a multiplicative decay"):
        pywd.optim.Adam([np.ones(3)], weight_decay=0.1, norm_target=1.0)


def test_init_set_after_the_group_was_added_is_refused_at_the_step():
    w = np.ones(3)
    opt = pywd.optim.AdamW([w], norm_target=1.0)
    opt.param_groups[0]["norm_target"] = "init"
    with pytest.raises(ValueError, match="parameter 0 has no initial norm"):
        opt.step([np.ones(3)])
    assert (w == 1).all()


def test_pywd_torch_carries_the_targets_in_torchs_format():
    """pywd.torch.AdamW with norm_target="init": its state_dict (torch's format) holds the
    group's target and each parameter's initial norm; a new optimiser loading it continues
    the run bit for bit; torch_state_dict refuses (torch decays toward 0)."""
    torch = pytest.importorskip("torch")
    import pywd.torch  # noqa: F401  (after the skip: it imports torch)
    torch.manual_seed(0)
    model = torch.nn.Linear(6, 3).double()
    opt = pywd.torch.AdamW(model.parameters(), lr=1e-2, weight_decay=0.5, norm_target="init")
    start = [float(p.detach().norm()) for p in model.parameters()]
    x = torch.randn(32, 6, dtype=torch.float64)
    for _ in range(5):
        opt.zero_grad()
        model(x).square().sum().backward()
        opt.step()
    saved = opt.state_dict()
    assert saved["param_groups"][0]["norm_target"] == "init"
    assert [float(saved["state"][i]["init_norm"]) for i in range(2)] == \
        pytest.approx(start, rel=1e-15)
    twin = torch.nn.Linear(6, 3).double()
    twin.load_state_dict(model.state_dict())
    opt2 = pywd.torch.AdamW(twin.parameters(), lr=1e-2, weight_decay=0.5, norm_target="init")
    opt2.load_state_dict(saved)
    for m, o in ((model, opt), (twin, opt2)):
        o.zero_grad()
        m(x).square().sum().backward()
        o.step()
    for a, b in zip(model.parameters(), twin.parameters()):
        assert torch.equal(a, b)
    with pytest.raises(ValueError, match="norm_target='init' \\(torch decays toward 0\\)"):
        opt.torch_state_dict()
