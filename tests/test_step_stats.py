"""A step's statistics (pywd.StepStats), summed in the update's own pass: against NumPy's
norms of copies taken before and after the step, the step itself unchanged by them, the same
sums at any thread count, the classes' last_stats and pywd.torch's.

Tolerances: the sums are taken per tile in the arrays' float type (float32: lanes of 16
elements, about 1e-6 relative), then in float64: norms within 1e-5 relative for float32 and
1e-12 for float64; the angle within 1e-4 relative where the update is not almost parallel to
the weights (float32; see StepStats)."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pywd
from pywd import StepStats, reference
from helpers import (VALID_CALLS, assert_same_at_thread_counts, call_update, decay_rules,
                     draw_update_arrays)

STATS = ("sgd", "sgdw", "adam", "adamw", "rmsprop", "adagrad", "lion", "adamax", "radam",
         "adadelta", "nadam", "rprop", "asgd", "ademamix")


def numpy_stats(before, after, decay_terms):
    """The statistics from NumPy, in float64."""
    rows = []
    for o, w, c in zip(before, after, decay_terms):
        o, w = o.astype(np.float64).ravel(), w.astype(np.float64).ravel()
        d = w - o
        perp = d - (o @ d) / (o @ o) * o if o @ o > 0 else d
        angle = math.atan2(np.linalg.norm(perp) * np.linalg.norm(o), o @ o + o @ d) \
            if o @ o > 0 else math.nan
        rows.append((np.linalg.norm(o), np.linalg.norm(w), np.linalg.norm(d), angle,
                     np.linalg.norm(c)))
    return np.array(rows).reshape(-1, 5)


def decay_term(o, anchor, lr, wd, decay, max_lr):
    """The displacement the decay alone makes from o (StepStats' c)."""
    x = (o if anchor is None else o - anchor).astype(np.float64)
    if wd == 0:
        return 0 * x
    if decay == "l1":
        return np.minimum(np.abs(x), lr * wd)
    if decay == "l2":
        return lr * wd * x
    return reference.decay_rate(lr, wd, decay, max_lr) * x


@settings(deadline=None)    # (the profile sets the examples: lighter in CI)
@given(name=st.sampled_from(STATS), data=st.data())
def test_stats_are_numpys_and_leave_the_step_as_it_was(name, data):
    """Lists of awkward shapes (one large enough for several threads at times), float32 and
    float64, every decay mode (anchors too): the step with stats=True gives the same bytes
    as without, and its statistics are NumPy's of copies before and after."""
    _, options = VALID_CALLS[name]
    arrays, anchors = draw_update_arrays(data, name)
    plain = {k: [a.copy(order="K") for a in v] for k, v in arrays.items()}
    before = [a.copy() for a in arrays["params"]]
    rules = data.draw(decay_rules())
    options = dict(options, weight_decay=data.draw(st.sampled_from([0.0, 1e-3, 0.1])),
                   decay_to=anchors, **rules)
    result = call_update(name, arrays, stats=True, **options)
    call_update(name, plain, **options)
    for k in arrays:
        for got, want in zip(arrays[k], plain[k]):
            assert got.tobytes() == want.tobytes(), k
    stats = result.stats
    assert isinstance(stats, StepStats) and len(stats) == len(before)
    lr = options.get("lr", 1.0)
    if name == "adagrad":                      # its decay uses the step's decayed lr
        lr = lr / (1 + (options["step"] - 1) * options.get("lr_decay", 0.0))
    if name == "asgd":                         # and ASGD's its step size eta
        lr = reference.asgd_schedule(options["step"], lr)[0]
    terms = [decay_term(o, None if anchors is None else a, lr, options["weight_decay"],
                        options["decay"], options["max_lr"])
             for o, a in zip(before, anchors or [None] * len(before))]
    want = numpy_stats(before, arrays["params"], terms)
    dtype = before[0].dtype if before else np.float64
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    # (relative to each tensor's weight norm: an update or decay far below it is summed
    # with the weights' float type's error of that norm)
    scale = want[:, 0]
    for column, got in enumerate((stats.previous_norm, stats.weight_norm, stats.update_norm,
                                  stats.decay_norm), start=0):
        column = 4 if column == 3 else column
        close = np.abs(got - want[:, column]) <= rtol * (np.abs(want[:, column]) + scale)
        assert np.all(close | (np.isnan(got) & np.isnan(want[:, column]))), (column, got)
    # the angle, where the update has a part orthogonal to the weights that the float32
    # sums resolve (above 1e-2 of |d|; see StepStats)
    for i, (o, w) in enumerate(zip(before, arrays["params"])):
        o64, d = o.astype(np.float64).ravel(), (w.astype(np.float64) - o).ravel()
        oo = o64 @ o64
        if oo > 0 and np.linalg.norm(d - (o64 @ d) / oo * o64) > 1e-2 * np.linalg.norm(d):
            assert stats.angular_update[i] == pytest.approx(want[i, 3], rel=1e-4 if
                                                           dtype == np.float32 else 1e-9)


def test_the_sums_do_not_depend_on_the_thread_count():
    shapes = [(300_001,), (17, 5), (70_000,)]

    def run():
        r = np.random.default_rng(4)
        p = [r.standard_normal(s).astype(np.float32) for s in shapes]
        m = [r.standard_normal(s).astype(np.float32) for s in shapes]
        v = [np.abs(r.standard_normal(s)).astype(np.float32) for s in shapes]
        g = [r.standard_normal(s).astype(np.float32) for s in shapes]
        out = np.empty((3, 4))
        pywd.adamw(p, g, m, v, step=3, lr=1e-2, weight_decay=0.1, stats=out)
        return out.tobytes()
    assert_same_at_thread_counts(run)


def test_pure_decay_is_all_decay_and_turns_nothing():
    """A zero gradient under decoupled decay: the update is the decay (share 1), parallel
    to the weights (angle 0), and shrinks the norm by lr*wd."""
    w = np.random.default_rng(0).standard_normal(1000)
    stats = pywd.sgd(w, np.zeros(1000), lr=0.1, weight_decay=0.5, decay="decoupled",
                     stats=True).stats
    assert stats.decay_share[0] == pytest.approx(1.0, rel=1e-12)
    assert stats.angular_update[0] == pytest.approx(0.0, abs=1e-7)
    assert stats.weight_norm[0] == pytest.approx(0.95 * stats.previous_norm[0], rel=1e-12)


def test_16_and_8_bit_storage_report_the_float32_update():
    ml_dtypes = pytest.importorskip("ml_dtypes")
    bf16 = np.dtype(ml_dtypes.bfloat16)
    r = np.random.default_rng(2)
    w = r.standard_normal(5000).astype(bf16)
    g = r.standard_normal(5000).astype(bf16)
    m, v = pywd.quantized_zeros_like(np.zeros(5000, np.float32)), np.zeros(5000, np.float32)
    before = w.astype(np.float32)
    stats = pywd.adamw(w, g, m, v, step=1, lr=1e-2, rounding="nearest", stats=True).stats
    assert stats.previous_norm[0] == pytest.approx(np.linalg.norm(before), rel=1e-6)
    # the update before rounding: its norm is lr's times sqrt(n) (the first step is +-lr)
    assert stats.update_norm[0] == pytest.approx(1e-2 * math.sqrt(5000) * 1.0, rel=2e-3)


@pytest.mark.parametrize("stats, error, match", [
    ("yes", TypeError, "stats must be True, or a writeable C-contiguous float64 array"),
    (np.empty((2, 4)), ValueError, r"of shape \(1, 4\)"),
    (np.empty((1, 4), np.float32), ValueError, "float64"),
    (np.empty((1, 8))[:, ::2], ValueError, "C-contiguous"),
])
def test_bad_stats_are_refused_before_anything_changes(stats, error, match):
    w, g = np.ones(4), np.ones(4)
    with pytest.raises(error, match=match):
        pywd.sgd(w, g, lr=0.1, stats=stats)
    assert np.all(w == 1)


def test_a_skipped_step_has_no_stats():
    w = np.ones(3)
    result = pywd.sgd(w, np.array([1.0, np.nan, 1.0]), lr=0.1, nonfinite="skip", stats=True)
    assert not result and result.stats is None


# ------------------------------------------------------------------------------ the classes
def test_a_class_tracks_every_parameters_stats_by_name():
    """track_stats: last_stats over every parameter in step()'s order across groups (by
    name where the parameters are named), NaN for a parameter without a gradient; the
    numbers are the functions'."""
    r = np.random.default_rng(1)
    params = {"fc.weight": r.standard_normal((40, 30)), "fc.bias": r.standard_normal(40),
              "out.weight": r.standard_normal((10, 40))}
    start = {k: v.copy() for k, v in params.items()}
    opt = pywd.optim.AdamW(pywd.optim.param_groups_weight_decay(params.items(), 0.1),
                           lr=1e-2)
    assert opt.track_stats is False and opt.last_stats is None
    opt.track_stats = True
    grads = {k: r.standard_normal(v.shape) for k, v in params.items()}
    del grads["out.weight"]
    opt.step(grads)
    stats = opt.last_stats
    assert stats.names == ["fc.bias", "fc.weight", "out.weight"]
    for i, name in enumerate(stats.names[:2]):
        d = params[name] - start[name]
        assert stats.update_norm[i] == pytest.approx(np.linalg.norm(d), rel=1e-12)
        assert stats.weight_norm[i] == pytest.approx(np.linalg.norm(params[name]), rel=1e-12)
    assert np.isnan(stats.update_norm[2])
    assert stats.decay_share[0] == 0.0 and stats.decay_share[1] > 0   # biases: no decay
    opt.track_stats = False
    opt.step(grads)
    assert opt.last_stats is stats                     # not tracked: left as it was


@pytest.mark.parametrize("cls", [pywd.optim.Lamb, pywd.optim.LARS, pywd.optim.Muon,
                                 pywd.optim.Adafactor, pywd.optim.AdamWScheduleFree])
def test_optimisers_whose_pass_is_their_own_say_why(cls):
    opt = cls([np.ones((4, 4))])
    with pytest.raises(ValueError, match="cannot track its steps' statistics"):
        opt.track_stats = True
    with pytest.raises(TypeError, match="track_stats must be a bool"):
        pywd.optim.SGD([np.ones(3)]).track_stats = 1


def test_pywd_torch_tracks_stats_too():
    torch = pytest.importorskip("torch")
    import pywd.torch as pt
    p = torch.nn.Parameter(torch.randn(50, 20, dtype=torch.float64))
    before = p.detach().clone()
    opt = pt.SGD([p], lr=0.1, momentum=0.9)
    opt.track_stats = True
    p.grad = torch.randn(50, 20, dtype=torch.float64)
    opt.step()
    assert opt.pywd.track_stats
    assert opt.last_stats.update_norm[0] == pytest.approx(
        float((p.detach() - before).norm()), rel=1e-12)


def test_plot_draws_a_run():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    from pywd import step_stats
    r = np.random.default_rng(0)
    params = [r.standard_normal((20, 10)), r.standard_normal(20)]
    opt = pywd.optim.AdamW(params, lr=1e-2)
    opt.track_stats = True
    history = []
    for _ in range(5):
        opt.step([r.standard_normal(p.shape) for p in params])
        history.append(opt.last_stats)
    ax = step_stats.plot(history)
    assert len(ax.lines) == 2 and len(ax.lines[0].get_xdata()) == 5
    with pytest.raises(ValueError, match="field must be one of"):
        step_stats.plot(history, field="loss")
