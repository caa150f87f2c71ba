"""pywd.torch's sharded parameters: torch's DTensors (FSDP2's ``fully_shard``, tensor
parallelism), of which each process holds a slice, its local tensor.

An element-wise step updates each local tensor in place, as it would the whole tensor. What
a step needs of whole tensors (a trust ratio's norms, caution's kept fraction, norm
control's norms, the gradient's global norm, the step's statistics) is a sum over their
elements: each process adds its slice's, and :class:`ShardSums` adds those over the
processes that hold the other slices, gathered and added in rank order (every process gets
the same bytes, whatever the collective's algorithm). Needs torch.distributed; imported by
pywd.torch only.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from . import _kernels

_DTENSOR: Any = None                     # (None where torch has no torch.distributed)
if dist.is_available():
    from torch.distributed.tensor import DTensor, Replicate, Shard
    from torch.distributed.tensor import placement_types
    _DTENSOR = DTensor
    # (torch's Shard variant for a dimension sharded twice, as FSDP2 with tensor
    # parallelism makes: its slice is still the parameter's elements, updated in place)
    _SHARD_LIKE = (Shard, getattr(placement_types, "_StridedShard", Shard))


def is_sharded(t: Any) -> bool:
    """Whether `t` is a DTensor (never, where torch has no torch.distributed)."""
    return _DTENSOR is not None and isinstance(t, _DTENSOR)


def local(t: Any, where: str) -> torch.Tensor:
    """A DTensor's local tensor (its memory: updates in place reach the DTensor), or a
    TypeError naming `where` for a placement whose local tensor is not its slice of the
    tensor's values (a pending sum, Partial), which no element-wise step can update."""
    for placement in t.placements:
        if not isinstance(placement, (*_SHARD_LIKE, Replicate)):
            raise TypeError(f"{where} is a DTensor placed {tuple(t.placements)}: pywd updates "
                            f"each process's slice of a Shard or Replicate placement in "
                            f"place; a {type(placement).__name__} placement holds a pending "
                            f"reduction, not the values (redistribute it first)")
    with torch.no_grad():
        return t.to_local()


def grad_like(grad: Any, param: Any, where: str) -> Any:
    """A DTensor parameter's gradient placed as the parameter is (torch's optimisers get it
    redistributed implicitly by their DTensor arithmetic: a tensor-parallel gradient can be
    Partial where its parameter is Replicate); a plain gradient of a DTensor is refused."""
    if not is_sharded(grad):
        raise TypeError(f"{where} is a plain {type(grad).__name__} but its parameter is a "
                        f"DTensor: the gradient must be one too, placed as the parameter")
    if tuple(grad.placements) != tuple(param.placements) or grad.device_mesh != param.device_mesh:
        with torch.no_grad():
            grad = grad.redistribute(param.device_mesh, param.placements)
    return grad


def as_sharded(value: torch.Tensor, like: Any) -> torch.Tensor:
    """A state tensor of `like`'s local shape as a DTensor placed as `like` (so that torch's
    checkpoint tools see the whole tensor); any other value as it is."""
    if not is_sharded(like) or tuple(value.shape) != tuple(like.to_local().shape):
        return value
    return DTensor.from_local(value, like.device_mesh, like.placements, run_check=False,
                              shape=like.shape, stride=like.stride())


def agreed_seed(seed: int, t: Any) -> int:
    """The stochastic-rounding seed every process of sharded tensor `t`'s mesh uses: the
    first one's (broadcast along each mesh dimension), so that a checkpoint's one seed (its
    groups hold one value for all processes) serves them all."""
    mesh = t.device_mesh
    value = [int(seed)]
    for dim in range(mesh.ndim):
        dist.broadcast_object_list(value, group=mesh.get_group(dim), group_src=0)
    return value[0]


def seed_of_process(seed: int) -> int:
    """This process's own rounding seed from the agreed one: each process rounds its slices
    with bits of its own (equal seeds would round equal positions of every slice alike)."""
    return int(np.random.SeedSequence((seed, dist.get_rank())).generate_state(1, np.uint64)[0])


def _groups_to_add(t: Any) -> tuple[Any, ...]:
    """The process groups over which a tensor's per-element sums add up to the whole
    tensor's: one per mesh dimension that shards it (none for a plain tensor or a
    replicated one, whose every process holds all of it)."""
    if not is_sharded(t):
        return ()
    mesh = t.device_mesh
    return tuple(mesh.get_group(dim) for dim, placement in enumerate(t.placements)
                 if isinstance(placement, _SHARD_LIKE) and mesh.size(dim) > 1)


def _add_over(group: Any, values: np.ndarray) -> np.ndarray:
    """`values` added over the processes of `group`, in rank order."""
    mine = torch.from_numpy(np.ascontiguousarray(values, dtype=np.float64))
    parts = [torch.empty_like(mine) for _ in range(dist.get_world_size(group))]
    dist.all_gather(parts, mine, group=group)
    total = parts[0].numpy().copy()
    for part in parts[1:]:
        total += part.numpy()
    return total


class ShardSums:
    """Adds per-tensor sums over the slices of sharded tensors (pywd.optim's
    ``_shard_reducer``): `tensors` are the optimiser's parameters by position."""

    def __init__(self, tensors: Sequence[Any]) -> None:
        self.groups = [_groups_to_add(t) for t in tensors]

    def __call__(self, sums: list[tuple[list[int], np.ndarray]]) -> None:
        """Each (positions, rows) pair's rows (one per parameter position) replaced in place
        by their sums over the processes, one gather per distinct set of groups."""
        by_groups: dict[tuple[Any, ...], list[tuple[np.ndarray, int]]] = {}
        for positions, rows in sums:
            for row, position in enumerate(positions):
                groups = self.groups[position]
                if groups:
                    by_groups.setdefault(groups, []).append((rows, row))
        for groups, entries in by_groups.items():
            values = np.stack([rows[row] for rows, row in entries])
            for group in groups:
                values = _add_over(group, values)
            for (rows, row), total in zip(entries, values):
                rows[row] = total

    def sum_of_squares(self, arrays: Sequence[Any], positions: Sequence[int],
                       scale: float = 1.0) -> float:
        """The sum of squares of every element of `arrays` (at parameter `positions`) times
        `scale`, the whole tensors' (a sharded one's slices added over its processes; a
        replicated or plain one counted once)."""
        local_sums = np.array([[_kernels._sum_of_squares([a], scale)] for a in arrays]
                              ).reshape(-1, 1)
        self([(list(positions), local_sums)])
        total = 0.0
        for value in local_sums[:, 0]:
            total += float(value)
        return total


def grad_norm(shards: ShardSums, arrays: Sequence[Any], positions: Sequence[int]) -> float:
    """The 2-norm of the gradients `arrays` over every process's slices; an inf from
    float64 squares that overflowed is rescanned scaled (a finite gradient keeps a finite
    norm)."""
    total = shards.sum_of_squares(arrays, positions)
    if math.isinf(total):
        return math.sqrt(shards.sum_of_squares(arrays, positions, 2.0 ** -600)) * 2.0 ** 600
    return math.sqrt(total)


def float32_overflow(shards: ShardSums, arrays: Sequence[Any], positions: Sequence[int],
                     root: float, scale: float) -> bool:
    """Whether some process's float32 (or 16-bit) gradient has an element that overflows
    float32 once multiplied by 1/scale, as the kernels compute it (pywd's own check, made
    the same on every process). `root`, the whole gradient's 2-norm, bounds every element,
    and every process knows it: only near float32's limit are the products computed."""
    mult = np.float32(1.0 / scale)
    if not root * float(mult) >= 0.5 * float(np.finfo(np.float32).max):
        return False
    flags = np.zeros((len(arrays), 1))
    with np.errstate(over="ignore"):
        for k, a in enumerate(arrays):
            if a.dtype != np.float64:
                flags[k, 0] = float(np.isinf(a.astype(np.float32) * mult).any())
    shards([(list(positions), flags)])
    return bool(flags.any())
