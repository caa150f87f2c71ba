"""pywd across processes, over MPI (mpi4py): a ZeRO stage 1 sharded optimiser and sharded
initialisation. Install with ``pip install 'pywd[mpi]'`` (mpi4py and the MPICH wheels), run
with ``mpiexec -n N python train.py``.

ZeRO stage 1 (Rajbhandari et al. 2020, "ZeRO: Memory Optimizations Toward Training Trillion
Parameter Models"): the model's parameters, laid end to end (N elements), are cut into one
contiguous shard per rank. Each step the ranks' gradients are reduce-scattered (summed, and
each rank receives the sum over its own shard only), averaged, each rank steps only its shard
with a pywd optimiser (so it holds only its shard's optimiser state), and the updated shards
are all-gathered so that every rank has every parameter again. Communication per step equals
one all-reduce of the gradients (a reduce-scatter plus an all-gather); optimiser state per
rank is 1/ranks of the whole.

Every pywd optimiser whose step is elementwise works unchanged, with every decay mode: the
result is the one-process optimiser's on the mean gradient, up to the order in which MPI
sums the ranks' gradients; the schedule-free classes' train()/eval() are collective calls
of the sharded optimiser. Lamb and LARS (per-tensor trust ratios) and Muon (whole matrices)
would see a rank's slice, not the model's tensors: ShardedOptimizer refuses them.
"""
import inspect
import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from . import _kernels, memory, quantized
from . import init as _init
from . import optim as _optim
from ._generator import Generator
from ._kernels import StepResult
from ._typing import Nonfinite
from .flat import FlatParams

__all__ = ["ShardedOptimizer", "shard_bounds", "init_sharded_"]


def _mpi():
    try:
        from mpi4py import MPI
    except ImportError as err:                       # pragma: no cover - depends on install
        raise ImportError("pywd.distributed needs mpi4py and an MPI library: "
                          "pip install 'pywd[mpi]'") from err
    return MPI


def _mpi_type(MPI, dtype):
    """MPI's datatype for pywd's float32 or float64 arrays."""
    return MPI.FLOAT if dtype == np.float32 else MPI.DOUBLE


def _world(comm):
    return _mpi().COMM_WORLD if comm is None else comm


def _check_shardable(optimizer_cls: Any) -> None:
    """ZeRO-1 steps a slice of the parameters laid end to end: it needs a pywd.optim class
    whose step is per element."""
    if not (isinstance(optimizer_cls, type) and issubclass(optimizer_cls, _optim.Optimizer)):
        raise TypeError(f"optimizer_cls must be a pywd.optim class, got {optimizer_cls!r}")
    name = optimizer_cls.__name__
    if not optimizer_cls.per_element:
        raise ValueError(f"ShardedOptimizer cannot shard {name}: each rank steps a slice of "
                         f"the parameters laid end to end, and {name}'s step needs whole "
                         f"tensors (per-tensor trust ratios or norms, or matrices)")


def shard_bounds(n: int, ranks: int, align: int = 1) -> list[tuple[int, int]]:
    """The contiguous shards of n elements over `ranks`: [lo, hi) per rank, sizes differing
    by at most one (the first n % ranks ranks get one more); a rank may get an empty shard.
    With `align`, in units of `align` elements (the last shorter): every shard starts on a
    multiple of it (8-bit state's blocks, 256, so that each rank's blocks are the whole
    vector's)."""
    units = -(-n // align)
    base, extra = divmod(units, ranks)
    bounds, lo = [], 0
    for r in range(ranks):
        hi = min(lo + (base + (r < extra)) * align, n)
        bounds.append((lo, hi))
        lo = hi
    return bounds


def _agree(comm, error: str | None, what: str, same: Any = None,
           same_what: str = "arguments") -> None:
    """Every rank calls this with its own error (or None) before a collective, and `same`,
    what must be equal on every rank (options, hyper-parameters, layouts): if any rank
    failed, or they differ, every rank raises the same ValueError naming the ranks, instead
    of some waiting forever in a collective that others skip or never reach."""
    gathered = comm.allgather((error, same))
    bad = [(r, e) for r, (e, _) in enumerate(gathered) if e is not None]
    if bad:
        detail = "; ".join(f"rank {r}: {e}" for r, e in bad)
        raise ValueError(f"{what} failed on {len(bad)} of {comm.Get_size()} ranks: {detail}")
    if any(s != gathered[0][1] for _, s in gathered):
        raise ValueError(f"{what}: the {same_what} must be the same on every rank, got "
                         + "; ".join(f"rank {r}: {s}" for r, (_, s) in enumerate(gathered)))


def _canonical(value: Any) -> Any:
    """`value` in a form that compares equal across ranks when it means the same (0.1 and
    numpy.float64(0.1) alike) and pickles small: numbers as floats, sequences as tuples,
    dicts sorted, anything else by repr."""
    if value is None or isinstance(value, (bool, np.bool_, str)):
        return value if not isinstance(value, np.bool_) else bool(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, (list, tuple)):
        return tuple(_canonical(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((str(k), _canonical(v)) for k, v in value.items()))
    return repr(value)


def _memory_order(a: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """A 1-D view of a contiguous array in its memory order (F-ordered arrays too)."""
    return a.reshape(-1, order="F" if a.flags.f_contiguous and not a.flags.c_contiguous else "C")


def _layout(arrays: Sequence[npt.NDArray[Any]]) -> tuple[str, tuple[tuple[int, ...], ...]]:
    dtypes = {a.dtype.str for a in arrays}
    return (",".join(sorted(dtypes)), tuple(a.shape for a in arrays))


class ShardedOptimizer:
    """ZeRO stage 1 over MPI: ``ShardedOptimizer(optimizer_cls, params, comm=None, **hyper)``.

    ``params`` (a :class:`pywd.FlatParams`, or a list of arrays of one dtype) must have the
    same layout on every rank and start equal (broadcast or seed them alike: see
    :func:`init_sharded_`). ``optimizer_cls`` is any :mod:`pywd.optim` class; ``hyper`` its
    keyword arguments. ``step(grads)`` takes this rank's local gradients (same layout) and
    updates ``params`` in place on every rank with the optimiser's step on the mean gradient
    over ranks. Every rank must call ``step`` (it is collective).

    Equation: ``w <- opt(w, mean over ranks of g)``; rank r computes it for its shard only.
    NumPy equivalent (one process): ``opt.step([np.mean(all_ranks_grads, axis=0)])``. torch
    equivalent: ``torch.distributed.optim.ZeroRedundancyOptimizer``.
    """

    def __init__(self, optimizer_cls: type[_optim.Optimizer], params: Any, comm: Any = None,
                 **hyper: Any) -> None:
        _check_shardable(optimizer_cls)          # the same class on every rank: no collective
        self.comm = _world(comm)
        self.rank, self.ranks = self.comm.Get_rank(), self.comm.Get_size()
        error, layout = None, None
        try:
            self._flat, self._arrays = self._arena(params)
            layout = _layout(params.views if self._arrays is None else self._arrays)
        except (TypeError, ValueError) as err:
            error = str(err)
        _agree(self.comm, error, "ShardedOptimizer: params", layout,
               "params' layout (dtype, shapes)")
        self.size = self._flat.size
        # 8-bit state: shards on its blocks' boundaries
        self.bounds = shard_bounds(self.size, self.ranks,
                                   quantized.BLOCK if hyper.get("state_dtype") == "8bit" else 1)
        self.lo, self.hi = self.bounds[self.rank]
        self._counts = [hi - lo for lo, hi in self.bounds]
        self._displs = [lo for lo, _ in self.bounds]
        self._grad_sum = memory.zeros(self.hi - self.lo, self._flat.dtype)
        self._send = None if self._arrays is None else memory.empty_like(self._flat)
        sizes = [a.size for a in self._arrays or []]
        self._offsets = [int(o) for o in np.cumsum([0] + sizes[:-1])] if sizes else []
        # the inner optimiser sees this rank's shard as its one parameter
        self.optimizer = optimizer_cls([self._flat[self.lo:self.hi]], **hyper)

    @staticmethod
    def _arena(params):
        """(flat buffer, the user's arrays, or None for a FlatParams). A list's arrays are
        the parameters: each step reads this rank's shard from them and writes every
        gathered element back (a FlatParams saves those two copies)."""
        if isinstance(params, FlatParams):
            return params.buffer, None
        arrays = [params] if isinstance(params, np.ndarray) else list(params)
        if not arrays or not all(isinstance(a, np.ndarray) for a in arrays):
            raise TypeError("params must be a FlatParams or a non-empty list of numpy arrays")
        if len({a.dtype for a in arrays}) != 1:
            raise TypeError("params must share one dtype (use one ShardedOptimizer per dtype)")
        _kernels._check_arrays(arrays)
        flat = memory.empty(sum(a.size for a in arrays), arrays[0].dtype)
        np.concatenate([_memory_order(a) for a in arrays], out=flat)
        return flat, arrays

    def _flatten(self, grads):
        """This rank's gradients as one buffer like the params' (checked: layout, dtype)."""
        if isinstance(grads, FlatParams):
            grads = grads.buffer if self._arrays is None else grads.views
        if self._arrays is None:
            if not isinstance(grads, np.ndarray) or grads.shape != self._flat.shape \
                    or grads.dtype != self._flat.dtype:
                raise ValueError(f"grads must be a FlatParams (or buffer) like params: "
                                 f"{self._flat.dtype} ({self.size},)")
            return np.ascontiguousarray(grads)
        grads = [grads] if isinstance(grads, np.ndarray) else list(grads)
        if len(grads) != len(self._arrays):
            raise ValueError(f"grads has {len(grads)} arrays, params has {len(self._arrays)}")
        for i, (g, p) in enumerate(zip(grads, self._arrays)):
            if not isinstance(g, np.ndarray) or g.shape != p.shape or g.dtype != p.dtype:
                raise ValueError(f"grads[{i}] must be a {p.dtype} array of shape {p.shape}, got "
                                 f"{getattr(g, 'dtype', type(g).__name__)} "
                                 f"{getattr(g, 'shape', '')}")
        if any(g.flags.f_contiguous != p.flags.f_contiguous for g, p in zip(grads, self._arrays)):
            raise ValueError("grads must have their params' memory order (C or F)")
        np.concatenate([_memory_order(g) for g in grads], out=self._send)
        return self._send

    def step(self, grads: Any, *, nonfinite: Nonfinite = "propagate", grad_scale: float = 1.0,
             max_grad_norm: float | None = None) -> StepResult:
        """One collective step: reduce-scatter the gradients, step this rank's shard with
        their mean, all-gather the parameters. ``nonfinite``, ``grad_scale`` and
        ``max_grad_norm`` act as in :meth:`pywd.optim.Optimizer.step` on the mean gradient:
        its norm is the sum of the shards' sums of squares (added in rank order, so every
        rank gets the same bytes), and a skipped or refused step is skipped or refused on
        every rank. A bad argument on any rank raises on every rank before any
        communication or update."""
        MPI = _mpi()
        error, send, same = None, None, None
        try:
            _kernels._check_step([], [], (), nonfinite, grad_scale, max_grad_norm)
            send = self._flatten(grads)
            # everything the shard's step could refuse, checked before any collective
            self.optimizer._check([send if self.ranks == 1 else self._grad_sum],
                                  grad_scale=float(self.ranks) * grad_scale)
            same = _canonical((nonfinite, grad_scale, max_grad_norm,
                               [{k: v for k, v in group.items() if k != "params"}
                                for group in self.optimizer.param_groups]))
        except (TypeError, ValueError) as err:
            error = str(err)
        _agree(self.comm, error, "ShardedOptimizer.step", same,
               "gradient options and hyper-parameters")
        self._read_shard()
        mpi_type = _mpi_type(MPI, self._flat.dtype)
        if self.ranks == 1:                  # nothing to exchange: the grads are the sum
            grad_sum = send
        else:
            grad_sum = self._grad_sum
            self.comm.Reduce_scatter(send, [grad_sum, mpi_type], self._counts, op=MPI.SUM)
        # the mean: the kernel multiplies by 1/(ranks*grad_scale*clip) as it reads the sum
        scale = float(self.ranks) * grad_scale
        result = StepResult(True, None)
        if nonfinite != "propagate" or max_grad_norm is not None:
            norm, finite, where = self._global_norm(grad_sum)
            norm /= scale
            if not finite and nonfinite == "raise":
                raise FloatingPointError(f"the mean gradient has a non-finite value (in the "
                                         f"shard of rank {where}) and nonfinite='raise': no "
                                         f"array was changed on any rank")
            if not finite and nonfinite == "skip":
                self.optimizer.skipped_steps += 1
                return StepResult(False, norm)
            if max_grad_norm is not None:
                clip = max_grad_norm / (norm + 1e-6)    # torch's clip_grad_norm_
                if not clip >= 1.0:
                    scale /= clip
            where = self._float32_overflow(grad_sum, norm * float(self.ranks) * grad_scale,
                                           scale) if nonfinite != "propagate" else None
            if where is not None and nonfinite == "raise":
                raise FloatingPointError(f"the mean gradient overflows float32 once scaled (in "
                                         f"the shard of rank {where}) and nonfinite='raise': "
                                         f"no array was changed on any rank")
            if where is not None:
                self.optimizer.skipped_steps += 1
                return StepResult(False, norm)
            result = StepResult(True, norm)
        self.optimizer.step([grad_sum], grad_scale=scale)
        self._gather(MPI)
        return result

    def train(self) -> None:
        """The schedule-free classes' training mode, on every shard (collective: every rank
        calls it): the params hold y, where gradients are taken, again."""
        self._switch("train")

    def eval(self) -> None:
        """The schedule-free classes' evaluation mode, on every shard (collective): every
        rank's params hold the average x, to evaluate with or save."""
        self._switch("eval")

    def _switch(self, mode):
        switch = getattr(self.optimizer, mode, None)
        if switch is None:              # the same class on every rank: raised by all of them
            raise TypeError(f"{type(self.optimizer).__name__} has no {mode}(): only the "
                            f"schedule-free classes swap their parameters")
        MPI = _mpi()
        self._read_shard()
        switch()
        self._gather(MPI)

    def _gather(self, MPI):
        """Every rank's shard to every rank, and into the user's arrays (a list of params)."""
        if self.ranks > 1:
            mpi_type = _mpi_type(MPI, self._flat.dtype)
            self.comm.Allgatherv(MPI.IN_PLACE,
                                 [self._flat, self._counts, self._displs, mpi_type])
        if self._arrays is not None:
            for a, lo in zip(self._arrays, self._offsets):
                _memory_order(a)[...] = self._flat[lo:lo + a.size]

    def _float32_overflow(self, grad_sum, root, scale):
        """The first rank whose float32 shard of the summed gradient overflows once multiplied
        by 1/scale, as the kernel computes it, or None (finiteness is judged in the
        kernel's dtype). `root`, the summed gradient's 2-norm, bounds every element, and is
        the same on every rank: all of them look, or none."""
        if self._flat.dtype != np.float32:
            return None
        mult = np.float32(1.0 / scale)
        if not root * float(mult) >= 0.5 * float(np.finfo(np.float32).max):
            return None
        with np.errstate(over="ignore"):
            mine = bool(np.isinf(grad_sum * mult).any())
        flags = self.comm.allgather(mine)
        return flags.index(True) if True in flags else None

    def _read_shard(self):
        """This rank's shard from the user's arrays (a list of params): what the user did to
        them since the last step is what this step starts from (a snapshot taken
        at construction was written back over it)."""
        if self._arrays is None:
            return
        flat = self._flat
        for a, start in zip(self._arrays, self._offsets):
            lo, hi = max(self.lo, start), min(self.hi, start + a.size)
            if lo < hi:
                flat[lo:hi] = _memory_order(a)[lo - start:hi - start]

    def _global_norm(self, grad_sum):
        """(2-norm of the summed gradient, whether it is finite, the first rank whose shard
        is not): every rank's shard sum of squares, gathered and added in rank order."""
        def gathered(scale):
            sums = self.comm.allgather(_kernels._sum_of_squares([grad_sum], scale))
            total = 0.0
            for x in sums:
                total += x
            return sums, total

        sums, total = gathered(1.0)
        unscale = 1.0
        if math.isinf(total):       # an inf, or float64 squares that overflowed: rescan
            sums, total = gathered(2.0 ** -600)
            unscale = 2.0 ** 600
        bad = [r for r, x in enumerate(sums) if not math.isfinite(x)]
        norm = math.sqrt(total) * unscale
        return norm, math.isfinite(total), bad[0] if bad else None

    # --------------------------------------------------------------------- state
    def state_dict(self) -> dict[str, npt.NDArray[Any]]:
        """This rank's shard of the optimiser state (the inner optimiser's state_dict, whose
        one parameter is the shard), plus where the shard lies."""
        out = self.optimizer.state_dict()
        out["shard"] = np.array([self.lo, self.hi, self.size, self.rank, self.ranks], np.int64)
        return out

    def gather_state_dict(self, root: int = 0) -> dict[str, npt.NDArray[Any]] | None:
        """The whole optimiser state on `root` (None elsewhere): the state_dict of a
        one-process optimiser of the same class whose one parameter is the flat model
        (``size`` elements). Collective. It loads, with :meth:`load_state_dict`, into a
        ShardedOptimizer on any number of ranks."""
        MPI = _mpi()
        error, local, names = None, {}, []
        try:
            local = self.optimizer.state_dict()
            names = sorted(k for k in local if k.startswith("state/0/")
                           and local[k].shape == (self.hi - self.lo,))
        except (TypeError, ValueError) as err:
            error = str(err)
        _agree(self.comm, error, "ShardedOptimizer.gather_state_dict", names,
               "state arrays")
        full = dict(local) if self.rank == root else None
        for name in names:
            buf: npt.NDArray[Any] | None = (np.empty(self.size, local[name].dtype)
                                              if self.rank == root else None)
            mpi_type = _mpi_type(MPI, local[name].dtype)
            self.comm.Gatherv([np.ascontiguousarray(local[name]), mpi_type],
                              [buf, self._counts, self._displs, mpi_type], root=root)
            if full is not None and buf is not None:
                full[name] = buf
        return full

    def load_state_dict(self, state_dict: Any) -> None:
        """Loads a whole state (from :meth:`gather_state_dict`, possibly saved with
        ``np.savez`` and made on another number of ranks): this rank keeps its shard.
        Checked on every rank before anything changes; collective."""
        error = None
        try:
            local = {}
            for key in state_dict.keys():
                value = np.asarray(state_dict[key])
                if key.startswith("state/0/") and value.shape == (self.size,):
                    value = value[self.lo:self.hi].copy()
                elif key.startswith("state/0/") and value.ndim == 1:
                    raise ValueError(f"state_dict[{key!r}] has {value.size} elements, the "
                                     f"model has {self.size}")
                local[key] = value
            local.pop("shard", None)
            self.optimizer.load_state_dict(local)
        except (TypeError, ValueError) as err:
            error = str(err)
        _agree(self.comm, error, "ShardedOptimizer.load_state_dict")

    def state_bytes(self) -> int:
        """Bytes of optimiser state this rank holds."""
        return sum(a.nbytes for s in self.optimizer.state.values() for a in s.values()
                   if isinstance(a, np.ndarray))

    def bytes_communicated(self) -> int:
        """Bytes this rank sends per step: its gradients to the reduce-scatter and its
        parameter shard to the all-gather, as in a ring algorithm ((ranks-1)/ranks of the
        model each way): the cost of one all-reduce."""
        item = self._flat.dtype.itemsize
        return 2 * (self.ranks - 1) * self.size * item // self.ranks


def init_sharded_(fill: Callable[..., Any], tensor: npt.NDArray[Any], *args: Any,
                  comm: Any = None, rng: int | Generator | None = None,
                  **kwargs: Any) -> npt.NDArray[Any]:
    """Fills `tensor` (allocated whole on every rank) with ``fill`` (a :mod:`pywd.init`
    function) exactly as one process would, each rank drawing only its 1/ranks of the
    elements (C order) from the counter-based generator at its offset; an all-gather then
    gives every rank the whole tensor. Collective.

    ``rng`` (for the random fills) must be the same seed, or a Generator at the same
    position, on every rank (None: the default generator, which ``pywd.seed(n)`` makes
    equal). Before any communication every rank checks the call (the fill's own argument
    checks, which stop before writing) and that rng, the tensor's shape and dtype and the
    other arguments are the same on every rank: a mistake on one rank raises the same
    ValueError on all. Fills that do not draw through the generator's offsets (eye_,
    dirac_, orthogonal_, sparse_, martens_sparse_, and the constant fills, which take no
    rng) are computed whole on every rank; the result is the same.

    NumPy equivalent: ``fill(tensor, rng=seed)`` in one process. torch equivalent: none
    (torch's initialisers depend on the generator's state, not on element indices).
    """
    MPI = _mpi()
    comm = _world(comm)
    error, same, gen = None, None, None
    try:
        if not callable(fill):
            raise TypeError(f"fill must be a pywd.init function, got {type(fill).__name__}")
        try:
            takes_rng = "rng" in inspect.signature(fill).parameters
        except (TypeError, ValueError):
            takes_rng = True
        if takes_rng:
            gen = _init.as_generator(rng)
            kwargs = dict(kwargs, rng=gen)
        elif rng is not None:
            raise TypeError(f"{getattr(fill, '__name__', 'fill')} takes no rng")
        if not isinstance(tensor, np.ndarray) or not tensor.flags.c_contiguous:
            raise ValueError("tensor must be a C-contiguous numpy array")
        with _init._check_only():       # the fill's checks, up to its first write
            try:
                fill(tensor, *args, **kwargs)
            except _init._ArgumentsChecked:
                pass
        same = _canonical((getattr(fill, "__name__", repr(fill)), tensor.shape,
                           tensor.dtype.str, args,
                           {k: v for k, v in kwargs.items() if k != "rng"},
                           (gen.seed, gen.position) if gen is not None else None))
    except (TypeError, ValueError) as err:
        error = str(err)
    _agree(comm, error, "init_sharded_", same,
           "fill, tensor (shape, dtype), arguments and rng (seed, position)")
    bounds = shard_bounds(tensor.size, comm.Get_size())
    lo, hi = bounds[comm.Get_rank()]
    with _init._only_elements(tensor, lo, hi):
        fill(tensor, *args, **kwargs)
    mpi_type = _mpi_type(MPI, tensor.dtype)
    comm.Allgatherv(MPI.IN_PLACE, [tensor.reshape(-1), [h - l for l, h in bounds],
                                   [l for l, _ in bounds], mpi_type])
    return tensor
