"""pywd's optimisers as ``torch.optim.Optimizer`` subclasses: a CPU training loop in torch
changes one line::

    import pywd.torch
    opt = pywd.torch.AdamW(model.parameters(), lr=1e-3, weight_decay=0.05, decay_to="init")
    loss.backward(); opt.step(); opt.zero_grad()

Each class takes the arguments of the :mod:`pywd.optim` class of the same name (torch's,
plus ``decay=`` and pywd's options) and holds one, ``opt.pywd``, built on NumPy views of the
parameters' memory: nothing is copied, and a step is one pywd kernel call per group and
dtype over the gradients in ``p.grad`` (parameters without one are left alone, as torch
does). torch's machinery works as with its own optimisers: ``param_groups`` (the
``torch.optim.lr_scheduler`` classes change their "lr" and the next step uses it),
``zero_grad``, ``step(closure)``, step hooks, ``torch.amp.GradScaler``, parameters named by
``model.named_parameters()``, and ``state_dict()``/``load_state_dict()`` in torch's format
(``torch.save``/``torch.load`` round trips; it loads a torch optimiser's, and a torch
optimiser of the same class loads it, keeping pywd's options as inert entries: to hand a
run to torch, ``opt.torch_state_dict()`` gives torch's keys only and refuses what torch
cannot continue).

``step()`` also takes pywd's gradient options as keywords: ``nonfinite=``, ``grad_scale=``
and ``max_grad_norm=`` (as :meth:`pywd.optim.Optimizer.step`: fused into the same pass).

Parameters laid out in another memory order (channels_last convolution weights) are
updated in that order, as the optimisers that step each element on its own do not depend
on it; LAMB, LARS, Muon and Adafactor, whose per-tensor statistics follow the axes, take
contiguous parameters. Refused, with an error naming the parameter, before anything
changes: tensors pywd cannot update in place (on a GPU, sparse, with gaps or overlaps in
memory, a gradient laid out otherwise than its parameter) and dtypes it lacks (pywd
updates float32, float64, float16 and bfloat16).
``opt.state[p]`` reads each parameter's state as tensors sharing pywd's arrays (step counters
as float64 tensors); it is read-only, as ``load_state_dict`` is the way to replace it.

Sharded parameters (DTensors: FSDP2's ``fully_shard``, tensor parallelism) are stepped in
each process's slice, their state shown as DTensors placed like them; what a step needs of
whole tensors (trust ratios, caution, norm control, the gradient's norm, the statistics) is
added over the processes, and ``torch.distributed.checkpoint`` saves and resumes the state
(docs/distributed.md, "Training across processes"). Muon and Adafactor refuse them.

Needs torch (``pip install 'pywd[torch]'``); ``import pywd`` never imports it.
"""
import inspect
import math
import textwrap
import types
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

try:
    import torch
except ImportError as err:              # pragma: no cover (the tests that import it skip)
    raise ImportError("pywd.torch needs torch: pip install 'pywd[torch]' (or torch itself)"
                      ) from err

from . import _torch_shards as shards
from . import memory as pywd_memory
from .quantized import quantize
from . import optim as _optim
from .optim import _docs
from .optim._support import INIT_NORM
from ._torch_state import PYWD_ONLY, PYWD_RUN, TORCH_ONLY, numpy_view
from . import _kernels
from ._kernels import QuantizedState, StepResult
from ._typing import Nonfinite
from .weight_decay import _split_by_decay

__all__ = ["Optimizer", "param_groups_weight_decay"]   # and the classes, at the end

# the dtypes pywd updates; bfloat16 goes through int16 (NumPy's needs ml_dtypes)
_DTYPES = (torch.float32, torch.float64, torch.float16, torch.bfloat16)


Order = tuple[int, ...] | None   # a tensor's axes in memory order (None: as they are)


def _array(t: Any, where: str, order: Order = None) -> np.ndarray:
    """`t`'s memory as a NumPy array (no copy), its axes permuted to `order` (a parameter's
    memory order: what its state and gradient share), or a TypeError saying why pywd cannot
    update it in place."""
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{where}: expected a torch.Tensor, got {type(t).__name__}")
    if shards.is_sharded(t):              # a DTensor: this process's slice, in place
        t = shards.local(t, where)
    if t.layout != torch.strided:
        raise TypeError(f"{where} is a {t.layout} tensor: pywd updates dense tensors "
                        f"(torch.optim.SparseAdam takes sparse gradients)")
    if t.device.type != "cpu":
        raise TypeError(f"{where} is on {t.device}: pywd updates CPU memory (use "
                        f"torch.optim's optimisers on {t.device.type})")
    if t.dtype not in _DTYPES:
        raise TypeError(f"{where} is {t.dtype}: pywd updates float32, float64, float16 and "
                        f"bfloat16 tensors")
    laid_out = t.permute(order) if order is not None and len(order) == t.dim() else t
    if not laid_out.is_contiguous():
        layout = f"shape {tuple(t.shape)}, strides {t.stride()}"
        raise TypeError(f"{where} is laid out otherwise than its parameter ({layout}, the "
                        f"parameter's memory order {order})" if order is not None else
                        f"{where} is not contiguous ({layout}): pywd updates dense memory "
                        f"in place")
    try:
        return numpy_view(laid_out.detach())
    except RuntimeError as err:           # a wrapper subclass other than DTensor
        raise TypeError(f"{where} is a {type(t).__name__}, a tensor subclass whose memory "
                        f"NumPy cannot view ({err}): pywd updates plain tensors in place, "
                        f"and DTensors' local slices") from None


def _memory_order(t: Any, any_layout: bool) -> Order:
    """The permutation of a parameter's axes that lays it out contiguously (channels_last:
    (0, 2, 3, 1)), when it is not contiguous and the optimiser steps each element on its
    own (any_layout: the layout cannot change its update); else None (then only a
    contiguous tensor is taken), or a TypeError for a dense layout the optimiser cannot
    take."""
    if shards.is_sharded(t):              # its slice's layout (_array judges its placement)
        t = t.to_local()
    if not isinstance(t, torch.Tensor) or t.is_contiguous():
        return None
    strides = t.stride()
    order = tuple(sorted(range(t.dim()), key=lambda axis: -strides[axis]))   # stable
    if not t.permute(order).is_contiguous():
        return None                          # gaps or overlaps: _array refuses it
    if not any_layout:
        raise TypeError(f"is laid out in memory order {order} (shape {tuple(t.shape)}, "
                        f"strides {t.stride()}; a channels_last weight, say): this optimiser's "
                        f"per-tensor statistics follow the axes, so it takes contiguous "
                        f"parameters; make the model contiguous first "
                        f"(model.to(memory_format=torch.contiguous_format))")
    return order


def _pointer(t: Any) -> int:
    """Where a parameter's memory is (a DTensor's: its local tensor's)."""
    return (t.to_local() if shards.is_sharded(t) else t).data_ptr()


# what pywd cannot step on sharded parameters (DTensors), and what to use instead
_UNSHARDABLE = {
    "Muon": "its orthogonalisation multiplies whole matrices, which no process holds; "
            "torch.optim.Muon runs its matrix products on DTensors, or keep the matrices "
            "unsharded (fully_shard(..., ignored_params=...))",
    "Adafactor": "its factored second moment needs whole rows and columns, which no "
                 "process holds; torch.optim.Adafactor steps DTensors, or keep these "
                 "parameters unsharded (fully_shard(..., ignored_params=...))",
}


def _restore_axes(t: torch.Tensor, order: Order) -> torch.Tensor:
    """A tensor in a parameter's memory order (pywd's view of it) with the parameter's
    axes back, sharing its memory."""
    if order is None or t.dim() != len(order):
        return t
    return t.permute(_inverse(order, t.dim()))


def _inverse(order: Order, rank: int) -> tuple[int, ...]:
    """The permutation that undoes `order` (None: the identity) on `rank` axes."""
    if order is None or len(order) != rank:
        return tuple(range(rank))
    return tuple(order.index(axis) for axis in range(rank))


def _tensor(value: Any) -> torch.Tensor:
    """A state entry of pywd's (an array, a counter or a float) as a tensor: arrays share
    their memory; numbers are float64 tensors (exact for any step count)."""
    if not isinstance(value, np.ndarray):
        return torch.tensor(float(value), dtype=torch.float64)
    if isinstance(value, QuantizedState):        # 8-bit: its values, decoded (a copy)
        return torch.from_numpy(value.dequantize())
    if value.dtype.name == "bfloat16":
        return torch.from_numpy(value.view(np.int16)).view(torch.bfloat16)
    return torch.from_numpy(value)


BNB_KEY = "__bnb_optimizer_quant_state__"
# bitsandbytes' 8-bit optimisers read their options from the group as (lr, betas, eps,
# weight_decay): what a group of 8-bit state adds for them, by class, where pywd's names
# differ (its own "momentum" is betas[0] for SGD, RMSprop's alpha and momentum its betas)
BNB_GROUP: dict[str, Callable[[Mapping[str, Any]], dict[str, Any]]] = {
    "SGD": lambda g: dict(betas=(g["momentum"], g["dampening"]), eps=0.0),
    "RMSprop": lambda g: dict(betas=(g["alpha"], g["momentum"])),
    "Adagrad": lambda g: dict(betas=(0.0, 0.0)),
    "Lion": lambda g: dict(eps=0.0),
    "LARS": lambda g: dict(betas=(g["momentum"], g["dampening"]), eps=0.0),
}


def _bnb_state(entries: dict[str, Any], index: int, flat: Mapping[str, Any],
               pywd_opt: Any) -> dict[str, Any]:
    """A parameter's torch-format state in bitsandbytes' layout (its 8-bit optimisers'):
    the counters as they are ("step" an int, as bitsandbytes keeps it), the state arrays
    in the class's order as state1, state2, ... under BNB_KEY, each 8-bit one with its
    absmax1, ... and its map qmap1, ... (a float32 one, below min_8bit_size, alone)."""
    out: dict[str, Any] = {}
    nested: dict[str, torch.Tensor] = {}
    slot = 0
    for name in pywd_opt.state_arrays:
        if name not in entries:
            continue
        slot += 1
        scales = flat.get(f"state/{index}/{name}/absmax")
        if scales is not None:
            nested[f"state{slot}"] = entries[name]                  # the codes (a copy)
            nested[f"absmax{slot}"] = torch.from_numpy(scales)
            nested[f"qmap{slot}"] = torch.from_numpy(QuantizedState.maps(
                name not in pywd_opt.nonnegative_state))
        else:
            nested[f"state{slot}"] = entries[name]
    for name, value in entries.items():
        if name not in pywd_opt.state_arrays:
            out[name] = int(value.item()) if name in pywd_opt.state_counters else value
    # bitsandbytes counts steps for every class (its SGD starts its momentum at step 1):
    # the optimiser's own count where the class keeps none
    out.setdefault("step", int(pywd_opt.rounding_step))
    if pywd_opt.table_row in ("lamb", "lars"):  # its classes' scratch for the update's norm
        nested["unorm_vec"] = torch.zeros(1)
    out[BNB_KEY] = nested
    return out


def _numpy_option(key: str, value: Any, orders: Sequence[Order] = ()) -> Any:
    """An option in NumPy's terms: a torch dtype (state_dtype=torch.bfloat16) by its name,
    decay_to's tensors as arrays (each in its parameter's memory order, `orders`); anything
    else as it is (pywd's checks judge it)."""
    if isinstance(value, torch.dtype):
        return str(value).removeprefix("torch.")
    if key != "decay_to":
        return value
    if isinstance(value, torch.Tensor):
        return _array(value, "decay_to", orders[0] if orders else None)
    if isinstance(value, (list, tuple)) and value and isinstance(value[0], torch.Tensor):
        return [_array(v, f"decay_to[{i}]", orders[i] if i < len(orders) else None)
                for i, v in enumerate(value)]
    return value


def _plain(value: Any) -> Any:
    """A group value as torch.load(weights_only=True) reads it: NumPy scalars and dtypes
    as Python numbers and names."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.dtype):
        return value.name
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    return value


def _groups(params: Any) -> list[dict[str, Any]]:
    """The param groups `params` gives (as torch.optim.Optimizer reads them), each a new
    dict whose "params" is a list of tensors or (name, tensor) pairs."""
    if isinstance(params, torch.Tensor):
        raise TypeError("params argument given to the optimizer should be an iterable of "
                        "Tensors or dicts, but got " + torch.typename(params))
    groups = list(params)
    if not groups:
        raise ValueError("optimizer got an empty parameter list")
    if not isinstance(groups[0], Mapping):
        groups = [{"params": groups}]
    return [_group(g) for g in groups]


def _group(group: Any) -> dict[str, Any]:
    if not isinstance(group, Mapping) or "params" not in group:
        raise TypeError(f"a param group must be a dict with 'params', got {group!r}")
    params = group["params"]
    if isinstance(params, set):
        raise TypeError("optimizer parameters need to be organized in ordered collections, "
                        "but the ordering of tensors in sets will change between runs. "
                        "Please use a list instead.")
    return {**group, "params": [params] if isinstance(params, torch.Tensor) else list(params)}


def _named(entry: Any, index: int) -> tuple[str | None, Any, str]:
    """(name or None, tensor, how errors name it) of a group's params entry."""
    if isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[0], str):
        return entry[0], entry[1], f"params[{index}] ({entry[0]!r})"
    return None, entry, f"params[{index}]"


def _numpy_group(group: dict[str, Any], start: int,
                 any_layout: bool) -> tuple[dict[str, Any], list[Order]]:
    """`group` for the pywd optimiser (its tensors as NumPy views, checked; its options in
    NumPy's terms) and its parameters' memory orders; `start` is the index of its first
    parameter across groups."""
    params: list[Any] = []
    orders: list[Order] = []
    for i, entry in enumerate(group["params"]):
        name, tensor, where = _named(entry, start + i)
        try:
            order = _memory_order(tensor, any_layout)
        except TypeError as err:
            raise TypeError(f"{where} {err}") from None
        array = _array(tensor, where, order)
        params.append(array if name is None else (name, array))
        orders.append(order)
    options = {k: _numpy_option(k, v, orders) for k, v in group.items()}
    return {**options, "params": params}, orders


class _State(Mapping[Any, Mapping[str, torch.Tensor]]):
    """``opt.state``: a parameter -> its state, read-only, as tensors sharing the pywd
    optimiser's arrays (so they always show the latest step)."""

    def __init__(self, owner: "Optimizer") -> None:
        self._owner = owner

    def __getitem__(self, param: Any) -> Mapping[str, torch.Tensor]:
        index = self._owner._index.get(param)
        if index is None:
            raise KeyError(param)
        entries = self._owner.pywd.state.get(index, {})
        return types.MappingProxyType({k: self._owner._as_param(index, _tensor(v))
                                       for k, v in entries.items()})

    # (8-bit state reads as its float32 values: a copy, see _tensor)

    def __contains__(self, param: object) -> bool:
        """As torch's: a parameter is in the state once a step has made its state."""
        index = self._owner._index.get(param) if isinstance(param, torch.Tensor) else None
        return index is not None and bool(self._owner.pywd.state.get(index))

    def _indices(self) -> list[int]:
        state = self._owner.pywd.state
        return [i for i in range(len(self._owner._tensors)) if state.get(i)]

    def __iter__(self) -> Iterator[Any]:
        return (self._owner._tensors[i] for i in self._indices())

    def __len__(self) -> int:
        return len(self._indices())

    def __repr__(self) -> str:
        return repr({f"params[{i}]": dict(self[self._owner._tensors[i]])
                     for i in self._indices()})


class Optimizer(torch.optim.Optimizer):
    """Base of pywd.torch's classes: a ``torch.optim.Optimizer`` that steps with the
    :mod:`pywd.optim` optimiser ``pywd_class`` (see the module's docstring). The torch
    ``param_groups`` hold the tensors and are the hyper-parameters' truth (what schedulers
    and users change); ``self.pywd`` holds NumPy views of the same memory and the state."""

    pywd_class: type[_optim.Optimizer] = _optim.Optimizer
    # parameters laid out in another memory order (channels_last) are taken when each
    # element steps on its own (pywd_class.per_element): not LAMB, LARS, Muon, Adafactor
    any_layout = True
    # the implementation switches of torch.optim's class of the same name, with their
    # defaults: state_dict adds them, so that torch's class loads it
    _torch_switches: dict[str, Any] = {}

    def __init__(self, params: Any, *args: Any, **kwargs: Any) -> None:
        groups = _groups(params)
        start = 0
        for group in groups:
            self._check_shardable(group, start)
            start += len(group["params"])
        numpy_groups: list[dict[str, Any]] = []
        orders: list[Order] = []
        for group in groups:
            numpy_group, group_orders = _numpy_group(group, len(orders), self.any_layout)
            numpy_groups.append(numpy_group)
            orders += group_orders
        self._tensors: list[torch.Tensor] = []      # every parameter, in order
        self._orders: list[Order] = []              # each one's memory order (None: C)
        self._pointers: list[int] = []              # where each one's memory was viewed
        self._index: dict[torch.Tensor, int] = {}   # a parameter's position in _tensors
        self._where: list[str] = []                 # how errors name each parameter
        self.last_result: StepResult | None = None  # the last step's
        # sharded parameters: the rounding seed all processes agreed on (each rounds with
        # its own, derived from it: _torch_shards.seed_of_process); None otherwise
        self._agreed_seed: int | None = None
        options = {k: _numpy_option(k, v, orders) for k, v in kwargs.items()}
        self.pywd = self.pywd_class(numpy_groups, *args, **options)
        super().__init__(groups, dict(self.pywd.defaults))
        self._follow_shards(0)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        signature = inspect.signature(cls.pywd_class)       # with torch's params
        params = signature.parameters["params"].replace(annotation="Iterable[torch.Tensor]")
        cls.__signature__ = signature.replace(  # type: ignore[attr-defined]
            parameters=[params, *list(signature.parameters.values())[1:]])
        cls.any_layout = cls.pywd_class.per_element
        cls._torch_switches = _torch_defaults(cls.__name__)
        if "pywd_class" not in vars(cls):            # (a base of some: _ScheduleFree)
            return
        section = _docs.parameters_section(cls.pywd_class,
                                           _docs.functionals(cls.pywd_class),
                                           params=_docs.TORCH_PARAMS)
        cls.__doc__ = (f"{cls.__doc__}\n\n    Its options and equations are those of "
                       f":class:`pywd.optim.{cls.pywd_class.__name__}`; a step reads the\n"
                       f"    gradients from ``p.grad`` (see :mod:`pywd.torch`).\n\n"
                       + textwrap.indent(section, "    "))

    @property  # type: ignore[override]
    def state(self) -> _State:
        return _State(self)

    @state.setter
    def state(self, value: Any) -> None:
        if value:           # torch's __init__ sets an empty one
            raise TypeError(f"{type(self).__name__}.state is the pywd optimiser's: "
                            f"load_state_dict() replaces it")

    def __reduce_ex__(self, protocol: Any) -> Any:
        raise TypeError(f"a pywd.torch.{type(self).__name__} cannot be pickled or copied: "
                        f"its arrays are views of the model's tensors, which a copy would "
                        f"not follow; save and load its state_dict() instead")

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """torch's add_param_group; the group is added to ``self.pywd`` too (checked by
        both before either keeps it)."""
        building = len(self.param_groups) < len(self.pywd.param_groups)  # from __init__
        if not building:
            self._check_shardable(_group(param_group), len(self._tensors))
            numpy_group, _ = _numpy_group(_group(param_group), len(self._tensors),
                                          self.any_layout)
        super().add_param_group(param_group)
        if not building:
            try:
                self.pywd.add_param_group(numpy_group)
            except BaseException:
                self.param_groups.pop()
                raise
        group = self.param_groups[-1]
        mine = self.pywd.param_groups[len(self.param_groups) - 1]
        for key in self.defaults:               # pywd's normalised values ("init" anchors,
            group[key] = mine[key]              # betas as a tuple, state_dtype's name)
        names = group.get("param_names", [None] * len(group["params"]))
        for p, name in zip(group["params"], names):
            where = _named((name, p) if name else p, len(self._tensors))[2]
            self._index[p] = len(self._tensors)
            self._orders.append(_memory_order(p, self.any_layout))
            self._tensors.append(p)
            self._pointers.append(_pointer(p))
            self._where.append(where)
        if not building:
            self._follow_shards(len(self._tensors) - len(group["params"]))

    def _check_shardable(self, group: Mapping[str, Any], start: int) -> None:
        """A TypeError if the group (whose first parameter is the optimizer's `start`) has
        sharded parameters (DTensors) and this class cannot step them."""
        why = _UNSHARDABLE.get(self.pywd_class.__name__)
        for i, entry in enumerate(group["params"]):
            _, tensor, where = _named(entry, start + i)
            if why and shards.is_sharded(tensor):
                raise TypeError(f"pywd.torch.{type(self).__name__} cannot step sharded "
                                f"parameters (DTensors, as FSDP2's fully_shard makes; "
                                f"{where} is one): {why}")

    def _follow_shards(self, start: int) -> None:
        """With sharded parameters (DTensors), what adds their per-tensor sums over the
        processes (pywd.optim's _shard_reducer), and "init" norms (norm_target) made whole
        for parameters from `start` on."""
        first = next((p for p in self._tensors if shards.is_sharded(p)), None)
        if first is None:
            return
        if self.pywd._shard_reducer is None:      # the first sharded parameters
            self._agreed_seed = shards.agreed_seed(self.pywd.rounding_seed, first)
            self.pywd.rounding_seed = shards.seed_of_process(self._agreed_seed)
        reducer = self.pywd._shard_reducer = shards.ShardSums(self._tensors)
        indices = [i for i in range(start, len(self._tensors))
                   if INIT_NORM in self.pywd.state.get(i, {})]
        if indices:
            squares = np.array([[self.pywd.state[i][INIT_NORM] ** 2] for i in indices])
            reducer([(indices, squares)])
            for i, square in zip(indices, squares[:, 0]):
                self.pywd.state[i][INIT_NORM] = math.sqrt(square)

    # ------------------------------------------------------------------ step
    def step(self, closure: Any = None, *, nonfinite: Nonfinite = "propagate",
             grad_scale: float = 1.0, max_grad_norm: float | None = None) -> Any:
        """One step over the gradients in ``p.grad``; returns ``closure()``'s loss, as
        torch (the closure runs first, with grad enabled). ``nonfinite``, ``grad_scale`` (the
        loss scale the gradients carry, divided out as they are read: GradScaler's
        ``unscale_`` fused) and ``max_grad_norm`` act as in :meth:`pywd.optim.Optimizer.step`;
        the step's :class:`pywd.StepResult` is kept in ``last_result`` (falsy for a skipped
        step)."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        self._follow_memory()
        self._sync()
        grads = []
        for i, p in enumerate(self._tensors):
            g, where = p.grad, f"the grad of {self._where[i]}"
            if g is not None and shards.is_sharded(p):
                g = shards.grad_like(g, p, where)
            grads.append(None if g is None else _array(g, where, self._orders[i]))
        reducer = self.pywd._shard_reducer
        if reducer is None:
            self.last_result = self.pywd.step(grads, nonfinite=nonfinite,
                                              grad_scale=grad_scale,
                                              max_grad_norm=max_grad_norm)
        else:
            self.last_result = self._sharded_step(reducer, grads, nonfinite, grad_scale,
                                                  max_grad_norm)
        return loss

    def _sharded_step(self, reducer: Any, grads: list[Any], nonfinite: Nonfinite,
                      grad_scale: float, max_grad_norm: float | None) -> StepResult:
        """A step of sharded parameters (DTensors): the gradient options judged on the whole
        gradient, whose norm adds every process's slices (so every process skips, refuses
        or clips alike), then pywd's step of the local slices with that scale; the step's
        statistics made whole too."""
        _kernels._check_step([], [], (), nonfinite, grad_scale, max_grad_norm)
        result = None
        if nonfinite != "propagate" or max_grad_norm is not None:
            present = [i for i, g in enumerate(grads) if g is not None]
            arrays = [grads[i] for i in present]
            root = shards.grad_norm(reducer, arrays, present)
            norm, scale = root / grad_scale, grad_scale
            if max_grad_norm is not None:
                clip = max_grad_norm / (norm + 1e-6)          # torch's clip_grad_norm_
                if clip < 1.0:
                    scale = grad_scale / clip
            trouble = None
            if not math.isfinite(norm):
                trouble = "a gradient has a non-finite value (on some process)"
            elif nonfinite != "propagate" and shards.float32_overflow(reducer, arrays, present,
                                                                      root, scale):
                trouble = (f"a float32 gradient overflows once multiplied by 1/grad_scale "
                           f"({1 / scale:g}, on some process)")
            if trouble and nonfinite == "raise":
                raise FloatingPointError(f"{trouble} and nonfinite='raise': no tensor was "
                                         f"changed")
            if trouble and nonfinite == "skip":
                self.pywd.skipped_steps += 1
                return StepResult(False, norm)
            grad_scale, result = scale, norm
        stepped = self.pywd.step(grads, grad_scale=grad_scale)
        stats = self.pywd.last_stats
        if stepped and stats is not None:
            reducer([(list(range(len(stats.sums))), stats.sums)])
        return StepResult(True, result) if stepped and result is not None else stepped

    @property
    def skipped_steps(self) -> int:
        """Steps left undone by ``step(nonfinite="skip")``."""
        return self.pywd.skipped_steps

    def _sync(self) -> None:
        """The torch groups' hyper-parameters (which schedulers change) into pywd's, and the
        initial_lr a torch scheduler recorded (max_lr's default: see pywd.optim)."""
        for group, mine in zip(self.param_groups, self.pywd.param_groups):
            for key in self.defaults:
                value = group[key]
                if mine[key] is not value:
                    mine[key] = value
            if "initial_lr" in group:
                mine["initial_lr"] = group["initial_lr"]

    def _follow_memory(self) -> None:
        """A parameter whose memory moved (``p.data = ...``) is viewed anew, so the step
        updates the tensor as it is now, never a stale copy; if its layout changed too
        (``model.to(memory_format=...)``), its state is laid out anew with it."""
        pointers = [_pointer(p) for p in self._tensors]
        if pointers == self._pointers:
            return
        for group, indices in self.pywd._group_indices():
            for j, i in enumerate(indices):
                if pointers[i] == self._pointers[i]:
                    continue
                tensor, where = self._tensors[i], self._where[i]
                try:
                    order = _memory_order(tensor, self.any_layout)
                except TypeError as err:
                    raise TypeError(f"{where}'s memory layout changed since the optimizer was "
                                    f"built: it {err}") from None
                array = _array(tensor, where, order)
                old = group["params"][j]
                shape = tuple(old.shape[k] for k in _inverse(self._orders[i], old.ndim))
                if array.dtype != old.dtype or tuple(tensor.shape) != shape:
                    raise TypeError(f"{where} changed from {old.dtype} {shape} to "
                                    f"{array.dtype} {tuple(tensor.shape)} since the optimizer "
                                    f"was built (model.to(dtype)?): its state no longer fits; "
                                    f"build the optimizer after converting the model")
                if order != self._orders[i]:
                    self._relayout_state(i, self._orders[i], order)
                group["params"][j] = array
                self._orders[i] = order
                self._pointers[i] = pointers[i]

    def _as_param(self, index: int, value: torch.Tensor) -> torch.Tensor:
        """A state tensor of parameter `index` (as pywd holds it: the parameter's memory
        order, its local slice if sharded) with the parameter's axes, and for a sharded
        parameter as a DTensor placed as it is."""
        value = _restore_axes(value, self._orders[index])
        return shards.as_sharded(value, self._tensors[index])

    def _relayout_state(self, index: int, old: Order, new: Order) -> None:
        """Parameter `index`'s state arrays (kept in its memory order `old`) copied into
        memory order `new` (C order: None), as they would have been made in it."""
        state = self.pywd.state.get(index)
        if not state:
            return
        rank = len(self._tensors[index].shape)
        to_axes, laid_out = _inverse(old, rank), new or tuple(range(rank))
        for name, value in list(state.items()):
            if isinstance(value, QuantizedState) and value.ndim == rank and rank:
                # blocks run through memory: decoded, laid out anew, encoded again
                wide = value.dequantize().transpose(to_axes).transpose(laid_out)
                state[name] = quantize(np.ascontiguousarray(wide), value.signed)
            elif isinstance(value, np.ndarray) and value.ndim == rank and rank:
                target = value.transpose(to_axes).transpose(laid_out)   # via the param's axes
                moved = pywd_memory.empty(target.shape, value.dtype)
                moved[...] = target
                state[name] = moved
    # ------------------------------------------------------------- state_dict
    def state_dict(self) -> dict[str, Any]:
        """torch's format: ``{"state": {index: {name: tensor}}, "param_groups": [...]}``
        (copies), plus ``"pywd"``: what a resumed run needs besides (the skipped steps, the
        stochastic rounding's seed and step, and each group's initial lr; the first three
        also in every group as ``"pywd_run"``, which torch.distributed.checkpoint's
        optimizer state dicts keep where they drop "pywd"). Group keys that
        torch's class of the same name has and pywd's lacks (foreach, fused, ...;
        decoupled_weight_decay from decay) are added with torch's defaults, so that torch's
        optimiser loads it. torch's state_dict hooks run as in torch."""
        for pre_hook in self._optimizer_state_dict_pre_hooks.values():
            pre_hook(self)
        self._sync()
        flat = self.pywd.state_dict()
        state: dict[int, dict[str, Any]] = {}
        for key, value in flat.items():
            if key.startswith("state/") and not key.endswith("/absmax"):
                _, position, name = key.split("/")
                number = name in self.pywd.state_counters or name in self.pywd.state_scalars
                if f"{key}/absmax" in flat and shards.is_sharded(self._tensors[int(position)]):
                    value = self.pywd.state[int(position)][name]   # 8-bit: decoded (below)
                state.setdefault(int(position), {})[name] = self._as_param(
                    int(position), _tensor(value.item() if number else value))
        eight_bit = {i for group, indices in self.pywd._group_indices()
                     if group.get("state_dtype") == "8bit" for i in indices}
        for index in state:
            # (a sharded parameter's 8-bit state stays decoded, a DTensor: torch's checkpoint
            # tools reshard tensors, not the blocks of each process's slice)
            if index in eight_bit and not shards.is_sharded(self._tensors[index]):
                if self._orders[index] is not None:
                    raise ValueError(f"{self._where[index]} is laid out in another memory "
                                     f"order (channels_last) and its state is 8-bit, whose "
                                     f"blocks run through memory: bitsandbytes' layout cannot "
                                     f"hold it (make the parameter contiguous)")
                state[index] = _bnb_state(state[index], index, flat, self.pywd)
        groups = []
        for g, group in enumerate(self.param_groups):
            packed = {k: _plain(v) for k, v in group.items() if k != "params"}
            packed["params"] = flat[f"param_groups/{g}/params"].tolist()
            for key, default in self._torch_switches.items():
                packed.setdefault(key, group["decay"] == "decoupled"
                                  if key == "decoupled_weight_decay" else default)
            if group.get("state_dtype") == "8bit" and type(self).__name__ in BNB_GROUP:
                aliases: dict[str, Any] = BNB_GROUP[type(self).__name__](group)
                for key, alias in aliases.items():
                    packed.setdefault(key, alias)       # for bitsandbytes' 8-bit class
            groups.append(packed)
        extra: dict[str, Any] = {key: int(flat[key]) for key in ("skipped_steps",
                                                                 "rounding_seed",
                                                                 "rounding_step")}
        run = dict(extra)            # (in every group too: torch.distributed.checkpoint
        if self._agreed_seed is not None:       # keeps the groups and the state only, and
            run["rounding_seed"] = self._agreed_seed    # one value of each for all processes)
        for packed in groups:
            packed[PYWD_RUN] = dict(run)
        # the lr each group was built with (max_lr's default), which torch's groups hold
        # only once a scheduler has recorded it
        extra["initial_lr"] = [float(mine["initial_lr"]) for mine in self.pywd.param_groups]
        saved = {"state": state, "param_groups": groups, "pywd": extra}
        for post_hook in self._optimizer_state_dict_post_hooks.values():
            changed = post_hook(self, saved)
            saved = saved if changed is None else changed
        return saved

    @property
    def track_stats(self) -> bool:
        """pywd.optim's ``track_stats``: each step records its statistics per parameter in
        ``last_stats`` (a :class:`pywd.StepStats`), summed in the update's own pass. torch
        has no such option: the NumPy equivalent is norms of ``p - p_before`` from a copy
        taken before each step."""
        return self.pywd.track_stats

    @track_stats.setter
    def track_stats(self, value: bool) -> None:
        self.pywd.track_stats = value

    @property
    def last_stats(self) -> Any:
        """The last step's :class:`pywd.StepStats` (with ``track_stats``), else None."""
        return self.pywd.last_stats

    def torch_state_dict(self) -> dict[str, Any]:
        """The state to hand this run to ``torch.optim``'s class of the same name, which then
        continues it as pywd would: torch's keys only (pywd's options and its "pywd" entry
        left out; ``decoupled_weight_decay`` set from ``decay`` where torch's class has it;
        16-bit state widened to its parameter's dtype, as torch keeps it; scheduler keys such
        as ``initial_lr`` kept). Refused, with a ValueError naming each group and option,
        when the run uses what torch cannot do: a class torch lacks, a ``decay`` rule its
        class has not, ``cautious_decay``, ``decay_to``, ``norm_target``, ``kahan_sum`` or
        stochastic rounding of 16-bit params (where they act: with ``weight_decay=0`` the
        decay options do nothing). (The plain ``state_dict()`` loads into torch's class too,
        which keeps pywd's options as inert group entries and applies its own rule, decaying
        toward 0.)
        """
        name = type(self).__name__
        if getattr(torch.optim, name, None) is None:
            raise ValueError(f"torch.optim has no {name}: a {name} run cannot be handed to "
                             f"torch (its state_dict() loads into pywd.torch.{name})")
        rules = _torch_decay_rules(name, self.pywd_class)
        problems = [f"param_groups[{g}] {problem}" for g, group in enumerate(self.param_groups)
                    for problem in _unhonoured(group, rules)]
        problems += [f"param_groups[{g}] has state_dtype='8bit' (bitsandbytes' {name}8bit "
                     f"loads state_dict())" for g, group in enumerate(self.param_groups)
                     if group.get("state_dtype") == "8bit"]
        if problems:
            raise ValueError(f"torch.optim.{name} cannot continue this run: "
                             + "; ".join(problems))
        saved = self.state_dict()
        for group in saved["param_groups"]:
            for key in (*PYWD_ONLY, PYWD_RUN):  # pywd's, which torch's classes lack
                group.pop(key, None)
        for index, entries in saved["state"].items():
            param = self._tensors[index]
            saved["state"][index] = {
                key: value.to(param.dtype) if value.dim() and value.is_floating_point() else value
                for key, value in entries.items()
                if key not in ("decay_to", "compensation", "init_norm")}
        del saved["pywd"]
        return saved

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Loads a state_dict(): this class's, torch's optimiser's of the same name (as
        :meth:`pywd.optim.Optimizer.load_state_dict` takes it), or the pywd optimiser's flat
        one. Checked whole before anything changes; the hyper-parameters it holds replace
        the groups' (as torch does), and its other plain group entries (a scheduler's
        initial_lr) are kept. torch's load_state_dict hooks run as in torch."""
        for pre_hook in self._optimizer_load_state_dict_pre_hooks.values():
            changed = pre_hook(self, state_dict)  # type: ignore[arg-type]  # a Mapping here
            state_dict = state_dict if changed is None else changed
        self.pywd.load_state_dict(self._in_memory_order(_local_state(_by_position(state_dict))))
        if self._agreed_seed is not None:
            # the groups' seed (pywd_run) is the agreed one; without "pywd" (a distributed
            # checkpoint's) this process's own derives from it
            groups = state_dict.get("param_groups")
            run = groups[0].get(PYWD_RUN) if isinstance(groups, Sequence) and groups and \
                isinstance(groups[0], Mapping) else None
            if isinstance(run, Mapping) and "rounding_seed" in run:
                self._agreed_seed = int(run["rounding_seed"])
            if "pywd" not in state_dict:
                self.pywd.rounding_seed = shards.seed_of_process(self._agreed_seed)
        saved = state_dict.get("param_groups")
        for g, (group, mine) in enumerate(zip(self.param_groups, self.pywd.param_groups)):
            for key in self.defaults:
                group[key] = mine[key]
            if isinstance(saved, Sequence) and not isinstance(saved, (str, bytes)):
                extras = {k: v for k, v in saved[g].items()
                          if k not in self.defaults and k not in TORCH_ONLY
                          and k not in ("params", "param_names", PYWD_RUN)}
            else:
                prefix = f"param_groups/{g}/extra/"
                extras = {k[len(prefix):]: mine[k[len(prefix):]] for k in state_dict
                          if k.startswith(prefix)}
            group.update(extras)
        for post_hook in self._optimizer_load_state_dict_post_hooks.values():
            post_hook(self)


    def _in_memory_order(self, state_dict: Mapping[str, Any]) -> Mapping[str, Any]:
        """A torch-format state_dict with the state tensors of parameters laid out in
        another memory order permuted to it, as pywd holds them (views, not copies)."""
        state = state_dict.get("state")
        if not any(self._orders) or not isinstance(state, Mapping):
            return state_dict
        moved = {}
        for index, entries in state.items():
            order = (self._orders[index] if isinstance(index, int)
                     and 0 <= index < len(self._orders) else None)
            if order is not None and isinstance(entries, Mapping):
                entries = {k: v.permute(order) if isinstance(v, torch.Tensor)
                           and v.dim() == len(order) else v for k, v in entries.items()}
            moved[index] = entries
        return {**state_dict, "state": moved}


def _by_position(state_dict: Mapping[str, Any]) -> Mapping[str, Any]:
    """A torch-format state_dict whose groups name their parameters by other keys than
    positions (torch.distributed.checkpoint's fully qualified names) with positions: as
    torch's load_state_dict, the groups' parameters in order are the optimizer's."""
    groups, state = state_dict.get("param_groups"), state_dict.get("state")
    if not isinstance(groups, (list, tuple)) or not isinstance(state, Mapping) or not all(
            isinstance(g, Mapping) and isinstance(g.get("params"), (list, tuple)) for g in groups):
        return state_dict               # (pywd's checks name what is wrong)
    keys = [key for g in groups for key in g["params"]]
    if all(type(key) is int for key in keys):
        return state_dict
    position = {key: i for i, key in enumerate(keys)}
    numbered, start = [], 0
    for g in groups:
        numbered.append({**g, "params": list(range(start, start + len(g["params"])))})
        start += len(g["params"])
    moved = {position.get(key, key): entries for key, entries in state.items()}
    return {**state_dict, "param_groups": numbered, "state": moved}


def _local_state(state_dict: Mapping[str, Any]) -> Mapping[str, Any]:
    """A torch-format state_dict with its DTensor state (a sharded run's, as saved or as
    torch.distributed.checkpoint loads it) as their local tensors, which pywd holds."""
    state = state_dict.get("state")
    if not isinstance(state, Mapping) or not any(
            shards.is_sharded(v) for entries in state.values() if isinstance(entries, Mapping)
            for v in entries.values()):
        return state_dict
    local = {index: {k: v.to_local() if shards.is_sharded(v) else v for k, v in entries.items()}
             if isinstance(entries, Mapping) else entries for index, entries in state.items()}
    return {**state_dict, "state": local}


def _torch_decay_rules(name: str, pywd_class: type) -> tuple[str, ...]:
    """The decay rules torch.optim's class `name` applies: its own (the pywd class's
    default, which follows torch's), and both L2 and decoupled where it has the
    decoupled_weight_decay switch (Adam, RAdam, NAdam); none where it has no weight_decay
    (Rprop)."""
    parameters = inspect.signature(getattr(torch.optim, name)).parameters
    if "weight_decay" not in parameters:
        return ()
    if "decoupled_weight_decay" in parameters:
        return ("l2", "decoupled")
    return (inspect.signature(pywd_class).parameters["decay"].default,)


def _unhonoured(group: Mapping[str, Any], rules: tuple[str, ...]) -> list[str]:
    """What of a group's options torch's class cannot do (see torch_state_dict)."""
    problems = []
    if group["weight_decay"] != 0:
        if not rules:
            problems.append(f"weight_decay={group['weight_decay']!r} (torch's class has none)")
        elif group["decay"] not in rules:
            problems.append(f"decay={group['decay']!r} (torch's class: "
                            + " or ".join(repr(r) for r in rules) + ")")
        if group.get("cautious_decay"):
            problems.append("cautious_decay=True")
        if group.get("decay_to") is not None:
            problems.append(f"decay_to={group['decay_to']!r} (torch decays toward 0)")
        if group.get("norm_target") is not None:
            problems.append(f"norm_target={group['norm_target']!r} (torch decays toward 0)")
    if group.get("kahan_sum"):
        problems.append("kahan_sum=True (torch has no Kahan compensation)")
    if group.get("caution"):
        problems.append("caution=True (torch has no cautious update)")
    narrow = [p for p in group["params"] if p.dtype in (torch.bfloat16, torch.float16)]
    if narrow and group.get("rounding", "stochastic") == "stochastic":
        problems.append(f"rounding='stochastic' of {narrow[0].dtype} params (torch rounds "
                        f"to nearest)")
    return problems


def _torch_defaults(name: str) -> dict[str, Any]:
    """The implementation switches torch.optim's class `name` has (none if it has no such
    class), with their defaults."""
    cls = getattr(torch.optim, name, None)
    if cls is None:
        return {}
    parameters = inspect.signature(cls).parameters
    return {key: parameters[key].default for key in TORCH_ONLY if key in parameters}


class _ScheduleFree(Optimizer):
    """train() and eval() of the schedule-free optimisers (params to y, or to the
    average x), as the schedulefree package's."""

    def train(self) -> None:
        self._mode(True)

    def eval(self) -> None:
        self._mode(False)

    def _mode(self, train: bool) -> None:
        self._follow_memory()
        self._sync()
        # torch's groups show train_mode too: flipped in the same call as pywd's (whole)
        self.pywd._switch(train, self.param_groups)  # type: ignore[attr-defined]


def param_groups_weight_decay(named_params: Iterable[tuple[str, Any]],
                              weight_decay: float = 1e-5,
                              no_weight_decay_list: Sequence[str] = ()) -> list[dict[str, Any]]:
    """:func:`pywd.optim.param_groups_weight_decay` (timm's rule) for torch: the groups hold
    the tensors themselves, as a torch optimiser needs::

        opt = pywd.torch.AdamW(param_groups_weight_decay(model.named_parameters(), 0.05))
    """
    return _split_by_decay(named_params, weight_decay, no_weight_decay_list, _checked)


def _checked(name: str, tensor: Any) -> Any:
    """`tensor`, once pywd can update it in place, in any memory order (else the error
    saying why); the optimiser then applies its own rule on layouts."""
    _array(tensor, name, _memory_order(tensor, True))
    return tensor


# the optimisers, one per pywd.optim class
# --- generated by tests/generate.py (torch_module) from the table of optimisers: do not edit ---
__all__ += ["SGD", "SGDW", "Adam", "AdamW", "RMSprop", "Adagrad", "Lion", "Adamax", "RAdam",
            "NAdam", "Adadelta", "Rprop", "ASGD", "Lamb", "LARS", "AdamWScheduleFree",
            "SGDScheduleFree", "Muon", "AdEMAMix", "Adafactor"]


class SGD(Optimizer):
    """:class:`pywd.optim.SGD` as a torch optimiser (torch.optim.SGD's arguments)."""
    pywd_class = _optim.SGD


class SGDW(Optimizer):
    """:class:`pywd.optim.SGDW` as a torch optimiser (SGD with decoupled decay)."""
    pywd_class = _optim.SGDW


class Adam(Optimizer):
    """:class:`pywd.optim.Adam` as a torch optimiser (torch.optim.Adam's arguments)."""
    pywd_class = _optim.Adam


class AdamW(Optimizer):
    """:class:`pywd.optim.AdamW` as a torch optimiser (torch.optim.AdamW's arguments)."""
    pywd_class = _optim.AdamW


class RMSprop(Optimizer):
    """:class:`pywd.optim.RMSprop` as a torch optimiser (torch.optim.RMSprop's arguments)."""
    pywd_class = _optim.RMSprop


class Adagrad(Optimizer):
    """:class:`pywd.optim.Adagrad` as a torch optimiser (torch.optim.Adagrad's arguments)."""
    pywd_class = _optim.Adagrad


class Lion(Optimizer):
    """:class:`pywd.optim.Lion` as a torch optimiser (lion_pytorch's arguments)."""
    pywd_class = _optim.Lion


class Adamax(Optimizer):
    """:class:`pywd.optim.Adamax` as a torch optimiser (torch.optim.Adamax's arguments)."""
    pywd_class = _optim.Adamax


class RAdam(Optimizer):
    """:class:`pywd.optim.RAdam` as a torch optimiser (torch.optim.RAdam's arguments)."""
    pywd_class = _optim.RAdam


class NAdam(Optimizer):
    """:class:`pywd.optim.NAdam` as a torch optimiser (torch.optim.NAdam's arguments)."""
    pywd_class = _optim.NAdam


class Adadelta(Optimizer):
    """:class:`pywd.optim.Adadelta` as a torch optimiser (torch.optim.Adadelta's arguments)."""
    pywd_class = _optim.Adadelta


class Rprop(Optimizer):
    """:class:`pywd.optim.Rprop` as a torch optimiser (torch.optim.Rprop's arguments)."""
    pywd_class = _optim.Rprop


class ASGD(Optimizer):
    """:class:`pywd.optim.ASGD` as a torch optimiser (torch.optim.ASGD's arguments)."""
    pywd_class = _optim.ASGD


class Lamb(Optimizer):
    """:class:`pywd.optim.Lamb` as a torch optimiser (timm's arguments)."""
    pywd_class = _optim.Lamb


class LARS(Optimizer):
    """:class:`pywd.optim.LARS` as a torch optimiser (timm's Lars arguments)."""
    pywd_class = _optim.LARS


class AdamWScheduleFree(_ScheduleFree):
    """:class:`pywd.optim.AdamWScheduleFree` as a torch optimiser (the schedulefree
    package's arguments; ``train()``/``eval()`` as its)."""
    pywd_class = _optim.AdamWScheduleFree


class SGDScheduleFree(_ScheduleFree):
    """:class:`pywd.optim.SGDScheduleFree` as a torch optimiser (the schedulefree package's
    arguments; ``train()``/``eval()`` as its)."""
    pywd_class = _optim.SGDScheduleFree


class Muon(Optimizer):
    """:class:`pywd.optim.Muon` as a torch optimiser (torch.optim.Muon's arguments; 2-D
    parameters only)."""
    pywd_class = _optim.Muon


class AdEMAMix(Optimizer):
    """:class:`pywd.optim.AdEMAMix` as a torch optimiser (bitsandbytes' AdEMAMix arguments;
    pytorch-optimizer's state names)."""
    pywd_class = _optim.AdEMAMix


class Adafactor(Optimizer):
    """:class:`pywd.optim.Adafactor` as a torch optimiser (torch.optim.Adafactor's
    arguments)."""
    pywd_class = _optim.Adafactor
# --- end of the generated block ---
