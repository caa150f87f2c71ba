"""opt.step() under FSDP2 (torch's fully_shard): pywd.torch's AdamW and Lamb against
torch.optim.AdamW and timm's Lamb (where timm is installed), which step the DTensors through
torch's arithmetic. A spawning script, not a pytest-benchmark module:

    python bench/bench_fsdp.py [--size 2048] [--processes 2] [--steps 12]

Each process runs one thread (a core each); the model is 4 square Linear layers of --size,
sharded over the processes; the two optimisers of a pair step in alternation (interleaved,
so that the machine's noise falls on both) and the median of the steps after two warm-ups
is reported, with pywd's ratio.
"""
import argparse
import functools
import os
import statistics
import sys
import tempfile
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.fsdp import fully_shard
from torch.distributed.tensor import DTensor

import pywd.torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))


def timm_lamb():
    try:
        from helpers import timm_optimiser
        return functools.partial(timm_optimiser("lamb", "Lamb"), max_grad_norm=None)
    except BaseException:              # noqa: BLE001  (timm not installed: pytest's Skipped)
        return None


def sharded_model(size, mesh):
    model = torch.nn.Sequential(*[torch.nn.Linear(size, size) for _ in range(4)])
    for layer in model:
        fully_shard(layer, mesh=mesh)
    fully_shard(model, mesh=mesh)
    for p in model.parameters():
        p.grad = DTensor.from_local(torch.randn_like(p.to_local()), mesh, p.placements,
                                    shape=p.shape, stride=p.stride())
    return model


def run(rank, world, rendezvous, size, steps):
    dist.init_process_group("gloo", init_method=f"file://{rendezvous}", rank=rank,
                            world_size=world)
    torch.set_num_threads(1)
    mesh = init_device_mesh("cpu", (world,))
    options = dict(lr=1e-3, weight_decay=0.1)
    pairs = [("AdamW", pywd.torch.AdamW, torch.optim.AdamW, {}),
             ("AdamW, max_grad_norm=1", pywd.torch.AdamW, None, dict(max_grad_norm=1.0)),
             ("Lamb", pywd.torch.Lamb, timm_lamb(), {})]
    lines = []
    for name, mine, theirs, step_args in pairs:
        opts = [mine(sharded_model(size, mesh).parameters(), **options)]
        if theirs is not None:
            opts.append(theirs(sharded_model(size, mesh).parameters(), **options))
        times = [[] for _ in opts]
        for _ in range(steps):
            for k, opt in enumerate(opts):
                dist.barrier()
                start = time.perf_counter()
                opt.step(**(step_args if k == 0 else {}))
                times[k].append(time.perf_counter() - start)
        med = [statistics.median(t[2:]) * 1e3 for t in times]
        line = f"{name:24s} pywd {med[0]:7.1f} ms"
        if len(med) > 1:
            line += f"   {type(opts[1]).__module__.split('.')[0]} {med[1]:7.1f} ms   " \
                    f"({med[1] / med[0]:.1f}x)"
        lines.append(line)
    if rank == 0:
        n = 4 * (size * size + size)
        print(f"{n / 1e6:.1f}M float32 parameters over {world} processes (1 thread each):")
        print("\n".join(lines))
    sys.stdout.flush()
    os._exit(0)                         # (no C++ teardown of the process groups)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=2048)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--steps", type=int, default=12)
    args = parser.parse_args()
    rendezvous = os.path.join(tempfile.mkdtemp(), "rendezvous")
    mp.spawn(run, args=(args.processes, rendezvous, args.size, args.steps),
             nprocs=args.processes)


if __name__ == "__main__":
    main()
