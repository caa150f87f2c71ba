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
