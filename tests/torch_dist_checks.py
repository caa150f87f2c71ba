"""pywd.torch on torch's distributed engines, run by tests/test_torch_distributed.py as
``python torch_dist_checks.py RANKS WORKDIR`` (RANKS processes spawned, gloo on CPU, float64).

Each process checks, and rank 0 prints "ALL OK" once every process has passed:
- FSDP2 (fully_shard): pywd.torch's optimisers step each process's slices in place; after
  20 steps the gathered parameters match an unsharded replica that every process steps with
  the same optimiser on the mean gradient of all processes' batches (LAMB's and LARS's trust
  ratios, caution, norm control, clipping and the statistics need whole-tensor sums), and
  the same script with torch.optim's AdamW and SGD, and timm's Lamb and Lion (where timm is
  installed), which step the DTensors through torch's arithmetic;
- other placements (a weight sharded along its columns, a replicated bias whose gradient
  is a pending sum) against plain tensors;
- a non-finite gradient on one process skips the step on every process, or raises on
  every process with nothing changed; so does a float32 overflow once unscaled;
- DDP with ZeroRedundancyOptimizer(optimizer_class=pywd.torch.AdamW) matches torch's AdamW;
- torch.distributed.checkpoint saves and restores the sharded state (float32, bfloat16 and
  8-bit state; bfloat16 params): the resumed run's bytes are the uninterrupted run's; a
  checkpoint saved by 2 processes loads on 3 (run with "reshard": the state loaded is the
  one saved, 8-bit state within its quantisation);
- Adafactor, Muon and a Partial placement are refused with a clear TypeError.
"""
import functools
import math
import os
import sys
import traceback

import torch
import torch.distributed as dist
import torch.distributed.checkpoint as dcp
import torch.multiprocessing as mp
from torch.distributed.checkpoint.state_dict import (get_model_state_dict,
                                                     get_optimizer_state_dict,
                                                     set_model_state_dict,
                                                     set_optimizer_state_dict)
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.fsdp import fully_shard
from torch.distributed.tensor import DTensor, Partial, Replicate, Shard, distribute_tensor

import pywd.torch
from helpers import timm_optimiser

STEPS = 20
TOL = 1e-12


def make_model(dtype=torch.float64, hidden=7):
    """Shapes that shard unevenly over 2 and 3 processes, one with an empty slice (hidden
    2100: a first weight whose slices keep 8-bit state, of 4096 elements or more)."""
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(6, hidden), torch.nn.Tanh(),
                               torch.nn.Linear(hidden, 2), torch.nn.Tanh(),
                               torch.nn.Linear(2, 3)).to(dtype)


def shard(model, world):
    mesh = init_device_mesh("cpu", (world,))
    for layer in model:
        if isinstance(layer, torch.nn.Linear):
            fully_shard(layer, mesh=mesh)
    fully_shard(model, mesh=mesh)
    return model


def batch(rank, step):
    g = torch.Generator().manual_seed(1000 * step + rank)
    return (torch.randn(5, 6, generator=g, dtype=torch.float64),
            torch.randn(5, 3, generator=g, dtype=torch.float64))


def loss_of(model, x, y):
    dtype = next(model.parameters()).dtype
    return ((model(x.to(dtype)) - y.to(dtype)) ** 2).mean()


def train(model, opt, rank, world, steps, replica=False, step_args=None, poison=None):
    """`steps` steps on this process's batches (a replica: on the mean loss of every
    process's batches); poison: (step, rank) whose gradient gets a NaN."""
    for step in range(steps):
        opt.zero_grad()
        if replica:
            loss = sum(loss_of(model, *batch(r, step)) for r in range(world)) / world
        else:
            loss = loss_of(model, *batch(rank, step))
        loss.backward()
        if poison is not None and step == poison[0] and (replica or rank == poison[1]):
            p = next(model.parameters())
            local = p.grad.to_local() if isinstance(p.grad, DTensor) else p.grad
            if local.numel():
                local.view(-1)[0] = float("nan")
            elif not replica:                    # an empty slice: poison another tensor
                next(q for q in model.parameters()
                     if q.grad.to_local().numel()).grad.to_local().view(-1)[0] = float("nan")
        opt.step(**(step_args or {}))


def full(p):
    return p.full_tensor() if isinstance(p, DTensor) else p


def assert_close(sharded, replica, what, tol=TOL):
    """The gathered parameters of model `sharded` against `replica`'s (a model or tensors)."""
    others = replica.parameters() if isinstance(replica, torch.nn.Module) else replica
    for (name, p), q in zip(sharded.named_parameters(), others):
        diff = (full(p.detach()) - full(q.detach())).abs().max().item()
        assert diff <= tol, f"{what}: {name} differs by {diff:.3g}"


CASES = [  # (class, options, step options)
    ("AdamW", dict(lr=1e-2, weight_decay=0.1), {}),
    ("SGD", dict(lr=5e-2, momentum=0.9, nesterov=True, weight_decay=1e-2), {}),
    ("Lion", dict(lr=1e-3, weight_decay=0.5), {}),
    ("Lamb", dict(lr=1e-2, weight_decay=0.1), {}),
    ("Lamb", dict(lr=1e-2, weight_decay=0.1, trust_clip=True, decay="l2"), {}),
    ("LARS", dict(lr=5e-2, momentum=0.9, weight_decay=1e-3), {}),
    ("AdamW", dict(lr=1e-2, weight_decay=0.1, caution=True), {}),
    ("Adam", dict(lr=1e-2, weight_decay=0.1, decay="decoupled", norm_target=1.5,
                  caution=True), {}),
    ("AdamW", dict(lr=1e-2, weight_decay=0.1, norm_target="init"), {}),
    ("AdamW", dict(lr=1e-2, weight_decay=0.1), dict(max_grad_norm=0.05)),
    ("RMSprop", dict(lr=1e-2, weight_decay=1e-2, momentum=0.5), dict(nonfinite="skip")),
]


def check_against_replica(rank, world):
    for name, options, step_args in CASES:
        cls = getattr(pywd.torch, name)
        model, replica = shard(make_model(), world), make_model()
        opt, ref = cls(model.parameters(), **options), cls(replica.parameters(), **options)
        opt.track_stats = ref.track_stats = name != "Lamb" and name != "LARS"
        train(model, opt, rank, world, STEPS, step_args=step_args)
        train(replica, ref, rank, world, STEPS, replica=True, step_args=step_args)
        what = f"{name} {options} {step_args}"
        assert_close(model, replica, what)
        if opt.track_stats:
            diff = abs(opt.last_stats.sums - ref.last_stats.sums).max()
            assert diff <= 1e-10 * abs(ref.last_stats.sums).max(), f"{what}: stats {diff}"
        if "max_grad_norm" in step_args:
            assert opt.last_result.grad_norm > 0.05, "the clip did not act"
            assert math.isclose(opt.last_result.grad_norm, ref.last_result.grad_norm,
                                rel_tol=1e-12), what
        # the state is placed as its parameter, and reads as the replica's
        for p, q in zip(model.parameters(), replica.parameters()):
            for key, value in opt.state[p].items():
                if value.dim():
                    assert isinstance(value, DTensor) and value.placements == p.placements
                    assert (full(value) - ref.state[q][key]).abs().max() <= TOL, (what, key)


def peers():
    """(name, their class, options, our step options): torch.optim's AdamW and SGD, and
    where timm is installed its Lamb and Lion, which step DTensors through torch's own
    arithmetic."""
    out = [("AdamW", torch.optim.AdamW, dict(lr=1e-2, weight_decay=0.1), {}),
           ("SGD", torch.optim.SGD, dict(lr=5e-2, momentum=0.9, weight_decay=1e-2), {})]
    try:
        # (timm's Lamb clips by default, dividing by norm/max where torch's clip_grad_norm_,
        # which pywd follows, multiplies by max/(norm + 1e-6): off here)
        lamb = functools.partial(timm_optimiser("lamb", "Lamb"), max_grad_norm=None)
        out += [("Lamb", lamb, dict(lr=1e-2, weight_decay=0.1), {}),
                ("Lion", timm_optimiser("lion", "Lion"), dict(lr=1e-3, weight_decay=0.5), {})]
    except BaseException:           # noqa: BLE001  (pytest's Skipped: timm is not installed)
        pass
    return out


def check_against_peers(rank, world):
    for name, cls, options, step_args in peers():
        model, theirs = shard(make_model(), world), shard(make_model(), world)
        opt = getattr(pywd.torch, name)(model.parameters(), **options)
        ref = cls(theirs.parameters(), **options)
        train(model, opt, rank, world, STEPS, step_args=step_args)
        train(theirs, ref, rank, world, STEPS)
        assert_close(model, theirs, f"{getattr(cls, '__module__', 'timm')} {name}")


def check_tensor_parallel(rank, world):
    """Placements other than FSDP2's: a weight sharded along its columns (uneven), a
    replicated bias whose gradient comes as a pending sum (Partial: redistributed, as
    torch's DTensor arithmetic would), against plain tensors."""
    mesh = init_device_mesh("cpu", (world,))
    g = torch.Generator().manual_seed(7)
    w0 = torch.randn(4, 7, generator=g, dtype=torch.float64)
    b0 = torch.randn(5, generator=g, dtype=torch.float64)
    for name, options in [("Lamb", dict(lr=1e-2, weight_decay=0.1)),
                          ("AdamW", dict(lr=1e-2, weight_decay=0.1, caution=True))]:
        params = [torch.nn.Parameter(distribute_tensor(w0.clone(), mesh, [Shard(1)])),
                  torch.nn.Parameter(distribute_tensor(b0.clone(), mesh, [Replicate()]))]
        plain = [torch.nn.Parameter(w0.clone()), torch.nn.Parameter(b0.clone())]
        opt = getattr(pywd.torch, name)(params, **options)
        ref = getattr(pywd.torch, name)(plain, **options)
        for step in range(5):
            gw = torch.randn(4, 7, generator=g, dtype=torch.float64)
            gb = torch.randn(5, generator=g, dtype=torch.float64)
            params[0].grad = distribute_tensor(gw, mesh, [Shard(1)])
            params[1].grad = DTensor.from_local(gb / world, mesh, [Partial()])
            plain[0].grad, plain[1].grad = gw, gb
            opt.step()
            ref.step()
        for p, q in zip(params, plain):
            diff = (p.full_tensor() - q).abs().max().item()
            assert diff <= TOL, f"tensor parallel {name}: {diff:.3g}"


def check_nonfinite_everywhere(rank, world):
    """A NaN on one process skips the step on all of them, or raises on all with nothing
    changed; so does a float32 gradient that overflows once unscaled (grad_scale < 1)."""
    model = shard(make_model(), world)
    opt = pywd.torch.AdamW(model.parameters(), lr=1e-2)
    train(model, opt, rank, world, 3, step_args=dict(nonfinite="skip"), poison=(1, world - 1))
    assert opt.skipped_steps == 1, opt.skipped_steps
    before = [full(p.detach()).clone() for p in model.parameters()]
    try:
        train(model, opt, rank, world, 1, step_args=dict(nonfinite="raise"),
              poison=(0, world - 1))
    except FloatingPointError as err:
        assert "on some process" in str(err), err
    else:
        raise AssertionError("nonfinite='raise' did not raise")
    assert all(torch.equal(full(p.detach()), b) for p, b in zip(model.parameters(), before))
    model = shard(make_model(torch.float32), world)
    opt = pywd.torch.SGD(model.parameters(), lr=1e-2)
    for p in model.parameters():
        local = torch.full_like(p.to_local(), 1e-30)
        if rank == world - 1 and local.numel():
            local.view(-1)[0] = 100.0               # times 1e37: beyond float32's range
        p.grad = DTensor.from_local(local, p.device_mesh, p.placements, shape=p.shape,
                                    stride=p.stride())
    before = [full(p.detach()).clone() for p in model.parameters()]
    assert not opt.step(nonfinite="skip", grad_scale=1e-37) and opt.skipped_steps == 1
    assert all(torch.equal(full(p.detach()), b) for p, b in zip(model.parameters(), before))


def check_zero(rank, world):
    from torch.distributed.optim import ZeroRedundancyOptimizer
    from torch.nn.parallel import DistributedDataParallel
    results = []
    for cls in (pywd.torch.AdamW, torch.optim.AdamW):
        model = DistributedDataParallel(make_model())
        opt = ZeroRedundancyOptimizer(model.parameters(), optimizer_class=cls, lr=1e-2,
                                      weight_decay=0.1)
        train(model, opt, rank, world, STEPS)
        results.append([p.detach().clone() for p in model.parameters()])
    for mine, theirs in zip(*results):
        assert (mine - theirs).abs().max() <= TOL, "ZeroRedundancyOptimizer"


def check_checkpoint(rank, world, workdir):
    for dtype, state_dtype in ((torch.float64, None), (torch.float32, torch.bfloat16),
                               (torch.bfloat16, None), (torch.float32, "8bit")):
        options = dict(lr=1e-2, weight_decay=0.1, state_dtype=state_dtype)
        hidden = 2100 if state_dtype == "8bit" else 7
        model = shard(make_model(dtype, hidden), world)
        opt = pywd.torch.AdamW(model.parameters(), **options)
        train(model, opt, rank, world, 5)
        path = os.path.join(workdir, f"ckpt-{world}-{dtype}-{state_dtype}")
        dcp.save({"model": get_model_state_dict(model),
                  "optim": get_optimizer_state_dict(model, opt)}, checkpoint_id=path)
        if state_dtype == "8bit":
            assert isinstance(opt.pywd.state[0]["exp_avg"], pywd.QuantizedState)
        if dtype == torch.float64 or state_dtype == "8bit":  # for the resharding check
            saved = {fqn: {k: full(v) for k, v in entries.items()}
                     for fqn, entries in get_optimizer_state_dict(model, opt)["state"].items()}
            if rank == 0:
                torch.save(saved, os.path.join(workdir, f"saved-{world}-{state_dtype}.pt"))
        train(model, opt, rank, world, 5)            # the uninterrupted run
        resumed = shard(make_model(dtype, hidden), world)
        ropt = pywd.torch.AdamW(resumed.parameters(), **options)
        state = {"model": get_model_state_dict(resumed),
                 "optim": get_optimizer_state_dict(resumed, ropt)}
        dcp.load(state, checkpoint_id=path)
        set_model_state_dict(resumed, state["model"])
        set_optimizer_state_dict(resumed, ropt, state["optim"])
        train(resumed, ropt, rank, world, 5)
        for p, q in zip(model.parameters(), resumed.parameters()):
            assert torch.equal(p.to_local(), q.to_local()), f"resume {dtype} {state_dtype}"
        dist.barrier()


def check_reshard(rank, world, workdir):
    """A checkpoint saved by 2 processes, loaded by `world`: the state is the saved one
    (8-bit state: encoded again in the new slices' blocks, within its quantisation)."""
    for dtype, state_dtype in ((torch.float64, None), (torch.float32, "8bit")):
        model = shard(make_model(dtype, 2100 if state_dtype else 7), world)
        opt = pywd.torch.AdamW(model.parameters(), lr=1e-2, weight_decay=0.1,
                               state_dtype=state_dtype)
        state = {"model": get_model_state_dict(model),
                 "optim": get_optimizer_state_dict(model, opt)}
        dcp.load(state, checkpoint_id=os.path.join(workdir, f"ckpt-2-{dtype}-{state_dtype}"))
        set_optimizer_state_dict(model, opt, state["optim"])
        saved = torch.load(os.path.join(workdir, f"saved-2-{state_dtype}.pt"))
        got = get_optimizer_state_dict(model, opt)["state"]
        for fqn, entries in saved.items():
            for key, value in entries.items():
                mine = full(got[fqn][key])
                if state_dtype is None or not value.dim():
                    assert torch.equal(mine, value), f"reshard {fqn} {key}"
                else:   # the map's steps near 1 are 1/128 of a block's largest magnitude
                    error = (mine - value).abs().max().item()
                    assert error <= value.abs().max().item() / 64, (fqn, key, error)


def check_refusals(rank, world):
    model = shard(make_model(), world)
    for name in ("Adafactor", "Muon"):
        try:
            getattr(pywd.torch, name)([model[0].weight], lr=1e-2)
        except TypeError as err:
            assert "sharded" in str(err) and "torch.optim." + name in str(err), err
        else:
            raise AssertionError(f"{name} took a DTensor")
    mesh = init_device_mesh("cpu", (world,))
    pending = DTensor.from_local(torch.zeros(3, dtype=torch.float64), mesh, [Partial()])
    try:
        pywd.torch.AdamW([torch.nn.Parameter(pending)])
    except TypeError as err:
        assert "params[0]" in str(err) and "Partial" in str(err), err
    else:
        raise AssertionError("a Partial placement was taken")


def run(rank, world, workdir, reshard, rendezvous):
    dist.init_process_group("gloo", init_method=f"file://{rendezvous}", rank=rank,
                            world_size=world)
    failure = None
    try:
        torch.set_num_threads(1)
        if reshard:
            check_reshard(rank, world, workdir)
        else:
            check_against_replica(rank, world)
            check_against_peers(rank, world)
            check_tensor_parallel(rank, world)
            check_nonfinite_everywhere(rank, world)
            check_zero(rank, world)
            check_checkpoint(rank, world, workdir)
            check_refusals(rank, world)
    except BaseException:                   # noqa: BLE001  (reported, then agreed on)
        failure = traceback.format_exc()
    flags = [None] * world
    dist.all_gather_object(flags, failure)
    if failure:
        print(f"rank {rank} FAILED:\n{failure}", flush=True)
    if rank == 0 and not any(flags):
        print("ALL OK", flush=True)
    # the verdict is agreed: leave without torch's C++ teardown of the process groups,
    # which on a loaded machine sometimes aborts ("terminate called without an active
    # exception") after every check has passed
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(1 if failure else 0)


if __name__ == "__main__":
    ranks, workdir = int(sys.argv[1]), sys.argv[2]
    rendezvous = os.path.join(workdir, f"rendezvous-{os.getpid()}")   # a file of this run's
    mp.spawn(run, args=(ranks, workdir, len(sys.argv) > 3, rendezvous), nprocs=ranks)
