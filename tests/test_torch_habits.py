"""torch habits keep working in pywd.optim. torch's implementation switches
(foreach, fused, capturable, differentiable=False) are accepted and ignored; step(closure)
returns the closure's loss; repr lists groups and hyper-parameters as torch's does; and a
torch optimizer's state_dict loads into the pywd class of the same name (checked against
torch itself when it is installed, and always on a state_dict written in torch's format by
hand)."""
import numpy as np
import pytest

from helpers import torch_scalars_in
from pywd import optim

CLASSES = [optim.SGD, optim.SGDW, optim.Adam, optim.AdamW, optim.RMSprop, optim.Adagrad,
           optim.Lion, optim.Adamax, optim.RAdam,
           optim.Adadelta, optim.NAdam, optim.Rprop, optim.ASGD, optim.Lamb, optim.LARS,
           optim.AdamWScheduleFree, optim.SGDScheduleFree, optim.Adafactor]


@pytest.mark.parametrize("cls", CLASSES)
def test_torch_implementation_switches_are_accepted_and_change_nothing(cls):
    plain_w, switched_w = np.ones(5), np.ones(5)
    plain = cls([plain_w], lr=0.1, weight_decay=0.1)
    switched = cls([switched_w], lr=0.1, weight_decay=0.1, foreach=True, fused=None,
                   capturable=False, differentiable=False)
    for _ in range(3):
        plain.step([np.full(5, 0.5)])
        switched.step([np.full(5, 0.5)])
    assert switched_w.tobytes() == plain_w.tobytes()
    assert "foreach" not in switched.defaults      # not a hyper-parameter: not saved


def test_torch_switches_that_cannot_be_honoured_or_are_misspelt_are_refused():
    w = np.ones(3)
    with pytest.raises(ValueError, match=r"differentiable=True cannot be honoured"):
        optim.Adam([w], differentiable=True)
    with pytest.raises(TypeError, match=r"AdamW\(\) got an unexpected keyword argument "
                                        r"'fusd': did you mean 'fused'\?"):
        optim.AdamW([w], fusd=True)
    with pytest.raises(TypeError, match=r"'weight_deacy': did you mean 'weight_decay'\?"):
        optim.SGD([w], weight_deacy=0.1)
    with pytest.raises(TypeError, match=r"foreach must be a bool or None, got 'yes'"):
        optim.SGD([w], foreach="yes")


def test_adam_takes_torchs_decoupled_weight_decay_as_adamw():
    w, twin = np.ones(4), np.ones(4)
    adam = optim.Adam([w], lr=0.1, weight_decay=0.5, decoupled_weight_decay=True)
    adamw = optim.AdamW([twin], lr=0.1, weight_decay=0.5)
    adam.step([np.ones(4)])
    adamw.step([np.ones(4)])
    assert adam.defaults["decay"] == "decoupled" and w.tobytes() == twin.tobytes()
    with pytest.raises(ValueError, match=r"decoupled_weight_decay=True asks for "
                                         r"decay='decoupled', but decay='l1' was given"):
        optim.Adam([w], decay="l1", decoupled_weight_decay=True)


def test_step_with_a_closure_returns_its_loss_and_steps_with_its_grads():
    w, twin = np.array([3.0, -1.0]), np.array([3.0, -1.0])
    opt, ref = optim.SGD([w], lr=0.1, momentum=0.9), optim.SGD([twin], lr=0.1, momentum=0.9)
    calls = []

    def closure():                  # loss 0.5*|w|^2, gradient w
        calls.append(1)
        return 0.5 * float(w @ w), [w.copy()]

    assert opt.step(closure) == 5.0
    ref.step([np.array([3.0, -1.0])])
    assert opt.step(closure=closure) == pytest.approx(0.5 * float(twin @ twin), rel=1e-15)
    ref.step([twin.copy()])
    assert len(calls) == 2 and w.tobytes() == twin.tobytes()
    with pytest.raises(TypeError, match=r"closure must return \(loss, grads\)"):
        opt.step(lambda: 1.0)
    with pytest.raises(TypeError, match=r"grads or a closure, not both"):
        opt.step([w.copy()], closure=closure)
    with pytest.raises(TypeError, match=r"step needs the gradients"):
        opt.step()


def test_a_skipped_step_with_a_closure_is_counted():
    w = np.ones(2)
    opt = optim.Adam([w], lr=0.1)
    assert opt.step(lambda: (7.0, [np.array([np.nan, 1.0])]), nonfinite="skip") == 7.0
    assert opt.skipped_steps == 1 and w.tolist() == [1.0, 1.0]


def test_repr_lists_each_group_what_it_holds_and_its_hyper_parameters():
    opt = optim.AdamW([{"params": [("fc.weight", np.ones((3, 4), np.float32))]},
                       {"params": [("fc.bias", np.ones(4, np.float32))], "weight_decay": 0.0,
                        "name": "no decay"}], lr=0.1)
    text = repr(opt)
    assert text.splitlines()[0] == "AdamW (" and text.endswith(")")
    first, second = text.split("Parameter Group 1")
    assert "params: 1 array (float32), 12 elements: fc.weight" in first
    assert "    weight_decay: 0.01" in first and "    lr: 0.1" in first
    assert "    decay: 'decoupled'" in first and "    betas: (0.9, 0.999)" in first
    assert "    weight_decay: 0.0" in second and "    name: 'no decay'" in second
    many = optim.SGD([(f"w{i}", np.ones(2)) for i in range(6)], lr=0.1)
    assert "6 arrays (float64), 12 elements: w0, w1, w2, w3, ..." in repr(many)


def torch_format_adam(w):
    """What torch.optim.Adam([w], lr=0.1, weight_decay=0.1, decoupled_weight_decay=True)
    saves after 2 steps of gradient 1 (moments by the equations), with NumPy arrays where
    torch has tensors: the format torch.load gives back."""
    m = (1 - 0.9**2) * np.ones_like(w)
    v = (1 - 0.999**2) * np.ones_like(w)
    group = {"lr": 0.1, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.1,
             "amsgrad": False, "maximize": False, "foreach": None, "capturable": False,
             "differentiable": False, "fused": None, "decoupled_weight_decay": True,
             "initial_lr": 0.1, "params": [0]}
    return {"state": {0: {"step": np.float32(2.0), "exp_avg": m, "exp_avg_sq": v}},
            "param_groups": [group]}


def test_a_torch_format_state_dict_loads_as_its_hyper_parameters_steps_and_moments():
    w = np.ones(3)
    opt = optim.AdamW([w], lr=0.5)
    opt.load_state_dict(torch_format_adam(w))
    group = opt.param_groups[0]
    assert (group["lr"], group["weight_decay"], group["decay"]) == (0.1, 0.1, "decoupled")
    assert group["initial_lr"] == 0.1 and "foreach" not in group
    assert opt.state[0]["step"] == 2 and type(opt.state[0]["step"]) is int
    np.testing.assert_array_equal(opt.state[0]["exp_avg_sq"], (1 - 0.999**2) * np.ones(3))
    with pytest.raises(ValueError, match=r"decoupled_weight_decay=True, but this Adam's "
                                         r"group 0 has decay='l2': load it into "
                                         r"pywd.optim.AdamW"):
        optim.Adam([w]).load_state_dict(torch_format_adam(w))
    with pytest.raises(ValueError, match=r"lacks \['momentum', 'dampening', 'nesterov'\]: it "
                                         r"is not the state of torch.optim.SGD"):
        optim.SGD([w]).load_state_dict(torch_format_adam(w))
    bad = torch_format_adam(w)
    bad["state"][0]["step"] = np.float32(2.5)
    with pytest.raises(ValueError, match=r"must be a whole number in \[0, 2\*\*62\) \(the steps "
                                         r"taken\), got np.float32\(2.5\)"):
        opt.load_state_dict(bad)
    wrong_shape = torch_format_adam(np.ones(4))
    with pytest.raises(ValueError, match=r"state_dict\['state/0/exp_avg'\] is float64 \(4,\)"):
        opt.load_state_dict(wrong_shape)


TORCH_TWINS = [("SGD", dict(lr=0.1, momentum=0.9, weight_decay=0.01, nesterov=True)),
               ("SGD", dict(lr=0.1)),
               ("Adam", dict(weight_decay=0.1, amsgrad=True)),
               ("Adam", dict(weight_decay=0.1, decoupled_weight_decay=True)),
               ("AdamW", dict(weight_decay=0.1)),
               ("RMSprop", dict(momentum=0.5, centered=True, weight_decay=0.01)),
               ("Adagrad", dict(lr_decay=0.01, weight_decay=0.01)),
               ("Adamax", dict(betas=(0.8, 0.99), weight_decay=0.01)),
               ("RAdam", dict(weight_decay=0.01, decoupled_weight_decay=True)),
               ("Adadelta", dict(rho=0.8, weight_decay=0.01)),
               ("NAdam", dict(weight_decay=0.01, momentum_decay=0.01)),
               ("NAdam", dict(weight_decay=0.01, decoupled_weight_decay=True)),
               ("Rprop", dict(etas=(0.4, 1.3), step_sizes=(1e-4, 1.0))),
               ("ASGD", dict(lambd=0.01, t0=1, weight_decay=0.01))]


@pytest.mark.parametrize("name, hyper", TORCH_TWINS)
def test_torch_state_continues_in_pywd_as_it_would_in_torch(name, hyper):
    """3 steps in torch, its state_dict loaded into pywd, 3 more steps in each: the same
    weights (float64, a few ulp: both compute the same expressions)."""
    torch = pytest.importorskip("torch")
    with torch_scalars_in(torch, np.float64):
        _continue_torch_state(torch, name, hyper)


def _continue_torch_state(torch, name, hyper):
    gen = torch.Generator().manual_seed(0)
    params = [torch.nn.Parameter(torch.randn(5, 3, dtype=torch.float64, generator=gen)),
              torch.nn.Parameter(torch.randn(3, dtype=torch.float64, generator=gen))]
    grads = [[torch.randn(p.shape, dtype=torch.float64, generator=gen) for p in params]
             for _ in range(6)]
    theirs = getattr(torch.optim, name)(
        [{"params": params[:1]}, {"params": params[1:], "weight_decay": 0.0}], **hyper)
    for step in range(3):
        for p, g in zip(params, grads[step]):
            p.grad = g.clone()
        theirs.step()
    weights = [p.detach().numpy().copy() for p in params]
    ours = getattr(optim, name)([{"params": weights[:1]},
                                 {"params": weights[1:], "weight_decay": 0.0}], **hyper)
    ours.load_state_dict(theirs.state_dict())
    for step in range(3, 6):
        for p, g in zip(params, grads[step]):
            p.grad = g.clone()
        theirs.step()
        ours.step([g.numpy() for g in grads[step]])
    for mine, p in zip(weights, params):
        np.testing.assert_allclose(mine, p.detach().numpy(), rtol=1e-13, atol=1e-15)
