"""pywd.torch on torch's distributed engines: the spawned checks (tests/torch_dist_checks.py:
FSDP2 against an unsharded replica, torch.optim and timm, tensor-parallel placements,
skips agreed by every process, DDP with ZeroRedundancyOptimizer, distributed checkpoints
resumed byte for byte and resharded from 2 processes to 3, the refusals) on 2 and 3 gloo
processes; and the single-process pieces of the state_dict they rely on."""
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
import torch.distributed as dist  # noqa: E402

import pywd.torch  # noqa: E402

CHECKS = Path(__file__).with_name("torch_dist_checks.py")


def run_checks(*args):
    out = subprocess.run([sys.executable, str(CHECKS), *map(str, args)], capture_output=True,
                         text=True, timeout=400)
    assert out.returncode == 0 and "ALL OK" in out.stdout, (out.stdout + out.stderr)[-6000:]


@pytest.mark.skipif(not (dist.is_available() and dist.is_gloo_available()),
                    reason="torch built without torch.distributed's gloo backend")
def test_fsdp2_zero_and_checkpoints_on_2_and_3_processes(tmp_path):
    run_checks(2, tmp_path)
    run_checks(3, tmp_path)
    run_checks(3, tmp_path, "reshard")       # the 2 processes' checkpoint


def model_and_optimizer(**options):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))
    opt = pywd.torch.AdamW(model.parameters(), lr=1e-2, **options)
    for _ in range(3):
        opt.zero_grad()
        model(torch.ones(2, 3)).sum().backward()
        opt.step()
    return model, opt


def test_each_group_carries_the_runs_counters_for_distributed_checkpoints():
    """torch.distributed.checkpoint keeps an optimizer's "state" and "param_groups" only:
    the counters a resumed run needs (pywd's "pywd" entry) ride in every group too, and
    load from there; torch_state_dict leaves them out."""
    _, opt = model_and_optimizer(rng=5)
    saved = opt.state_dict()
    run = saved["pywd"]
    assert all(g["pywd_run"] == {k: run[k] for k in ("skipped_steps", "rounding_seed",
                                                     "rounding_step")}
               for g in saved["param_groups"])
    del saved["pywd"]
    _, fresh = model_and_optimizer(rng=9)
    fresh.pywd.skipped_steps = 4
    fresh.load_state_dict(saved)
    assert (fresh.pywd.rounding_seed, fresh.pywd.rounding_step, fresh.pywd.skipped_steps) == (
        opt.pywd.rounding_seed, opt.pywd.rounding_step, opt.pywd.skipped_steps)
    assert "pywd_run" not in fresh.param_groups[0]
    assert all("pywd_run" not in g for g in opt.torch_state_dict()["param_groups"])


def test_a_state_dict_keyed_by_parameter_names_loads_by_position():
    """As torch's load_state_dict (and torch.distributed.checkpoint's optimizer state
    dicts, keyed by fully qualified names): the groups' parameters in order are the
    optimizer's, whatever their keys."""
    model, opt = model_and_optimizer()
    saved = opt.state_dict()
    names = [name for name, _ in model.named_parameters()]
    saved["state"] = {names[i]: entries for i, entries in saved["state"].items()}
    for g in saved["param_groups"]:
        g["params"] = [names[i] for i in g["params"]]
    _, fresh = model_and_optimizer(rng=1)
    for p in fresh.pywd.state.values():
        p["exp_avg"][...] = 0.0
    fresh.load_state_dict(saved)
    for mine, theirs in zip(fresh.state.values(), opt.state.values()):
        assert torch.equal(mine["exp_avg"], theirs["exp_avg"])


def test_a_tensor_subclass_numpy_cannot_view_is_refused_by_name():
    """Not torch's '.numpy() is not supported for tensor subclasses' from inside a step:
    a TypeError naming the parameter when the optimizer is built."""
    class Wrapped(torch.Tensor):
        @staticmethod
        def __new__(cls, elem):
            return torch.Tensor._make_wrapper_subclass(cls, elem.shape, dtype=elem.dtype)

        def __init__(self, elem):
            self.elem = elem

        @classmethod
        def __torch_dispatch__(cls, func, types, args=(), kwargs=None):
            def unwrap(x):
                return x.elem if isinstance(x, Wrapped) else x
            out = func(*map(unwrap, args), **{k: unwrap(v) for k, v in (kwargs or {}).items()})
            return Wrapped(out) if func is torch.ops.aten.detach.default else out

    with pytest.raises(TypeError, match=r"params\[1\] is a Wrapped, a tensor subclass whose "
                                        r"memory NumPy cannot view"):
        pywd.torch.SGD([torch.zeros(2), Wrapped(torch.zeros(3))], lr=0.1)
