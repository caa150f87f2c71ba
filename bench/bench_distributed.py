"""Sharded AdamW (ZeRO stage 1) on the ResNet-50-shaped parameter list: seconds per step,
optimiser-state bytes per rank, bytes each rank sends per step. An MPI program, not a
pytest-benchmark module:

    mpiexec -n 1 python bench/bench_distributed.py
    OMP_NUM_THREADS=1 mpiexec -n 2 python bench/bench_distributed.py    # one core per rank

(run with --steps N to change the number of timed steps; the best is reported).
"""
import argparse
import time

import numpy as np
from mpi4py import MPI

import pywd
from pywd._models import resnet50_shapes
from pywd.distributed import ShardedOptimizer


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()
    comm = MPI.COMM_WORLD
    rank, ranks = comm.Get_rank(), comm.Get_size()
    params = pywd.FlatParams(resnet50_shapes(), np.float32)
    pywd.init.normal_(params.buffer, std=0.02, rng=0)
    grads = params.zeros_like()
    pywd.init.normal_(grads.buffer, std=1e-3, rng=1 + rank)
    opt = ShardedOptimizer(pywd.optim.AdamW, params, lr=1e-3)
    opt.step(grads)                                    # warm up: state, page faults
    best = float("inf")
    for _ in range(args.steps):
        comm.Barrier()
        start = time.perf_counter()
        opt.step(grads)
        best = min(best, comm.allreduce(time.perf_counter() - start, op=MPI.MAX))
    state = comm.gather(opt.state_bytes())
    buf = grads.buffer.copy()
    comm_best = float("inf")
    for _ in range(args.steps):                        # the communication alone
        comm.Barrier()
        start = time.perf_counter()
        comm.Allreduce(MPI.IN_PLACE, buf)
        comm_best = min(comm_best, comm.allreduce(time.perf_counter() - start, op=MPI.MAX))
    if rank == 0:
        n = params.buffer.size
        print(f"sharded AdamW, ResNet-50 shapes ({len(params)} arrays, {n:,} float32), "
              f"{ranks} rank(s), OMP threads {pywd.get_num_threads()}")
        print(f"  step:               {best * 1e3:8.1f} ms (best of {args.steps})")
        print(f"  MPI all-reduce of the gradients alone: {comm_best * 1e3:.1f} ms")
        print(f"  state per rank:     {max(state) / 1e6:8.1f} MB "
              f"(one process: {8 * n / 1e6:.1f} MB)")
        print(f"  sent per rank/step: {opt.bytes_communicated() / 1e6:8.1f} MB "
              f"(an all-reduce of the gradients: 2 (ranks-1)/ranks x {4 * n / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
