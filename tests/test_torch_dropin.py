"""pywd.torch, pywd's optimisers as torch.optim.Optimizer subclasses. A small torch
model trained 50 steps with pywd.torch.X and a StepLR scheduler equals the same model trained
with torch.optim.X (float64 within 1e-10, float32 within 4 ulp per step of the largest
weight), and by hypothesis with two groups of their own lr and weight_decay, options drawn
per class and three schedulers (OneCycleLR cycling beta1 or momentum) over 12 steps; the
classes torch lacks equal pywd.optim's on the same memory, byte for byte; the
schedule-free ones equal the schedulefree package. GradScaler, named parameters with no-decay
groups, torch-format state_dicts through torch.save, step(closure) and hooks work as with
torch's optimisers; tensors pywd cannot update in place are refused before anything changes.
Skipped without torch."""
import copy
import io
import pickle
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import pywd.torch as pt  # noqa: E402
from helpers import torch_scalars_in  # noqa: E402
from pywd import optim  # noqa: E402

STEPS = 50
# torch.optim's class -> hyper-parameters that make every part of its update count
TORCH_TWINS = {
    "SGD": dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3),
    "Adam": dict(lr=1e-2, weight_decay=1e-3, amsgrad=True),
    "AdamW": dict(lr=1e-2, weight_decay=0.1),
    "RMSprop": dict(lr=1e-2, momentum=0.5, centered=True, weight_decay=1e-3),
    "Adagrad": dict(lr=0.05, lr_decay=1e-3, weight_decay=1e-3),
    "Adamax": dict(lr=1e-2, weight_decay=1e-3),
    "RAdam": dict(lr=1e-2, weight_decay=1e-3, decoupled_weight_decay=True),
    "Adadelta": dict(lr=1.0, weight_decay=1e-3),
    "NAdam": dict(lr=1e-2, weight_decay=1e-3, momentum_decay=4e-3),
    "Rprop": dict(lr=1e-2),
    "ASGD": dict(lr=1e-2, t0=10, weight_decay=1e-3),
    "Muon": dict(lr=0.02, weight_decay=0.1),
    "Adafactor": dict(lr=1e-2, weight_decay=0.1),
}
# the classes torch lacks, against pywd.optim's
PYWD_ONLY = {"SGDW": dict(lr=0.05, momentum=0.9, weight_decay=1e-2),
             "Lion": dict(lr=1e-3, weight_decay=0.1), "Lamb": dict(lr=1e-2),
             "LARS": dict(lr=0.1, momentum=0.9, weight_decay=1e-3),
             "AdEMAMix": dict(lr=1e-2, t_alpha=3, t_beta3=3)}


def test_every_pywd_optimiser_has_its_torch_class():
    names = [n for n in optim.__all__ if n not in ("Optimizer", "param_groups_weight_decay")]
    assert sorted(names) == sorted(set(TORCH_TWINS) | set(PYWD_ONLY) |
                                   {"AdamWScheduleFree", "SGDScheduleFree"})
    for name in names:
        cls = getattr(pt, name)
        assert issubclass(cls, torch.optim.Optimizer) and cls.pywd_class is getattr(optim, name)
        ours = list(__import__("inspect").signature(cls).parameters.values())
        theirs = list(__import__("inspect").signature(getattr(optim, name)).parameters.values())
        assert ours[1:] == theirs[1:] and ours[0].name == "params"     # torch's params type
        assert "torch.Tensor" in str(ours[0].annotation)


def make_model(dtype, seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(12, 16), torch.nn.Tanh(),
                               torch.nn.Linear(16, 16), torch.nn.Tanh(),
                               torch.nn.Linear(16, 4)).to(dtype)


def data(dtype, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(64, 12, generator=g, dtype=dtype), torch.randint(0, 4, (64,),
                                                                        generator=g)


def trainable(model, name):
    """Muon takes the 2-D weights only."""
    return [p for p in model.parameters() if name != "Muon" or p.ndim == 2]


def train(model, opt, steps, x, y, scheduler=True):
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=10, gamma=0.5) if scheduler else None
    for _ in range(steps):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
        if sched:
            sched.step()


def assert_close_per_step(ours, theirs, dtype, steps=STEPS):
    """float64 within 1e-10 of the largest weight; float32 within 4 ulp per step of it (the
    two round their operations in different orders, an ulp or so a step)."""
    for p, q in zip(ours.parameters(), theirs.parameters()):
        scale = float(q.detach().abs().max())
        tol = 1e-10 if dtype == torch.float64 else 4 * steps * torch.finfo(dtype).eps
        err = float((p.detach() - q.detach()).abs().max())
        assert err <= tol * scale, (err, tol * scale)


@pytest.fixture
def float32_muon(monkeypatch):
    """torch's Muon orthogonalises in bfloat16, pywd's in float32 (README): torch's with
    the float32 Newton-Schulz of test_muon compares within rounding."""
    from test_muon import _ns_float32
    from torch.optim import _muon
    monkeypatch.setattr(_muon, "_zeropower_via_newtonschulz", _ns_float32(torch))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("name", sorted(TORCH_TWINS))
def test_50_steps_with_a_scheduler_equal_torch_optim(name, dtype, float32_muon):
    x, y = data(dtype)
    ours, theirs = make_model(dtype), make_model(dtype)
    options = TORCH_TWINS[name]
    train(ours, getattr(pt, name)(trainable(ours, name), **options), STEPS, x, y)
    # torch keeps ASGD's eta and mu and NAdam's mu_product in its default dtype, pywd in
    # float64: a float64 run compares with torch's made with float64 as its default
    default = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        opt = getattr(torch.optim, name)(trainable(theirs, name), **options)
        train(theirs, opt, STEPS, x, y)
    finally:
        torch.set_default_dtype(default)
    start = make_model(dtype)
    moved = max(float((p - q).detach().abs().max()) for p, q in zip(theirs.parameters(),
                                                            start.parameters()))
    assert moved > 1e-3                 # the run trained: the comparison means something
    # Muon orthogonalises in float32 whatever the params' dtype (README)
    assert_close_per_step(ours, theirs, torch.float32 if name == "Muon" else dtype)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("name", sorted(PYWD_ONLY))
def test_classes_torch_lacks_equal_pywd_optim_on_the_same_memory(name, dtype):
    x, y = data(dtype)
    model, twin = make_model(dtype), make_model(dtype)
    options = PYWD_ONLY[name]
    train(model, getattr(pt, name)(model.parameters(), **options), 20, x, y, scheduler=False)
    arrays = [p.detach().numpy() for p in twin.parameters()]
    opt = getattr(optim, name)(arrays, **options)
    for _ in range(20):
        twin.zero_grad()
        torch.nn.functional.cross_entropy(twin(x), y).backward()
        opt.step([p.grad.numpy() for p in twin.parameters()])
    for p, q in zip(model.parameters(), twin.parameters()):
        assert torch.equal(p, q)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("name", ["AdamWScheduleFree", "SGDScheduleFree"])
def test_schedule_free_equals_the_schedulefree_package_with_train_and_eval(name, dtype):
    schedulefree = pytest.importorskip("schedulefree")
    x, y = data(dtype)
    ours, theirs = make_model(dtype), make_model(dtype)
    options = dict(lr=0.01, weight_decay=1e-3, warmup_steps=5)
    opt_ours = getattr(pt, name)(ours.parameters(), **options)
    with __import__("contextlib").redirect_stdout(io.StringIO()):   # the package prints
        opt_theirs = getattr(schedulefree, name)(theirs.parameters(), **options)
    for model, opt in ((ours, opt_ours), (theirs, opt_theirs)):
        opt.train()
        train(model, opt, 30, x, y, scheduler=False)
        opt.eval()                      # the average x, to evaluate
    assert opt_ours.param_groups[0]["train_mode"] is False
    assert_close_per_step(ours, theirs, dtype, steps=30)
    with pytest.raises(RuntimeError, match="eval mode"):
        opt_ours.step()
    opt_ours.train()
    assert opt_ours.param_groups[0]["train_mode"] is True


# ----------------------------------------------------------------- torch's machinery
def test_a_grad_scaler_skips_the_inf_step_and_unscales_as_with_torch_optim():
    x, y = data(torch.float32)
    runs = []
    for cls in (torch.optim.AdamW, pt.AdamW):
        model = make_model(torch.float32)
        opt = cls(model.parameters(), lr=1e-2)
        scaler = torch.amp.GradScaler("cpu", init_scale=2.0**10)
        for step in range(8):
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x), y)
            scaler.scale(loss * (float("inf") if step == 3 else 1.0)).backward()
            scaler.step(opt)
            scaler.update()
        runs.append((model, opt, scaler.get_scale()))
    (theirs, opt_theirs, scale_theirs), (ours, opt_ours, scale_ours) = runs
    assert scale_ours == scale_theirs == 2.0**9          # halved once, by the inf step
    p0 = next(ours.parameters())
    assert float(opt_ours.state[p0]["step"]) == 7        # the inf step was skipped
    assert_close_per_step(ours, theirs, torch.float32, steps=7)


def test_pywds_fused_grad_scale_and_skip_equal_the_grad_scaler():
    x, y = data(torch.float32)
    models = [make_model(torch.float32) for _ in range(2)]
    scaled = pt.AdamW(models[0].parameters(), lr=1e-2)
    fused = pt.AdamW(models[1].parameters(), lr=1e-2)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**10, growth_interval=1000)
    for step in range(6):
        factor = float("inf") if step == 2 else 1.0
        losses = [torch.nn.functional.cross_entropy(model(x), y) * factor for model in models]
        for model in models:
            model.zero_grad()
        scaler.scale(losses[0]).backward()
        scaler.step(scaled)                          # GradScaler's unscale_ and inf check
        scaler.update(2.0**10)                       # the scale kept, as the fused run's
        (losses[1] * 2.0**10).backward()
        fused.step(grad_scale=2.0**10, nonfinite="skip")    # both fused into the update
    assert fused.skipped_steps == 1
    assert_close_per_step(models[1], models[0], torch.float32, steps=5)


def test_named_parameters_with_no_decay_groups():
    model = make_model(torch.float64)
    groups = pt.param_groups_weight_decay(model.named_parameters(), weight_decay=0.1)
    assert [len(g["params"]) for g in groups] == [3, 3]          # biases, then weights
    assert all(isinstance(p, torch.nn.Parameter) for g in groups for _, p in g["params"])
    opt = pt.AdamW(groups, lr=1e-2)
    assert opt.param_groups[0]["param_names"] == ["0.bias", "2.bias", "4.bias"]
    assert [g["weight_decay"] for g in opt.param_groups] == [0.0, 0.1]
    x, y = data(torch.float64)
    train(model, opt, 3, x, y)
    twin = make_model(torch.float64)
    twin_groups = [{"params": [p for n, p in twin.named_parameters() if n.endswith("bias")],
                    "weight_decay": 0.0},
                   {"params": [p for n, p in twin.named_parameters()
                               if n.endswith("weight")], "weight_decay": 0.1}]
    train(twin, torch.optim.AdamW(twin_groups, lr=1e-2), 3, x, y)
    assert_close_per_step(model, twin, torch.float64)
    saved = opt.state_dict()
    assert saved["param_groups"][1]["param_names"] == ["0.weight", "2.weight", "4.weight"]


def test_state_dict_round_trips_through_torch_save_and_resumes_byte_for_byte():
    x, y = data(torch.float32)
    straight, resumed = make_model(torch.float32), make_model(torch.float32)
    opt = pt.AdamW(straight.parameters(), lr=1e-2, decay_to="init")
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=5, gamma=0.5)
    for step in range(20):
        if step == 10:
            buffer = io.BytesIO()
            torch.save({"model": straight.state_dict(), "opt": opt.state_dict(),
                        "sched": sched.state_dict()}, buffer)
        opt.zero_grad()
        torch.nn.functional.cross_entropy(straight(x), y).backward()
        opt.step()
        sched.step()
    buffer.seek(0)
    saved = torch.load(buffer)                  # weights_only: plain values and tensors
    resumed.load_state_dict(saved["model"])
    opt2 = pt.AdamW(resumed.parameters(), lr=1.0, decay_to="init")
    opt2.load_state_dict(saved["opt"])
    assert opt2.param_groups[0]["initial_lr"] == 1e-2 and opt2.param_groups[0]["lr"] == 2.5e-3
    sched2 = torch.optim.lr_scheduler.StepLR(opt2, step_size=5, gamma=0.5)
    sched2.load_state_dict(saved["sched"])
    for _ in range(10):
        opt2.zero_grad()
        torch.nn.functional.cross_entropy(resumed(x), y).backward()
        opt2.step()
        sched2.step()
    for p, q in zip(straight.parameters(), resumed.parameters()):
        assert torch.equal(p, q)
    p0 = next(resumed.parameters())
    assert torch.equal(opt2.state[p0]["decay_to"], opt.state[next(straight.parameters())]
                       ["decay_to"])               # the anchors came with the state


@pytest.mark.parametrize("name", ["AdamW", "SGD", "NAdam", "Adafactor"])
def test_state_dicts_cross_between_pywd_torch_and_torch_optim(name, float32_muon):
    """Each loads the other's state_dict, and the runs continue alike."""
    x, y = data(torch.float64)
    options = TORCH_TWINS[name]
    for source, target in ((pt, torch.optim), (torch.optim, pt)):
        first, second = make_model(torch.float64), make_model(torch.float64)
        opt = getattr(source, name)(first.parameters(), **options)
        train(first, opt, 5, x, y, scheduler=False)
        second.load_state_dict(first.state_dict())
        other = getattr(target, name)(second.parameters(), **options)
        other.load_state_dict(opt.state_dict())
        train(first, opt, 5, x, y, scheduler=False)
        train(second, other, 5, x, y, scheduler=False)
        assert_close_per_step(first, second, torch.float64)


def test_step_with_a_closure_returns_its_loss_and_runs_the_hooks():
    model = make_model(torch.float64)
    x, y = data(torch.float64)
    opt = pt.SGD(model.parameters(), lr=0.1)
    calls = []
    opt.register_step_pre_hook(lambda o, args, kwargs: calls.append("pre"))
    opt.register_step_post_hook(lambda o, args, kwargs: calls.append("post"))

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        return loss

    before = closure().item()
    assert opt.step(closure).item() == before
    assert calls == ["pre", "post"]
    assert torch.nn.functional.cross_entropy(model(x), y).item() < before


def test_parameters_without_a_grad_are_skipped_as_torch_does():
    model = make_model(torch.float64)
    frozen = model[0].weight
    before = frozen.detach().clone()
    opt = pt.Adam(model.parameters(), lr=0.1)
    x, y = data(torch.float64)
    torch.nn.functional.cross_entropy(model(x), y).backward()
    frozen.grad = None
    opt.step()
    assert torch.equal(frozen, before) and len(opt.state[frozen]) == 0
    assert len(opt.state) == 5
    opt.zero_grad()
    assert opt.step() is None and not opt.last_result      # no gradients: nothing to do


def test_add_param_group_adds_to_both_and_a_refused_one_to_neither():
    model = make_model(torch.float64)
    params = list(model.parameters())
    opt = pt.SGD(params[:4], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": params[3:]})            # torch's check
    with pytest.raises(ValueError, match="momentum"):
        opt.add_param_group({"params": params[4:], "momentum": -1.0})   # pywd's check
    assert len(opt.param_groups) == len(opt.pywd.param_groups) == 1
    opt.add_param_group({"params": params[4:], "lr": 0.5})
    assert [g["lr"] for g in opt.pywd.param_groups] == [0.1, 0.5]
    x, y = data(torch.float64)
    torch.nn.functional.cross_entropy(model(x), y).backward()
    expected = [p.detach() - lr * p.grad for p, lr in zip(params, [0.1] * 4 + [0.5] * 2)]
    opt.step()
    for p, e in zip(params, expected):
        assert torch.equal(p, e)


def test_a_parameter_is_in_the_state_once_a_step_made_its_state():
    frozen, trained = (torch.nn.Parameter(torch.ones(3)) for _ in range(2))
    for cls in (pt.AdamW, torch.optim.AdamW):
        opt = cls([frozen, trained])
        trained.grad = torch.ones(3)
        assert frozen not in opt.state and trained not in opt.state
        opt.step()
        assert frozen not in opt.state and trained in opt.state
        assert torch.ones(3) not in opt.state               # not a parameter
        trained.grad = None


def test_the_state_shows_the_latest_step_and_is_read_only():
    model = make_model(torch.float64)
    opt = pt.Adam(model.parameters(), lr=0.1)
    x, y = data(torch.float64)
    torch.nn.functional.cross_entropy(model(x), y).backward()
    opt.step()
    p0 = next(model.parameters())
    state = opt.state[p0]
    assert set(state) == {"step", "exp_avg", "exp_avg_sq"}
    exp_avg = state["exp_avg"]
    opt.step()
    assert float(opt.state[p0]["step"]) == 2
    assert np.shares_memory(exp_avg.numpy(), opt.pywd.state[0]["exp_avg"])
    with pytest.raises(TypeError):
        state["step"] = torch.tensor(0.0)
    with pytest.raises(TypeError, match="load_state_dict"):
        opt.state = {p0: {}}
    with pytest.raises(KeyError):
        opt.state[torch.zeros(3)]


def test_a_replaced_parameter_memory_is_followed_and_a_changed_dtype_refused():
    model = make_model(torch.float64)
    opt = pt.SGD(model.parameters(), lr=0.5)
    weight = model[0].weight
    weight.data = weight.data.clone()                   # new memory, same shape and dtype
    weight.grad = torch.ones_like(weight)
    expected = weight.detach() - 0.5
    opt.step()
    assert torch.equal(weight, expected)
    model.float()
    model[0].weight.grad = torch.ones_like(model[0].weight)
    with pytest.raises(TypeError, match=r"params\[0\] changed from float64 \(16, 12\) to "
                                        r"float32"):
        opt.step()


def test_copies_and_pickles_are_refused():
    opt = pt.SGD(make_model(torch.float64).parameters(), lr=0.1)
    with pytest.raises(TypeError, match="state_dict"):
        copy.deepcopy(opt)
    with pytest.raises(TypeError, match="state_dict"):
        pickle.dumps(opt)


# ------------------------------------------------------------------ refusals
def refused_tensors():
    return [
        ("meta", torch.nn.Parameter(torch.empty(4, device="meta")), r"is on meta"),
        ("strided", torch.nn.Parameter(torch.ones(4, 6))[:, ::2],
         r"is not contiguous \(shape \(4, 3\), strides \(6, 2\)\)"),
        ("expanded", torch.ones(4, 1).expand(4, 3), r"is not contiguous"),
        ("complex", torch.nn.Parameter(torch.ones(3, dtype=torch.complex64)),
         r"torch.complex64: pywd updates float32"),
        ("sparse", torch.ones(3).to_sparse(), r"torch.sparse_coo tensor"),
        ("array", np.ones(3), r"expected a torch.Tensor"),
    ]


@pytest.mark.parametrize("kind,tensor,pattern", refused_tensors(),
                         ids=[r[0] for r in refused_tensors()])
def test_params_pywd_cannot_update_in_place_are_refused_naming_them(kind, tensor, pattern):
    good = torch.nn.Parameter(torch.ones(3))
    with pytest.raises(TypeError, match=r"params\[1\].*" + pattern):
        pt.AdamW([good, tensor])
    with pytest.raises(TypeError, match=r"params\[1\] \('w'\).*" + pattern):
        pt.AdamW([("b", good), ("w", tensor)])


def channels_last_convnet(dtype, seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU(),
                               torch.nn.Conv2d(8, 4, 3), torch.nn.Flatten(),
                               torch.nn.Linear(4 * 4 * 4, 3)).to(dtype)


@pytest.mark.parametrize("name", ["AdamW", "SGD", "RMSprop"])
def test_channels_last_weights_step_in_their_memory_order_as_torch(name):
    """A channels_last model (convolution weights in memory order (0, 2, 3, 1)) trains as
    torch's optimiser trains it; its state shows in the parameters' layout and a
    torch.optim state_dict loads both ways."""
    x = torch.randn(16, 3, 8, 8, dtype=torch.float64).to(memory_format=torch.channels_last)
    y = torch.randint(0, 3, (16,))
    options = TORCH_TWINS[name]
    models = [channels_last_convnet(torch.float64).to(memory_format=torch.channels_last)
              for _ in range(2)]
    assert not models[0][0].weight.is_contiguous()
    ours = getattr(pt, name)(models[0].parameters(), **options)
    theirs = getattr(torch.optim, name)(models[1].parameters(), **options)
    for model, opt in zip(models, (ours, theirs)):
        train(model, opt, 10, x, y)
    assert_close_per_step(*models, torch.float64)
    weight = models[0][0].weight
    assert not weight.is_contiguous()                   # updated in place, in its layout
    for key, value in theirs.state[models[1][0].weight].items():
        if value.dim():
            assert ours.state[weight][key].shape == value.shape
            assert torch.allclose(ours.state[weight][key], value, rtol=1e-10, atol=1e-14)
    for source, target in ((ours, theirs), (theirs, ours)):
        target.load_state_dict(source.state_dict())
    train(models[0], ours, 3, x, y, scheduler=False)
    train(models[1], theirs, 3, x, y, scheduler=False)
    assert_close_per_step(*models, torch.float64)


@pytest.mark.parametrize("formats", [(torch.contiguous_format, torch.channels_last),
                                     (torch.channels_last, torch.contiguous_format)],
                         ids=["to-channels-last", "to-contiguous"])
@pytest.mark.parametrize("name", ["AdamW", "SGD", "RMSprop"])
def test_a_layout_changed_after_the_optimizer_is_built_is_followed(name, formats):
    """model.to(memory_format=...) after the optimiser is built moves
    the parameters to new memory in another layout: the state is laid out anew with them,
    and the run goes on as torch.optim's."""
    x = torch.randn(16, 3, 8, 8, dtype=torch.float64)
    y = torch.randint(0, 3, (16,))
    start, then = formats
    models = [channels_last_convnet(torch.float64).to(memory_format=start) for _ in range(2)]
    ours = getattr(pt, name)(models[0].parameters(), **TORCH_TWINS[name])
    theirs = getattr(torch.optim, name)(models[1].parameters(), **TORCH_TWINS[name])
    for model, opt in zip(models, (ours, theirs)):
        train(model, opt, 3, x, y, scheduler=False)
        model.to(memory_format=then)
        train(model, opt, 3, x, y, scheduler=False)
    assert_close_per_step(*models, torch.float64, steps=6)
    weight = models[0][0].weight
    assert weight.is_contiguous() == (then == torch.contiguous_format)
    for key, value in theirs.state[models[1][0].weight].items():
        if value.dim():
            assert torch.allclose(ours.state[weight][key], value, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("name", ["Lamb", "LARS"])
def test_a_layout_change_an_optimiser_cannot_follow_is_refused_saying_so(name):
    model = channels_last_convnet(torch.float64)
    opt = getattr(pt, name)(model.parameters(), lr=0.01)
    model.to(memory_format=torch.channels_last)
    for p in model.parameters():
        p.grad = torch.ones_like(p)
    before = [p.detach().clone() for p in model.parameters()]
    with pytest.raises(TypeError, match=r"^params\[0\]'s memory layout changed since the "
                                        r"optimizer was built: it is laid out in memory order "
                                        r"\(0, 2, 3, 1\)"):
        opt.step()
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), before))


@pytest.mark.parametrize("name", ["Adafactor", "Lamb", "LARS"])
def test_optimisers_with_per_tensor_statistics_refuse_other_memory_orders(name):
    model = channels_last_convnet(torch.float32).to(memory_format=torch.channels_last)
    with pytest.raises(TypeError, match=r"params\[0\] is laid out in memory order "
                                        r"\(0, 2, 3, 1\).*takes contiguous parameters"):
        getattr(pt, name)(model.parameters())


def test_a_grad_laid_out_otherwise_than_its_parameter_is_refused():
    weight = torch.nn.Parameter(torch.ones(4, 3, 2, 2).to(memory_format=torch.channels_last))
    opt = pt.SGD([weight], lr=0.1)
    weight.grad = torch.ones(4, 3, 2, 2)                  # contiguous: another order
    with pytest.raises(TypeError, match=r"the grad of params\[0\] is laid out otherwise "
                                        r"than its parameter"):
        opt.step()
    assert (weight == 1).all()


def test_bad_grads_are_refused_before_anything_changes():
    emb = torch.nn.Embedding(10, 4, sparse=True)
    dense = torch.nn.Parameter(torch.ones(3))
    opt = pt.Adam([("dense", dense), ("emb", emb.weight)], lr=0.1)
    weights = emb.weight.detach().clone()
    dense.grad = torch.ones(3)
    emb(torch.tensor([1, 2])).sum().backward()
    with pytest.raises(TypeError, match=r"the grad of params\[1\] \('emb'\) is a "
                                        r"torch.sparse_coo"):
        opt.step()
    assert torch.equal(dense, torch.ones(3)) and torch.equal(emb.weight, weights)
    assert len(opt.state) == 0
    emb.weight.grad = torch.ones(10, 4)
    dense.grad = torch.ones(6)[::2]
    with pytest.raises(TypeError, match=r"the grad of params\[0\] \('dense'\) is not "
                                        r"contiguous"):
        opt.step()
    assert torch.equal(dense, torch.ones(3)) and len(opt.state) == 0


def test_bfloat16_parameters_are_updated_in_place():
    pytest.importorskip("ml_dtypes")
    w = torch.nn.Parameter(torch.ones(1000, dtype=torch.bfloat16))
    opt = pt.AdamW([w], lr=0.25, weight_decay=0.0, rounding="nearest", state_dtype=torch.bfloat16)
    w.grad = torch.ones(1000, dtype=torch.bfloat16)
    opt.step()
    assert torch.equal(w, torch.full((1000,), 0.75, dtype=torch.bfloat16))
    assert opt.state[w]["exp_avg"].dtype == torch.bfloat16
    saved = opt.state_dict()
    assert saved["state"][0]["exp_avg_sq"].dtype == torch.bfloat16
    assert saved["param_groups"][0]["state_dtype"] == "bfloat16"
    opt.load_state_dict(saved)


def test_importing_pywd_does_not_import_torch():
    code = "import sys, pywd, pywd.optim; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_loaded_state_dict_brings_pywds_options_skips_and_rounding_seed():
    model, other = make_model(torch.float64), make_model(torch.float64)
    opt = pt.AdamW(model.parameters(), lr=1e-2, rounding="nearest", cautious_decay=True,
                   rng=5)
    x, y = data(torch.float64)
    train(model, opt, 2, x, y, scheduler=False)
    next(model.parameters()).grad[0, 0] = float("nan")
    opt.step(nonfinite="skip")
    loaded = pt.AdamW(other.parameters(), lr=1e-2)
    saved = opt.state_dict()
    assert saved["param_groups"][0]["rounding"] == "nearest"
    loaded.load_state_dict(saved)
    group = loaded.param_groups[0]
    assert group["rounding"] == "nearest" and group["cautious_decay"] is True
    assert loaded.pywd.param_groups[0]["cautious_decay"] is True
    assert loaded.skipped_steps == 1
    assert (loaded.pywd.rounding_seed, loaded.pywd.rounding_step) == \
        (opt.pywd.rounding_seed, opt.pywd.rounding_step)
    flat = pt.AdamW(make_model(torch.float64).parameters(), lr=0.5)
    flat.load_state_dict(opt.pywd.state_dict())       # pywd.optim's flat format loads too
    assert flat.param_groups[0]["lr"] == 1e-2 and flat.param_groups[0]["initial_lr"] == 1e-2
    assert flat.param_groups[0]["rounding"] == "nearest"


def test_state_dict_hooks_run_as_in_torch():
    opt = pt.SGD(make_model(torch.float64).parameters(), lr=0.1)
    calls = []
    opt.register_state_dict_pre_hook(lambda o: calls.append("save pre"))
    opt.register_state_dict_post_hook(lambda o, sd: {**sd, "note": 1})
    opt.register_load_state_dict_pre_hook(
        lambda o, sd: {k: v for k, v in sd.items() if k != "note"})
    opt.register_load_state_dict_post_hook(lambda o: calls.append("load post"))
    saved = opt.state_dict()
    assert saved["note"] == 1
    opt.load_state_dict(saved)
    assert calls == ["save pre", "load post"]


def test_a_tensor_lr_is_left_to_pywds_check():
    with pytest.raises((TypeError, ValueError), match="lr"):
        pt.SGD([torch.nn.Parameter(torch.ones(3))], lr=torch.tensor(0.1))


# ------------------------------------------------------------- options, by hypothesis
from hypothesis import given, settings, strategies as st  # noqa: E402

OPTION_SPACES = {   # torch.optim's class -> a strategy for its options (valid for both)
    "SGD": st.fixed_dictionaries(dict(momentum=st.sampled_from([0.0, 0.9]),
                                      maximize=st.booleans())),
    "Adam": st.fixed_dictionaries(dict(amsgrad=st.booleans(), maximize=st.booleans(),
                                       betas=st.sampled_from([(0.9, 0.999), (0.5, 0.9)]))),
    "AdamW": st.fixed_dictionaries(dict(amsgrad=st.booleans(), maximize=st.booleans())),
    "RMSprop": st.fixed_dictionaries(dict(centered=st.booleans(), maximize=st.booleans(),
                                          momentum=st.sampled_from([0.0, 0.5]))),
    "Adagrad": st.fixed_dictionaries(dict(lr_decay=st.sampled_from([0.0, 1e-2]),
                                          maximize=st.booleans())),
    "Adamax": st.fixed_dictionaries(dict(maximize=st.booleans())),
    "RAdam": st.fixed_dictionaries(dict(decoupled_weight_decay=st.booleans(),
                                        maximize=st.booleans())),
    "NAdam": st.fixed_dictionaries(dict(decoupled_weight_decay=st.booleans(),
                                        maximize=st.booleans())),
    "Adadelta": st.fixed_dictionaries(dict(maximize=st.booleans())),
    "ASGD": st.fixed_dictionaries(dict(maximize=st.booleans(), t0=st.sampled_from([3, 1e6]))),
    "Rprop": st.fixed_dictionaries(dict(maximize=st.booleans())),
    "Adafactor": st.fixed_dictionaries(dict(maximize=st.booleans())),
}
SCHEDULERS = {
    "exponential": lambda opt: torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.9),
    "lambda": lambda opt: torch.optim.lr_scheduler.LambdaLR(opt, lambda t: 1 / (1 + t)),
    "one cycle": lambda opt: torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=[g["lr"] for g in opt.param_groups], total_steps=12),
}


@st.composite
def dropin_cases(draw):
    name = draw(st.sampled_from(sorted(OPTION_SPACES)))
    options = draw(OPTION_SPACES[name])
    scheduler = draw(st.sampled_from(sorted(SCHEDULERS)))
    if scheduler == "one cycle" and not ("betas" in options or options.get("momentum")
                                         or name in ("AdamW", "Adamax", "NAdam", "RAdam")):
        scheduler = "exponential"       # OneCycleLR cycles momentum or beta1: it needs one
    return (name, options, scheduler, draw(st.sampled_from([torch.float64, torch.float32])),
            draw(st.sampled_from([0.0, 1e-2])), draw(st.sampled_from([1e-2, 3e-3])))


@settings(max_examples=25, deadline=None)
@given(dropin_cases())
def test_options_and_groups_equal_torch_optim_under_any_scheduler(case):
    """Two groups (weights, biases) with their own lr and weight_decay, torch's options drawn
    per class, 12 steps under a scheduler (OneCycleLR also cycles beta1 or momentum through
    the groups): the same weights as torch.optim's class."""
    name, options, scheduler, dtype, weight_decay, lr = case
    if name == "Rprop":
        weight_decay = 0.0          # torch's Rprop has none (pywd's is an addition)
    x, y = data(dtype)
    models = []
    for module in (pt, torch.optim):
        model = make_model(dtype)
        groups = [{"params": [p for n, p in model.named_parameters() if n.endswith("weight")],
                   "weight_decay": weight_decay},
                  {"params": [p for n, p in model.named_parameters() if n.endswith("bias")],
                   "lr": lr / 2}]
        default = torch.get_default_dtype()
        torch.set_default_dtype(dtype)      # torch's scalar state in the run's dtype
        try:
            opt = getattr(module, name)(groups, lr=lr, **options)
            sched = SCHEDULERS[scheduler](opt)
            for _ in range(12):
                opt.zero_grad()
                torch.nn.functional.cross_entropy(model(x), y).backward()
                opt.step()
                sched.step()
        finally:
            torch.set_default_dtype(default)
        models.append(model)
    assert_close_per_step(*models, dtype, steps=12)


# ------------------------------------------------------- handing a run to torch.optim
@pytest.mark.parametrize("name, options", [
    *[(name, {}) for name in sorted(TORCH_TWINS)],
    *[(name, {"decay": "decoupled"}) for name in ("Adam", "RAdam", "NAdam")]])
def test_torch_state_dict_hands_the_run_to_torch_optim(name, options, float32_muon):
    """pywd.torch trains 5 steps, torch.optim's class loads torch_state_dict() into a copy
    of the model, and both go on alike for 5 more (float64); decay="decoupled" goes to
    Adam, RAdam and NAdam as their decoupled_weight_decay switch."""
    hyper = dict(TORCH_TWINS[name])
    x, y = data(torch.float64)
    ours, theirs = make_model(torch.float64), make_model(torch.float64)
    opt = getattr(pt, name)(trainable(ours, name), **hyper, **options)
    train(ours, opt, 5, x, y, scheduler=False)
    handed = opt.torch_state_dict()
    assert "pywd" not in handed and all("decay_to" not in g and "rounding" not in g
                                        for g in handed["param_groups"])
    if options:
        assert all(g["decoupled_weight_decay"] for g in handed["param_groups"])
    theirs.load_state_dict(ours.state_dict())
    with torch_scalars_in(torch, np.float64):       # (ASGD's and NAdam's scalar state)
        twin = getattr(torch.optim, name)(trainable(theirs, name), **hyper)
        twin.load_state_dict(handed)
        train(theirs, twin, 5, x, y, scheduler=False)
    train(ours, opt, 5, x, y, scheduler=False)
    # Muon orthogonalises in float32 whatever the params' dtype (README)
    assert_close_per_step(ours, theirs, torch.float32 if name == "Muon" else torch.float64,
                          steps=5)


@pytest.mark.parametrize("name, options, message", [
    ("AdamW", dict(decay="independent"), r"decay='independent' \(torch's class: 'decoupled'\)"),
    ("SGD", dict(decay="decoupled"), r"decay='decoupled' \(torch's class: 'l2'\)"),
    ("Adam", dict(decay="l1"), r"decay='l1' \(torch's class: 'l2' or 'decoupled'\)"),
    ("AdamW", dict(cautious_decay=True), r"cautious_decay=True"),
    ("AdamW", dict(decay_to="init"), r"decay_to='init' \(torch decays toward 0\)"),
    ("Rprop", dict(weight_decay=0.1), r"weight_decay=0.1 \(torch's class has none\)"),
    ("Lion", {}, r"torch.optim has no Lion"),
    ("AdamWScheduleFree", {}, r"torch.optim has no AdamWScheduleFree"),
])
def test_torch_state_dict_refuses_what_torch_cannot_continue_naming_it(name, options, message):
    model = make_model(torch.float64)
    opt = getattr(pt, name)(model.parameters(), **{"weight_decay": 0.1, **options})
    with pytest.raises(ValueError, match=message):
        opt.torch_state_dict()
    opt.state_dict()                                 # the plain one is always there


def test_torch_state_dict_widens_16_bit_state_and_allows_inert_options():
    model = make_model(torch.float32)
    opt = pt.AdamW(model.parameters(), weight_decay=0.0, decay_to="init",
                   cautious_decay=True, state_dtype=torch.bfloat16, rounding="nearest")
    x, y = data(torch.float32)
    train(model, opt, 2, x, y, scheduler=False)
    handed = opt.torch_state_dict()                  # no decay: its options do nothing
    p0 = next(model.parameters())
    assert opt.state[p0]["exp_avg"].dtype == torch.bfloat16
    assert handed["state"][0]["exp_avg"].dtype == torch.float32
    assert torch.equal(handed["state"][0]["exp_avg"], opt.state[p0]["exp_avg"].float())
    assert "decay_to" not in handed["state"][0]
    torch.optim.AdamW(make_model(torch.float32).parameters()).load_state_dict(handed)
    bf16 = pt.AdamW([torch.nn.Parameter(torch.ones(3, dtype=torch.bfloat16))])
    with pytest.raises(ValueError, match=r"rounding='stochastic' of torch.bfloat16 params "
                                         r"\(torch rounds to nearest\)"):
        bf16.torch_state_dict()
