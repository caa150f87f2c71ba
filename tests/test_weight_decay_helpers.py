"""pywd.optim.param_groups_weight_decay (timm's rule) and pywd.normalized_weight_decay."""
import math

import numpy as np
import pytest

import pywd
from pywd.optim import AdamW, param_groups_weight_decay


def model():
    return {"conv.weight": np.ones((4, 3, 3, 3)), "conv.bias": np.ones(4),
            "norm.weight": np.ones(4), "fc.weight": np.ones((2, 4)),
            "fc.bias": np.ones(2), "pos_embed": np.ones((1, 5, 4)), "cls_token": np.ones((1, 4))}


def test_timms_rule_and_no_weight_decay_patterns():
    groups = param_groups_weight_decay(model().items(), 0.05, ["pos_embed", "cls_*"])
    assert [g["weight_decay"] for g in groups] == [0.0, 0.05]
    assert [n for n, _ in groups[0]["params"]] == ["conv.bias", "norm.weight", "fc.bias",
                                                   "pos_embed", "cls_token"]
    assert [n for n, _ in groups[1]["params"]] == ["conv.weight", "fc.weight"]


def test_arrays_are_the_models_own_memory_and_the_groups_drive_an_optimizer():
    params = model()
    groups = param_groups_weight_decay(params.items(), 0.5)
    assert all(a is params[n] for g in groups for n, a in g["params"])
    opt = AdamW(groups, lr=0.1)
    opt.step({n: np.zeros_like(a) for n, a in params.items()})
    assert params["conv.weight"][0, 0, 0, 0] == pytest.approx(1 - 0.1 * 0.5)
    assert params["conv.bias"][0] == 1.0                  # no decay, zero gradient


def test_an_empty_group_is_left_out():
    groups = param_groups_weight_decay({"b": np.ones(3)}.items())
    assert groups == [{"params": groups[0]["params"], "weight_decay": 0.0}]


def test_torch_parameters_are_viewed_and_frozen_ones_left_out():
    torch = pytest.importorskip("torch")
    net = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.LayerNorm(2))
    net[1].weight.requires_grad_(False)
    groups = param_groups_weight_decay(net.named_parameters(), 0.1)
    names = [[n for n, _ in g["params"]] for g in groups]
    assert names == [["0.bias", "1.bias"], ["0.weight"]]
    _, w = groups[1]["params"][0]
    w[0, 0] = 42.0                                         # the tensor's own memory
    assert net[0].weight[0, 0].item() == 42.0


@pytest.mark.parametrize("args, error, pattern", [
    (dict(named_params=[np.ones(2)]), TypeError, r"\(name, array\) pairs"),
    (dict(named_params={}.items(), weight_decay=-1.0), ValueError, "weight_decay must be"),
    (dict(named_params={}.items(), no_weight_decay_list="bias"), TypeError, "not one str"),
    (dict(named_params=[("w", [1.0, 2.0])]), TypeError, r"w"),
])
def test_bad_input_is_refused(args, error, pattern):
    with pytest.raises(error, match=pattern):
        param_groups_weight_decay(**args)


def test_normalized_weight_decay_is_loshchilov_and_hutters_formula():
    # appendix B: wd = wd_norm * sqrt(b / (B * T)); e.g. CIFAR-10, b = 128, B = 50000,
    # T = 100 epochs
    assert pywd.normalized_weight_decay(0.05, 128, 50_000, 100) == pytest.approx(
        0.05 * math.sqrt(128 / 5e6), rel=1e-15)
    assert pywd.normalized_weight_decay(0.0, 1, 1, 1) == 0.0
    for bad in (dict(batch_size=0), dict(n_train=-1), dict(epochs=math.inf),
                dict(wd_norm=-0.1), dict(batch_size=True)):
        with pytest.raises(ValueError, match="must be a finite number"):
            pywd.normalized_weight_decay(**{**dict(wd_norm=0.05, batch_size=128,
                                                   n_train=50_000, epochs=100), **bad})


# ------------------------------------------------------------------- timescales (EMA view)
from pywd.weight_decay import (Equilibrium, Timescale, rotational_equilibrium,  # noqa: E402
                               timescale, update_weights, weight_decay_for_timescale)


def test_the_timescale_is_one_over_lr_times_wd_in_iterations_and_epochs():
    """Wang & Aitchison's tau_iter = 1/(lr*wd) and tau_epoch = tau_iter * B / N."""
    t = timescale(1e-3, 0.1, batch_size=128, dataset_size=50_000)
    assert isinstance(t, Timescale)
    assert t.iterations == pytest.approx(1e4, rel=1e-15)
    assert t.epochs == pytest.approx(1e4 * 128 / 50_000, rel=1e-15)
    assert timescale(1e-3, 0.1).epochs is None
    assert timescale(0.0, 0.1).iterations == math.inf == timescale(1e-3, 0.0).iterations
    # pywd's other multiplicative rules: the shrink per step is wd*lr/max_lr, wd*lr**2/max_lr
    assert timescale(1e-3, 0.1, decay="independent").iterations == pytest.approx(10.0)
    assert timescale(5e-4, 0.1, decay="independent", max_lr=1e-3).iterations == \
        pytest.approx(20.0)
    assert timescale(5e-4, 0.1, decay="corrected", max_lr=1e-3).iterations == \
        pytest.approx(1 / (0.1 * 5e-4 ** 2 / 1e-3))


def test_a_schedule_gives_one_timescale_per_step():
    lrs = np.linspace(1e-3, 0.0, 11)
    t = timescale(lrs, 0.5, batch_size=10, dataset_size=100)
    np.testing.assert_allclose(t.iterations[:-1], 1 / (0.5 * lrs[:-1]), rtol=1e-15)
    assert t.iterations[-1] == math.inf
    np.testing.assert_allclose(t.epochs[:-1], t.iterations[:-1] / 10, rtol=1e-15)
    # independent decay against the schedule's peak: the lr's shape, wd per step at the peak
    np.testing.assert_allclose(timescale(lrs, 0.5, decay="independent").iterations[0], 2.0)


def test_weight_decay_for_timescale_inverts_timescale():
    """Keep a tuned run's timescale in epochs on a new lr, batch size and dataset: the wd
    scales as batch_size / (lr * dataset_size)."""
    tuned = timescale(1e-3, 0.05, batch_size=256, dataset_size=1_000_000)
    wd = weight_decay_for_timescale(2e-3, epochs=tuned.epochs, batch_size=512,
                                    dataset_size=4_000_000)
    assert wd == pytest.approx(0.05 * (512 / 256) / (2 * 4), rel=1e-14)
    assert timescale(2e-3, wd, batch_size=512, dataset_size=4_000_000).epochs == \
        pytest.approx(tuned.epochs, rel=1e-14)
    assert weight_decay_for_timescale(1e-3, iterations=1e4) == pytest.approx(0.1)


def test_update_weights_are_what_the_final_weights_are_made_of():
    """a * w0 - sum_t c_t u_t equals the run itself (pywd.sgd with decoupled decay, whose
    step is w = (1 - lr*wd) w - lr u), under a warmup-cosine schedule, float64."""
    rng = np.random.default_rng(0)
    steps = 300
    lrs = np.concatenate([np.linspace(1e-3, 0.1, 30),
                          0.05 * (1 + np.cos(np.pi * np.arange(steps - 30) / (steps - 30)))])
    w0 = rng.standard_normal(50)
    updates = rng.standard_normal((steps, 50))
    w = w0.copy()
    for lr, u in zip(lrs, updates):
        pywd.sgd(w, u, lr=float(lr), weight_decay=0.3, decay="decoupled")
    a, c = update_weights(lrs, 0.3)
    np.testing.assert_allclose(w, a * w0 - c @ updates, rtol=1e-12, atol=1e-14)
    assert c.shape == (steps,) and c[-1] == lrs[-1]
    a_const, c_const = update_weights(np.full(100, 0.01), 0.5)       # the EMA's weights
    np.testing.assert_allclose(c_const, 0.01 * (1 - 0.005) ** np.arange(99, -1, -1),
                               rtol=1e-13)
    assert a_const == pytest.approx((1 - 0.005) ** 100, rel=1e-13)


@pytest.mark.parametrize("call, error, match", [
    (lambda: timescale(-1e-3, 0.1), ValueError, "lr must be a finite number >= 0"),
    (lambda: timescale(1e-3, math.nan), ValueError, "weight_decay must be a finite number"),
    (lambda: timescale([[1e-3]], 0.1), ValueError, "lr must be a number or a non-empty 1-d"),
    (lambda: timescale("0.1", 0.1), TypeError, "lr must be a number or a sequence"),
    (lambda: timescale(1e-3, 0.1, decay="l2"), ValueError, "decay must be one of"),
    (lambda: timescale(1e-3, 0.1, batch_size=32), ValueError, "epochs need both"),
    (lambda: timescale(1e-3, 0.1, batch_size=0, dataset_size=10), ValueError,
     "batch_size must be a finite number > 0"),
    (lambda: weight_decay_for_timescale(1e-3), ValueError, "iterations= or as epochs="),
    (lambda: weight_decay_for_timescale(1e-3, epochs=2.0), ValueError,
     "epochs needs batch_size and dataset_size"),
    (lambda: weight_decay_for_timescale(0.0, iterations=10), ValueError, "lr must be"),
    (lambda: update_weights([0.5, 3.0], 1.0), ValueError, "more than all of them"),
])
def test_timescale_helpers_refuse_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


# ----------------------------------------------------------------- rotational equilibrium
def test_the_equilibrium_formulas_are_the_papers():
    """Kosson et al. 2024 (arXiv 2305.17212), as their reference code computes eta_r."""
    e = rotational_equilibrium("adamw", 1e-3, 0.05, betas=(0.8, 0.99), numel=4096)
    assert isinstance(e, Equilibrium)
    assert e.angular_update == pytest.approx(math.sqrt(2 * 1e-3 * 0.05 * 0.2 / 1.8))
    assert e.norm == pytest.approx(math.sqrt(1e-3 * 4096 / (2 * 0.05)))
    assert rotational_equilibrium("adamw", 1e-3, 0.05).norm is None
    e = rotational_equilibrium("sgd", 0.1, 5e-4, momentum=0.9, grad_norm=2.0)
    assert e.angular_update == pytest.approx(math.sqrt(2 * 0.1 * 5e-4 / 1.9))
    assert e.norm == pytest.approx((0.1 / (2 * 5e-4 * 0.1)) ** 0.25 * math.sqrt(2.0))
    e = rotational_equilibrium("lion", 1e-4, 1.0, numel=100)
    k = (1 - 0.9) ** 2 + 0.9 ** 2 * (1 - 0.99) / (1 + 0.99)
    assert e.angular_update == pytest.approx(math.sqrt(math.pi / 2 * 2 * 1e-4 * k))
    assert e.norm == pytest.approx(1e-4 * 10 / e.angular_update)


def random_walk(opt, w, rng, steps, grad_norm=1.0):
    """The paper's model of scale-invariant weights: each gradient of random direction,
    orthogonal to w, of norm grad_norm / |w|. Returns the mean angle per step and the mean
    norm over the second half."""
    angles, norms = [], []
    for t in range(steps):
        xi = rng.standard_normal(w.size)
        xi -= (xi @ w) / (w @ w) * w
        before = w.copy()
        opt.step([grad_norm * xi / np.linalg.norm(xi) / np.linalg.norm(w)])
        if t >= steps // 2:
            cos = before @ w / (np.linalg.norm(before) * np.linalg.norm(w))
            angles.append(math.acos(min(cos, 1.0)))
            norms.append(np.linalg.norm(w))
    return float(np.mean(angles)), float(np.mean(norms))


@pytest.mark.parametrize("name, cls, options, tolerance", [
    ("adamw", pywd.optim.AdamW, dict(lr=0.01, weight_decay=0.1, betas=(0.9, 0.99)), 0.03),
    ("sgd", pywd.optim.SGD, dict(lr=0.5, momentum=0.9, weight_decay=2e-3), 0.02),
    ("lion", pywd.optim.Lion, dict(lr=1e-3, weight_decay=1.0), 0.05)])
def test_random_walks_reach_the_predicted_equilibrium(name, cls, options, tolerance):
    """pywd's optimisers in the paper's random-walk model settle where the formulas say,
    from weights of norm 45 (6000 steps, lr*wd = 1e-3): the angle per step and the norm over
    the last 3000 (measured: AdamW 0.994 and 0.998 of the prediction, SGD 1.000 and 1.000,
    Lion 1.024 and 0.967; AdamW with beta2 0.99, whose second moment follows the gradient's
    growing scale faster than 0.999's in 6000 steps)."""
    rng = np.random.default_rng(0)
    w = rng.standard_normal(2000)
    angle, norm = random_walk(cls([w], **options), w, rng, 6000)
    extra = dict(momentum=options["momentum"], grad_norm=1.0) if name == "sgd" else \
        dict(numel=w.size, betas=options.get("betas"))
    want = rotational_equilibrium(name, options["lr"], options["weight_decay"], **extra)
    assert angle == pytest.approx(want.angular_update, rel=tolerance)
    assert norm == pytest.approx(want.norm, rel=tolerance)


@pytest.mark.parametrize("call, match", [
    (lambda: rotational_equilibrium("adam", 1e-3, 0.1), "optimizer must be one of"),
    (lambda: rotational_equilibrium("adamw", 1e-3, 0.0), "weight_decay must be a finite "
                                                         "number > 0"),
    (lambda: rotational_equilibrium("adamw", 1e-3, 0.1, numel=0), "numel must be an int"),
    (lambda: rotational_equilibrium("adamw", 1e-3, 0.1, betas=(1.0, 0.9)), r"betas\[0\]"),
    (lambda: rotational_equilibrium("adamw", 1e-3, 0.1, momentum=0.9), "not momentum="),
    (lambda: rotational_equilibrium("sgd", 0.1, 0.1, momentum=1.0), "momentum must be"),
    (lambda: rotational_equilibrium("sgd", 0.1, 0.1, numel=10), "grad_norm, not numel"),
    (lambda: rotational_equilibrium("sgd", 0.1, 0.1, betas=(0.9, 0.9)), "not betas="),
])
def test_rotational_equilibrium_refuses_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()
