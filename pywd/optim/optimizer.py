"""pywd.optim's base class: param groups, per-parameter state, the validated step and a
pickle-free state_dict."""
from __future__ import annotations

import difflib
import inspect
import math
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import partial
from typing import Any, TypeVar, Union, overload

import numpy as np

from .. import _generator, _kernels, _torch_state, memory, quantized
from .._kernels import StepResult
from .._optimisers import UPDATES
from .._typing import ArrayIn, Nonfinite
from ..flat import FlatParams
from ..step_stats import SUMS as STEP_SUMS
from ..step_stats import StepStats
from ._support import (ANCHOR, COMPENSATION, COPY_OF_PARAM, INIT_NORM, OPTIONAL_HYPER,
                       STATE_FORMAT, STEP_LIMIT, _anchored, _anchors, _call_closure,
                       _check_storage, _check_torch_options, _check_unique_names, _count_entry,
                       _decoupled, _describe, _expect_str, _fortran, _grad_list, _hyper_value,
                       _init_norms, _load_entry, _names_of, _param_list, _plain, _refuse_near_miss,
                       _rounding_seed, _saved_hyper, _scheduler_key, _state_dtype, _eight_bit,
                       MIN_8BIT_SIZE)

# An optimiser's params: one array, an iterable of arrays, of (name, array) pairs (as
# model.named_parameters() gives them) or of param-group dicts.
Params = Union[ArrayIn, Iterable[ArrayIn], Iterable[tuple[str, ArrayIn]],
               Iterable[Mapping[str, Any]]]
# step()'s grads: one per parameter, in order; None leaves that parameter alone.
Grads = Union[ArrayIn, Sequence[Union[ArrayIn, None]], FlatParams,
              Mapping[str, Union[ArrayIn, None]]]
# what a step(closure)'s closure returns besides the grads (a loss), and step returns
Loss = TypeVar("Loss")


class Optimizer:
    """Base class of pywd.optim's optimisers, as ``torch.optim.Optimizer``: param groups
    (``param_groups``, dicts of arrays and hyper-parameters), per-parameter state
    (``state[i]``, arrays and counters), ``step(grads)`` and a pickle-free ``state_dict()``
    / ``load_state_dict()``. Per step and parameter, a subclass runs its functional kernel
    (the equations are in :func:`pywd.sgd`, :func:`pywd.adam`, ...). NumPy equivalent: a
    Python loop over the parameters doing those lines; torch equivalent:
    ``torch.optim.Optimizer``.

    A step is planned and validated whole before its first kernel call: the gradients, every
    parameter and state array of every group (one check of all of them together, overlaps
    included), the hyper-parameters in the dtypes they will be used in, the step counters.
    So a refused step changes nothing, and each kernel call then runs on arrays checked once.
    The calls and the counters' advance then run together in C, where no signal's handler
    can stop them half-way: a KeyboardInterrupt (Ctrl-C) during a step leaves the params and
    the state those of the steps before it or of this one, whole, never a mix.

    One optimiser is stepped by one thread at a time: ``step`` holds a lock, so steps from
    several threads run one after another (each whole), never interleaved.

    torch's implementation switches ``foreach=``, ``fused=``, ``capturable=`` (bool or None)
    and ``differentiable=False`` are accepted by every class and ignored, so ported code
    runs: pywd has one implementation, one fused C call per list of arrays.
    ``differentiable=True`` is refused, as no autograd graph sees a NumPy update.

    16-bit storage: params, their gradients and (``state_dtype=``, per group) the state may
    be bfloat16 or float16; the update computes in float32 and rounds each stored value once
    (``rounding=``, per group: "stochastic", the default, or "nearest"; or ``kahan_sum=True``,
    per group, for a Kahan compensation per parameter, state "compensation"). Stochastic
    rounding draws its bits from the optimiser's seed (``rng=``: an int, a Generator's seed,
    or None for one drawn from the default generator, so ``pywd.seed`` makes runs repeat)
    and the step, counted in ``rounding_step``; both are saved by state_dict, so a resumed
    run gets the bytes of an uninterrupted one.

    Subclassing: a subclass sets ``table_row`` (its update's row in the table of optimisers,
    pywd/_optimisers.py, which gives ``state_arrays``, the per-parameter arrays shaped like
    the parameter in the order their update function takes them, and ``nonnegative_state``;
    or sets those two itself), ``state_counters``
    (per-parameter ints, e.g. "step"), ``state_scalars`` (per-parameter floats and the
    closed range each stays in, e.g. NAdam's "mu_product": set by ``_initial_scalars`` and
    ``_advance_scalars``) and ``nonnegative_state`` (arrays that can never be negative, such
    as second moments: checked on load), passes its defaults to ``__init__``, and implements
    ``_check_group`` (validate a group's hyper-parameters), ``_state_needed`` (the state
    arrays a group's parameters need, with their initial value; the decay_to anchors are
    the base class's, for every optimiser), optionally ``_run_keys`` (what splits a group's
    parameters into separate kernel calls besides their dtype) and ``_kernel_call`` (the
    kernel call over a run of a group's parameters, made ready, not made). State shaped
    otherwise than its parameter (Adafactor's factors) is named in ``state_shapes`` (its
    batch shape rule) and ``optional_state`` (what some parameters lack: a kernel call gets
    None for it), with ``_state_shape`` (a parameter's shape of it, or None).
    """

    table_row: str | None = None
    state_arrays: tuple[str, ...] = ()
    state_counters: tuple[str, ...] = ()
    state_scalars: dict[str, tuple[float, float]] = {}
    # hyper-parameters torch's class of the same name lacks (a torch state_dict loads
    # without them, keeping this optimizer's values)
    not_in_torch: tuple[str, ...] = ()
    # where the torch-format state_dicts this class loads come from, for errors
    torch_twin = "torch.optim.{name}"
    # state a torch-format state_dict may keep per group (the schedulefree package's k,
    # weight_sum, lr_max) that pywd keeps per parameter: group key -> state name
    group_state_in_torch: dict[str, str] = {}
    nonnegative_state: tuple[str, ...] = ()
    # the update function has no step of its own: stochastic rounding gets rounding_step's
    step_for_rounding = False
    # state arrays not shaped like their parameter: name -> "rows" or "cols" (Adafactor's
    # factors; see _state_shape)
    state_shapes: dict[str, str] = {}
    # state arrays that some parameters do not have (by their shape: _state_shape is None)
    optional_state: tuple[str, ...] = ()
    # each element's step depends only on its own values and the group's scalars, so a slice
    # of the parameters steps as it would in the whole (what pywd.distributed shards): not
    # LAMB's and LARS's per-tensor trust ratios, Muon's matrices nor Adafactor's factors
    per_element = True
    # why track_stats is refused, if it is (the step's statistics come from the element-wise
    # driver's pass; the per-tensor optimisers and schedule-free run passes of their own)
    no_step_stats: str | None = None
    # why state_dtype="8bit" is refused, if it is (the per-tensor ones' passes read their
    # state as floats; schedule-free's z is an iterate of the weights, not a moment)
    no_8bit_state: str | None = None
    # parameters below this many elements keep float32 state in an 8-bit group (set it on
    # an optimiser before its first step to change it: state made later follows it)
    min_8bit_size = MIN_8BIT_SIZE

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("table_row") is not None:
            states = UPDATES[cls.__dict__["table_row"]].state
            cls.state_arrays = tuple(s.state_key for s in states)
            cls.nonnegative_state = tuple(s.state_key for s in states if s.nonnegative)

    # what every class takes after its own options, in this order, into its groups
    shared_options = ("maximize", "decay", "max_lr", "cautious_decay", "decay_to", "rounding",
                      "state_dtype", "kahan_sum")
    # group entries a class keeps besides its constructor's options (schedule-free's
    # train_mode), placed before the shared ones
    group_extras: dict[str, Any] = {}

    def _init_from(self, arguments: Mapping[str, Any]) -> None:
        """``__init__`` for the classes whose constructor's parameters are their group
        options (all of pywd's): `arguments` is the constructor's ``locals()``. The defaults
        are its parameters in their order (a tuple made of each whose default is a tuple;
        torch's ``decoupled_weight_decay=True`` read as ``decay="decoupled"``), then
        ``group_extras``, then the shared options; ``rng`` and torch's switches pass on."""
        own: dict[str, Any] = {}
        shared: dict[str, Any] = {}
        for name, parameter in inspect.signature(type(self).__init__).parameters.items():
            if name in ("self", "params", "rng", "decoupled_weight_decay") or \
                    parameter.kind is parameter.VAR_KEYWORD:
                continue
            value = arguments[name]
            if isinstance(parameter.default, tuple):
                value = tuple(value)
            (shared if name in self.shared_options else own)[name] = value
        if "decoupled_weight_decay" in arguments:
            shared["decay"] = _decoupled(arguments["decoupled_weight_decay"], shared["decay"])
        Optimizer.__init__(self, arguments["params"], {**own, **self.group_extras, **shared},
                           arguments.get("torch_options"), arguments.get("rng"))

    @classmethod
    def optional_hyper(cls) -> dict[str, Any]:
        """The hyper-parameters that may be None (unset), with their values' type: the
        shared ones (max_lr, decay_to, state_dtype; norm_target, "number or str") and the
        constructor's own whose default is None (Muon's adjust_lr_fn, a str as annotated;
        AdEMAMix's warm-up lengths, numbers)."""
        out = dict(OPTIONAL_HYPER)
        for name, parameter in inspect.signature(cls.__init__).parameters.items():
            if parameter.default is None and name not in out and name != "rng":
                out[name] = str if "str" in str(parameter.annotation) else float
        return out

    def __init__(self, params: Params, defaults: dict[str, Any],
                 torch_options: Mapping[str, Any] | None = None,
                 rng: int | _generator.Generator | None = None) -> None:
        _check_torch_options(torch_options or {}, defaults, type(self).__name__)
        self.rounding_seed = _rounding_seed(rng)
        self.rounding_step = 0    # steps applied so far (the next one rounds with this + 1)
        self.defaults = dict(defaults)
        self.param_groups: list[dict[str, Any]] = []
        self.state: dict[int, dict[str, Any]] = _StateDict()
        self.skipped_steps = 0   # steps left undone by step(nonfinite="skip")
        self._lock = threading.Lock()
        self._track_stats = False
        self.last_stats: StepStats | None = None    # the last step's, with track_stats
        # None, or what adds the per-tensor sums of every shard of sharded parameters
        # (pywd.torch's DTensors: _exchange_shard_sums)
        self._shard_reducer: Callable[[list[tuple[list[int], Any]]], None] | None = None
        self._checked_hyper: dict[int, tuple[Any, set[Any], Any]] = {}
        self._by_index: tuple[Any, list[Any], bool] = (None, [], False)
        self._columns_cache: dict[Any, Any] = {}
        params = _param_list(params)
        if not params:
            raise ValueError("optimizer got an empty parameter list")
        groups = params if isinstance(params[0], Mapping) else [{"params": params}]
        start = 0
        for group in groups:
            start += self._add_group(group, start)
        _check_unique_names(self.param_groups)       # once for all groups: linear
        _kernels._check_arrays(self._params(), lowp=True)
        if not isinstance(self.defaults.get("decay_to"), (str, type(None))):
            self.defaults["decay_to"] = None   # arrays anchored these params; later groups
                                               # bring their own

    def add_param_group(self, group: Mapping[str, Any]) -> None:
        """Adds a group: a dict with "params" and any hyper-parameters that override the
        defaults. Other keys (a name, say) are kept, and saved by state_dict when their
        values are plain (str, bool, int, float); a key that is a near miss of a
        hyper-parameter's name ("weight_deacy") is refused, as it would silently not act."""
        self._add_group(group, len(self._params()), check_all=True)

    def _add_group(self, group, start, check_all=False):
        """Adds a group whose first parameter is parameter `start`; returns its size."""
        if not isinstance(group, Mapping) or "params" not in group:
            raise TypeError(f"a param group must be a dict with a 'params' entry, got {group!r}")
        for key in group:
            _refuse_near_miss(key, self.defaults, type(self).__name__)
        group = {**self.defaults, **group}
        # the lr the group was built with, as torch's schedulers record it: max_lr's default
        group.setdefault("initial_lr", group["lr"])
        params = _param_list(group["params"])
        names = _names_of(params)
        if names is not None:
            params = [p for _, p in params]
            group["param_names"] = names
        if self.param_groups and (names is None) != ("param_names" not in self.param_groups[0]):
            raise ValueError("name every parameter, as (name, array) pairs, or none of them")
        # torch tensors and other array-likes: kept as ndarray views of the same memory
        group["params"] = [_kernels._as_view(p, f"params[{start + i}]")
                           for i, p in enumerate(params)]
        if not group["params"]:
            raise ValueError(f"param group {len(self.param_groups)} has no parameters")
        _check_storage(group)
        if group.get("state_dtype") == "8bit" and self.no_8bit_state:
            raise ValueError(f"state_dtype='8bit' is not available for {type(self).__name__}: "
                             f"{self.no_8bit_state}; use 'bfloat16' or 'float32'")
        anchors = _anchors(group)
        init_norms = _init_norms(group)
        self._check_group(group)
        if check_all:
            _check_unique_names(self.param_groups + [group])
        _kernels._check_arrays(self._params() + group["params"] if check_all
                               else group["params"], lowp=True)
        self.param_groups.append(group)
        for i, anchor in enumerate(anchors):
            state = self.state.get(start + i)
            if state is None:
                state = self.state[start + i] = _ParamState(self.state)
            state[ANCHOR] = anchor
        for i, norm in enumerate(init_norms):
            state = self.state.get(start + i)
            if state is None:
                state = self.state[start + i] = _ParamState(self.state)
            state[INIT_NORM] = norm
        return len(group["params"])

    def __repr__(self):
        """torch's layout (groups and their hyper-parameters, sorted), plus what each group
        holds, so that a printed optimiser says what it will do."""
        lines = [f"{type(self).__name__} ("]
        for g, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {g}")
            lines.append(f"    params: {_describe(group)}")
            for key in sorted(group):
                if key not in ("params", "param_names"):
                    lines.append(f"    {key}: {group[key]!r}")
        if self.skipped_steps:
            lines.append(f"skipped_steps: {self.skipped_steps}")
        return "\n".join(lines + [")"])

    def _params(self):
        """Every parameter, in order across groups: the order of step()'s grads."""
        return [p for group in self.param_groups for p in group["params"]]

    @property
    def track_stats(self) -> bool:
        """Whether each step records its statistics in ``last_stats`` (a
        :class:`pywd.StepStats` over every parameter, in step()'s order, NaN for one that
        did not step), summed in the update's own pass: weight norm, update norm, angle per
        step, the decay's share. Off by default; setting it True on an optimiser whose kernel
        cannot (LAMB, LARS, Muon, Adafactor, schedule-free) is a ValueError. NumPy
        equivalent: norms of ``w - w_before`` per parameter from a copy taken before each
        step; torch: the same on ``p.detach().clone()``."""
        return self._track_stats

    @track_stats.setter
    def track_stats(self, value: bool) -> None:
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"track_stats must be a bool, got {type(value).__name__}")
        if value and self.no_step_stats:
            raise ValueError(f"{type(self).__name__} cannot track its steps' statistics: "
                             f"{self.no_step_stats}")
        self._track_stats = bool(value)

    def _named_grads(self, grads):
        """step({name: grad}) as the positional list: each parameter's gradient by its name
        (None where the mapping has none, as torch leaves p.grad None)."""
        names = [n for group in self.param_groups for n in group.get("param_names", ())]
        if not names:
            raise TypeError("grads by name need parameters given as (name, array) pairs, "
                            "as model.named_parameters() gives them; this optimizer's are "
                            "unnamed: pass a list in their order")
        known = set(names)
        unknown = [key for key in grads if key not in known]
        if unknown:
            hints = [difflib.get_close_matches(str(key), names, n=1) for key in unknown]
            raise ValueError("grads names parameters this optimizer does not have: " + ", ".join(
                f"{key!r}" + (f" (did you mean {hint[0]!r}?)" if hint else "")
                for key, hint in zip(unknown, hints)))
        return [grads.get(name) for name in names]

    def _group_indices(self):
        start = 0
        for group in self.param_groups:
            yield group, range(start, start + len(group["params"]))
            start += len(group["params"])

    def __getstate__(self):
        state = dict(self.__dict__)
        del state["_lock"]            # a lock does not copy; copies get their own
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._lock = threading.Lock()

    @overload
    def step(self, grads: Grads, *, nonfinite: Nonfinite = ..., grad_scale: float = ...,
             max_grad_norm: float | None = ...) -> StepResult: ...

    @overload
    def step(self, grads: Callable[[], tuple[Loss, Grads]], *, nonfinite: Nonfinite = ...,
             grad_scale: float = ..., max_grad_norm: float | None = ...) -> Loss: ...

    @overload
    def step(self, *, nonfinite: Nonfinite = ..., grad_scale: float = ...,
             max_grad_norm: float | None = ..., closure: Callable[[], tuple[Loss, Grads]]
             ) -> Loss: ...

    def step(self, grads: Grads | Callable[[], tuple[Any, Grads]] | None = None, *,
             nonfinite: Nonfinite = "propagate", grad_scale: float = 1.0,
             max_grad_norm: float | None = None,
             closure: Callable[[], tuple[Any, Grads]] | None = None) -> Any:
        """One optimiser step, in place: ``grads[i]`` is the gradient of parameter i (in the
        order of the groups' params: group 0's, then group 1's, ...), or None to leave that
        parameter alone this step (if every one is None, nothing happens and the result is
        falsy, with reason "no gradients"). With parameters given as (name, array) pairs
        (``model.named_parameters()``), ``grads`` may be a dict ``{name: grad}`` instead,
        which cannot be matched wrongly: a name it lacks has no gradient this step, a name
        the optimizer lacks is an error.

        ``nonfinite``, ``grad_scale`` and ``max_grad_norm`` act as in the functional updates
        (:func:`pywd.sgd`), over every gradient of the step across groups: the clip norm is
        global, and with ``nonfinite="skip"`` a NaN or inf anywhere leaves every parameter
        and state untouched (step counters included) and adds one to ``skipped_steps``.
        Everything is checked before the first array changes. Returns the
        :class:`pywd.StepResult`.

        As in torch, ``step(closure)`` (or ``step(closure=closure)``) calls ``closure()``
        once and returns the loss it gives; as NumPy arrays carry no ``.grad``, the closure
        returns ``(loss, grads)``, and the step uses those grads (a skipped step still adds
        to ``skipped_steps``)."""
        if closure is None and callable(grads):
            grads, closure = None, grads
        if closure is not None:
            if grads is not None:
                raise TypeError("step takes grads or a closure, not both")
            loss, grads = _call_closure(closure)
            with self._lock:
                self._step(grads, nonfinite, grad_scale, max_grad_norm)
            return loss
        if grads is None:
            raise TypeError("step needs the gradients: step(grads), or step(closure) with a "
                            "closure returning (loss, grads)")
        with self._lock:
            return self._step(grads, nonfinite, grad_scale, max_grad_norm)

    def _check(self, grads, grad_scale=1.0):
        """Everything step(grads, grad_scale=grad_scale) would check, changing nothing: for
        pywd.distributed, whose ranks agree on a step before any collective."""
        with self._lock:
            self._step(grads, "propagate", grad_scale, None, dry_run=True)

    def _step(self, grads, nonfinite, grad_scale, max_grad_norm, dry_run=False):
        params = self._params()
        if isinstance(grads, Mapping):
            grads = self._named_grads(grads)
        grads = _grad_list(grads, len(params))
        absent = _kernels._count_none(grads)
        if absent == len(grads) and not dry_run:
            # nothing to step (every gradient None): say so, without counting a skip
            return StepResult(False, None, "no gradients")
        everything = not absent
        created: list[tuple[int, str | None]] = []
        try:                # the plan: nothing is changed but state created (and dropped)
            plan = []   # per group: (group, indices stepping, state dicts, arrays, counters)
            for group, indices in self._group_indices():
                if not everything:
                    indices = [i for i in indices if grads[i] is not None]
                plan.append((group, indices,
                             *self._state_of(group, indices, params, created)))
            result, scale, batch = _kernels._check_step(
                params, grads, self._state_lists(plan, len(params)), nonfinite, grad_scale,
                max_grad_norm)
            fresh = {i for i, name in created if name is not None}
            # one kernel call per (hyper-parameters, dtype, key): groups that differ only
            # in their parameters (one group per parameter, say) share their calls
            runs: dict[Any, tuple[dict[str, Any], list[int], Any]] = {}
            for group, indices, _, _, counters in plan:
                keys = self._run_keys(indices, counters, fresh)
                ops = self._ops(*[name for name, _ in self._needed(group)])
                for dtypes, key, positions in batch._partition(indices, ops, keys):
                    # the storage dtypes of the run's arrays: float64 computes in float64,
                    # the rest in float32
                    float64 = dtypes[0] == _kernels.DT_F64_CODE
                    same = self._check_hyper(group, np.float64 if float64 else np.float32)
                    run = runs.setdefault((same, dtypes, key), (group, [], key))
                    run[1].extend(positions)
            calls = [] if dry_run or not result else self._calls(runs, batch, scale)
            if calls and self._shard_reducer is not None:
                self._exchange_shard_sums(calls)
            counted = [(states, name) for _, _, states, _, _ in plan if states
                       for name in self.state_counters]
            scalars = [(states, name, values) for group, _, states, _, counters in plan
                       if states and self.state_scalars
                       for name, values in self._advance_scalars(group, counters).items()]
            # the step, whole or not at all (pywd/_lists.pxi): made, or for a dry run or a
            # skipped step its created state dropped; an exception a signal's handler raised
            # in a kernel call after the first comes back once every call has run
            interrupted = _kernels._commit(calls, counted, scalars, self, self.state, created,
                                           STEP_LIMIT - 1, not dry_run)
        except BaseException:
            # (the commit empties `created` as it starts: from then on the step is its own)
            _kernels._drop_created(self.state, created)
            raise
        if interrupted is not None:
            raise interrupted
        if self._track_stats and not dry_run and result:
            self.last_stats = self._gather_stats(len(params))
        return result

    def _gather_stats(self, n):
        """The step's statistics over every parameter, from its calls' sums."""
        sums = np.full((n, STEP_SUMS), np.nan)
        for positions, call_sums in self._stats_of_calls:
            sums[positions] = call_sums
        names = [name for group in self.param_groups for name in group.get("param_names", ())]
        return StepStats(sums, names or None)

    def _calls(self, runs, batch, scale):
        """The kernel call of each run of parameters, made ready (_kernel_call)."""
        rounding = dict(rng=self.rounding_seed)
        if self.step_for_rounding:
            rounding["step"] = self.rounding_step + 1
        calls = []
        self._stats_of_calls = []                 # (positions, sums) per call, with stats
        self._sharded_calls = []      # (call index, positions, batch): per-tensor sums
        for group, positions, key in runs.values():
            names = [name for name, _ in self._needed(group)]
            options = dict(grad_scale=scale, rounding=group.get("rounding", "stochastic"),
                           **rounding, **_anchored(group))
            if group.get("kahan_sum"):
                options["compensation"] = _kernels.COMPENSATION_IN_BATCH
            if self._track_stats:
                options["stats"] = np.full((len(positions), STEP_SUMS), np.nan)
                self._stats_of_calls.append((list(positions), options["stats"]))
            subset = batch._subset(positions, self._ops(*names), bool(self.optional_state))
            if self._shard_reducer is not None and self._sums_per_tensor(group):
                self._sharded_calls.append((len(calls), list(positions), subset))
            call = self._kernel_call(group, subset, key, options)
            if group.get("norm_target") == "init":       # each parameter's initial norm
                call = partial(call, norm_target=self._init_norms_of(positions))
            calls.append(call)
        return calls

    def _sums_per_tensor(self, group):
        """Whether a call of `group` computes per-tensor sums before it updates (a trust
        ratio, caution's kept fraction, norm control's norms): in a sharded step they are
        added over the shards first (_exchange_shard_sums)."""
        return (self.table_row in ("lamb", "lars") or bool(group.get("caution"))
                or group.get("norm_target") is not None)

    def _exchange_shard_sums(self, calls):
        """Sharded parameters (each process holds a slice): each call with per-tensor sums
        first runs to compute this slice's sums only (csrc pywd_shard_sums: nothing
        changes), the reducer adds every slice's, and the step's calls then take them
        instead of computing their own. Every collective happens here, before the step
        changes anything."""
        sums = []
        for index, positions, subset in self._sharded_calls:
            out = subset._shard_sums(False)
            calls[index]()                           # the sums only
            sums.append((positions, out))
        self._shard_reducer(sums)
        for _, _, subset in self._sharded_calls:
            subset._shard_sums(True)

    def _init_norms_of(self, positions):
        """The norms parameters `positions` had when their group (norm_target="init") was
        added."""
        norms = []
        for i in positions:
            norm = self.state[i].get(INIT_NORM)
            if norm is None:
                raise ValueError(f"parameter {i} has no initial norm in its state "
                                 f"({INIT_NORM!r}): norm_target='init' takes the norms when "
                                 f"the group is added; set a number instead")
            norms.append(norm)
        return norms

    def _state_of(self, group, indices, params, created):
        """The state dicts of parameters `indices` of `group`, after creating (filled with
        their initial values; counters at 0) what they lack for this step (recorded in
        `created`, to be dropped if the step does not happen); the state arrays the group
        needs, by name, a list each; and the counters, by name, a list each of their values
        before this step, checked to be able to advance (they advance once every kernel of
        the step has run)."""
        names = tuple(name for name, _ in self._needed(group))
        cache_key = ((id(group), indices.start, indices.stop, names)
                     if isinstance(indices, range) else None)
        for attempt in (0, 1):
            by_index, counted = self._states_by_index(len(params))
            states = (by_index[indices.start:indices.stop] if isinstance(indices, range)
                      else [by_index[i] for i in indices])
            try:                  # the steady state: everything there (else: create it)
                version = self._by_index[0]
                cached = self._columns_cache.get(cache_key) if counted else None
                if cached is not None and cached[0] == version:
                    arrays = dict(cached[1])
                else:
                    arrays = _kernels._columns(states, names, self.optional_state)
                    if self.optional_state:
                        self._check_optional(arrays, indices, params)
                    if counted and cache_key is not None:
                        self._columns_cache[cache_key] = (version, dict(arrays))
                counters = {name: _scalar_values(states, indices, name, bounds)
                            for name, bounds in self.state_scalars.items()}
                for name in self.state_counters:
                    before, stuck = _kernels._advance(states, name, STEP_LIMIT - 1, False)
                    if stuck >= 0:
                        raise ValueError(f"state[{indices[stuck]}][{name!r}] is "
                                         f"{states[stuck][name]!r}: a step counter is an int "
                                         f"and cannot advance past {STEP_LIMIT - 1}")
                    counters[name] = before
                return states, arrays, counters
            except (KeyError, TypeError):
                if attempt:
                    raise
                self._create_state(group, indices, params, created)
        raise AssertionError("unreachable")

    def _check_optional(self, arrays, indices, params):
        """A KeyError (the step then creates it) where a parameter lacks a state array that
        its shape needs."""
        for name in self.optional_state:
            for i, value in zip(indices, arrays.get(name, ())):
                if value is None and self._state_shape(name, params[i]) is not None:
                    raise KeyError(name)

    def _state_shape(self, name, param):
        """The shape of state array `name` for `param`, or None if it has none."""
        return param.shape

    def _states_by_index(self, n):
        """[self.state.get(i) for i in range(n)], remade only when the state has changed (see
        _Counted), and whether every entry counts its changes (then the arrays looked up in
        them may be reused too)."""
        state = self.state
        if type(state) is not _StateDict:        # assigned by the user: adopt it
            state = self.state = _StateDict(state)
        key = (id(state), state.version, n)
        if self._by_index[0] != key:
            entries = list(map(state.get, range(n)))
            counted = all(type(e) is _ParamState and e._owner is state
                          for e in entries if e is not None)
            self._by_index = (key, entries, counted)
            self._columns_cache.clear()
        return self._by_index[1], self._by_index[2]

    def _create_state(self, group, indices, params, created):
        for i in indices:
            state = self.state.get(i)
            if state is None:
                state = self.state[i] = _ParamState(self.state)
                created.append((i, None))
            for name, fill in self._needed(group):
                if name == ANCHOR and name not in state:
                    raise ValueError(f"parameter {i} has no decay_to anchor in its state "
                                     f"(its group's decay_to is {group['decay_to']!r}): "
                                     f"anchors are taken when the group is added")
                if name not in state:
                    p = params[i]                          # placed for streaming
                    shape = p.shape if name == COMPENSATION else self._state_shape(name, p)
                    if shape is None:
                        continue
                    dtype = p.dtype if name == COMPENSATION else _state_dtype(group, p)
                    eight_bit = name != COMPENSATION and _eight_bit(group, p,
                                                                    self.min_8bit_size)
                    signed = name not in self.nonnegative_state
                    if eight_bit and not fill:
                        state[name] = quantized.quantized_zeros_like(p, signed)
                        created.append((i, name))
                        continue
                    array = memory.zeros(shape, dtype, "F" if _fortran(p) else "C")
                    if fill is COPY_OF_PARAM:
                        array[...] = p
                    elif fill:
                        array[...] = fill
                    state[name] = quantized.quantize(array, signed) if eight_bit else array
                    created.append((i, name))
            for name in self.state_counters:
                if name not in state:
                    state[name] = 0
                    created.append((i, name))
            for name, value in self._initial_scalars(group).items():
                if name not in state:
                    state[name] = value
                    created.append((i, name))

    def _state_lists(self, plan, n):
        """(name, arrays) per state array a group needs this step: the state array of each
        stepping parameter of such a group, None elsewhere (what the step does not touch,
        it does not check). Sets self._step_ops, the batch argument of each name."""
        lists: dict[str, list[Any]] = {}
        for _, indices, _, arrays, _ in plan:
            for name, values in arrays.items():
                column = lists.get(name)
                if column is None:
                    column = lists[name] = [None] * n
                if isinstance(indices, range):
                    column[indices.start:indices.stop] = values
                else:
                    for i, value in zip(indices, values):
                        column[i] = value
        names = [name for name in (*self.state_arrays, COMPENSATION, ANCHOR) if name in lists]
        self._step_ops = {name: 2 + k for k, name in enumerate(names)}
        return [(name, lists[name], name != ANCHOR, self.state_shapes.get(name))
                for name in names]

    def _check_hyper(self, group, dtype):
        """_check_group in `dtype`, remembered while the group's hyper-parameters stay the
        same (types included: lr=True is refused even where lr=1 passed). Returns what
        identifies them: groups with equal ones may share a kernel call."""
        values = tuple((type(group.get(k)), group.get(k)) for k in (*self.defaults, "initial_lr"))
        seen = self._checked_hyper.get(id(group))
        if seen is None or seen[0] != values:
            try:
                hash(values)
                same: Any = values
            except TypeError:               # an unhashable value (betas as a list)
                same = id(group)
            seen = (values, set(), same)
            self._checked_hyper[id(group)] = seen
        if dtype not in seen[1]:
            self._check_group(group, dtype)
            seen[1].add(dtype)
        return seen[2]

    def _run_keys(self, indices, counters, fresh):
        """What else than the dtype splits parameters `indices` into kernel calls: a list of
        one key per parameter, or None. `counters`: their counters by name (before this
        step); `fresh`: the parameters whose state was created for this step."""
        return None

    def _check_group(self, group, dtype=None):
        raise NotImplementedError

    def _initial_scalars(self, group):
        """name -> the value each of state_scalars starts at for a parameter of `group`."""
        return {}

    def _advance_scalars(self, group, before):
        """name -> the list of new values of each of state_scalars after a step of `group`'s
        stepping parameters, from `before` (their counters and scalars before the step, by
        name, a list each)."""
        return {}

    def _state_needed(self, group):
        """(name, initial value: a number or COPY_OF_PARAM) of each state array of this
        optimiser a parameter of `group` needs (its Kahan compensation and decay_to anchor
        aside: _needed adds those)."""
        return ()

    def _needed(self, group):
        """The state arrays a parameter of `group` needs: the optimiser's, its Kahan
        compensation with kahan_sum, then its anchor when the group decays towards one
        (created with the group: no initial value)."""
        anchor = ((ANCHOR, None),) if group.get("decay_to") is not None else ()
        kahan = ((COMPENSATION, 0.0),) if group.get("kahan_sum") else ()
        return self._state_needed(group) + kahan + anchor

    def _kernel_call(self, group, arrays, key, options):
        """The kernel call over a run of `group`'s parameters (one dtype, one key), made
        ready but not made: a functools.partial of the update function (the step makes every
        call at once, in C: pywd/_lists.pxi's _commit). `arrays` is the batch of their
        params, grads and the state arrays _needed names, in that order; `options` the
        keyword arguments the base class decides (grad_scale, the rounding options,
        compensation and decay_to when those are in the batch), to pass on to it."""
        raise NotImplementedError

    def _ops(self, *names):
        """The step's batch arguments of params, grads and the state arrays `names`."""
        return (0, 1) + tuple(self._step_ops[name] for name in names)

    # ---------------------------------------------------------------- state_dict
    def state_dict(self) -> dict[str, np.ndarray]:
        """A flat dict of arrays (copies): ``np.savez(path, **opt.state_dict())`` saves it."""
        out = {"format": np.array(STATE_FORMAT), "optimizer": np.array(type(self).__name__),
               "skipped_steps": np.array(self.skipped_steps, dtype=np.int64),
               "rounding_seed": np.array(self.rounding_seed, dtype=np.uint64),
               "rounding_step": np.array(self.rounding_step, dtype=np.int64)}
        for g, (group, indices) in enumerate(self._group_indices()):
            out[f"param_groups/{g}/params"] = np.array(indices, dtype=np.int64)
            for key in self.defaults:
                out[f"param_groups/{g}/{key}"] = _saved_hyper(group[key])
            if "param_names" in group:
                out[f"param_groups/{g}/param_names"] = np.array(group["param_names"], dtype=str)
            for key, value in group.items():
                if key not in self.defaults and key != "params" and _plain(value):
                    out[f"param_groups/{g}/extra/{key}"] = np.array(value)
        for i in sorted(self.state):
            for name, value in self.state[i].items():
                if name in self.state_counters:
                    out[f"state/{i}/{name}"] = np.array(value, dtype=np.int64)
                elif name in self.state_scalars:
                    out[f"state/{i}/{name}"] = np.array(value, dtype=np.float64)
                elif isinstance(value, _kernels.QuantizedState):    # its codes and scales
                    out[f"state/{i}/{name}"] = np.array(value.codes, copy=True, order="K")
                    out[f"state/{i}/{name}/absmax"] = value.absmax.copy()
                else:
                    out[f"state/{i}/{name}"] = np.array(value, copy=True, order="K")
        return out

    def state_nbytes(self) -> int:
        """The bytes this optimiser's state arrays hold (8-bit state: its codes and scales;
        counters and scalars not counted): what ``state_dtype`` saves."""
        total = 0
        for entries in self.state.values():
            for value in entries.values():
                if isinstance(value, _kernels.QuantizedState):
                    total += value.state_nbytes
                elif isinstance(value, np.ndarray):
                    total += value.nbytes
        return total

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Loads a state_dict() (or ``numpy.load`` of a saved one, never with pickle) into
        this optimizer, which must have the same groups and parameter shapes. Everything is
        checked before anything is changed.

        A torch optimizer's ``state_dict()`` (``{"state": ..., "param_groups": ...}``, say
        from ``torch.load``) loads too, into the pywd class of the same name: its
        hyper-parameters, step counters and state tensors (copied to NumPy) are taken as
        they are; ``decay`` is this optimizer's own, as torch does not save it (only
        ``decoupled_weight_decay``, which must agree)."""
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"state_dict must be a mapping of str to arrays, "
                            f"got {type(state_dict).__name__}")
        if _torch_state.is_torch_format(state_dict):
            state_dict = _torch_state.from_torch(state_dict, self)
        entries = {key: _load_entry(state_dict, key) for key in state_dict.keys()}
        _expect_str(entries, "format", STATE_FORMAT)
        _expect_str(entries, "optimizer", type(self).__name__)
        params = self._params()
        new_groups = self._load_groups(entries)
        new_state = self._load_state(entries, params, new_groups)
        skipped = entries.get("skipped_steps", np.array(0))   # absent: saved before it existed
        if skipped.shape != () or skipped.dtype.kind not in "iu" or skipped < 0:
            raise ValueError(f"state_dict['skipped_steps'] must be an int >= 0, got {skipped!r}")
        # absent (saved before 16-bit storage, or by torch): this optimiser's own
        seed = _count_entry(entries, "rounding_seed", self.rounding_seed, 2**64)
        rounding_step = _count_entry(entries, "rounding_step", self.rounding_step, STEP_LIMIT)
        known = {"format", "optimizer", "skipped_steps", "rounding_seed", "rounding_step"} | {
            k for k in entries if k.startswith("param_groups/") and "/extra/" in k} | {
            k for k in entries if k.startswith("param_groups/") and k.endswith("/param_names")} | {
            f"param_groups/{g}/{key}"
                                           for g in range(len(self.param_groups))
                                           for key in ["params", *self.defaults]}
        unknown = sorted(set(entries) - known - {k for k in entries if k.startswith("state/")})
        if unknown:
            raise ValueError(f"state_dict has unknown entries {unknown}")
        for group, loaded in zip(self.param_groups, new_groups):
            group.update(loaded)
        owner = _StateDict()
        owner.update({i: _ParamState(owner, entry) for i, entry in new_state.items()})
        self.state = owner
        self.skipped_steps = int(skipped)
        self.rounding_seed, self.rounding_step = seed, rounding_step

    def _load_groups(self, entries):
        n_saved = len({k.split("/")[1] for k in entries if k.startswith("param_groups/")})
        if n_saved != len(self.param_groups):
            raise ValueError(f"state_dict has {n_saved} param groups, this optimizer has "
                             f"{len(self.param_groups)}")
        extras: dict[str, list[str]] = {}     # group number -> its extra keys, found once
        for key in entries:
            parts = key.split("/", 3)
            if len(parts) == 4 and parts[0] == "param_groups" and parts[2] == "extra":
                extras.setdefault(parts[1], []).append(key)
        loaded_groups = []
        optional = self.optional_hyper()          # the options that may be saved as None
        for g, (group, indices) in enumerate(self._group_indices()):
            key = f"param_groups/{g}/params"
            saved = entries.get(key)
            if saved is None or saved.shape != (len(indices),) or list(saved) != list(indices):
                raise ValueError(f"state_dict[{key!r}] does not match this optimizer's "
                                 f"parameters {list(indices)}, got {saved!r}")
            loaded = {}
            for name, default in self.defaults.items():
                key = f"param_groups/{g}/{name}"
                if key not in entries:
                    raise ValueError(f"state_dict has no entry {key!r}")
                loaded[name] = _hyper_value(entries[key], default, key, optional.get(name))
            names = entries.get(f"param_groups/{g}/param_names")
            if names is not None and names.tolist() != group.get("param_names", names.tolist()):
                raise ValueError(f"state_dict's group {g} holds parameters "
                                 f"{names.tolist()}, this optimizer's holds "
                                 f"{group['param_names']}: the state of another model?")
            for key in extras.get(str(g), ()):
                value = entries[key]
                if value.shape != () or value.dtype.kind not in "biufU":
                    raise ValueError(f"state_dict[{key!r}] must be a plain value (str, "
                                     f"bool, int or float), got {value!r}")
                name = key.split("/", 3)[3]
                _refuse_near_miss(name, self.defaults, type(self).__name__)
                if _scheduler_key(name) and (value.dtype.kind not in "iuf"
                                             or not math.isfinite(value)):
                    raise ValueError(f"state_dict[{key!r}] must be a finite number (a "
                                     f"scheduler's record), got {value!r}")
                loaded[name] = value.item()
            self._check_group({**group, **loaded})
            loaded_groups.append(loaded)
        return loaded_groups

    def _load_state(self, entries, params, new_groups):
        state: dict[int, dict[str, Any]] = {}
        state_dtypes = {i: _state_dtype({**group, **loaded}, params[i])
                        for (group, indices), loaded in zip(self._group_indices(), new_groups)
                        for i in indices}
        eight_bit = {i for (group, indices), loaded in zip(self._group_indices(), new_groups)
                     for i in indices
                     if _eight_bit({**group, **loaded}, params[i], self.min_8bit_size)}
        names = [*self.state_arrays, COMPENSATION, ANCHOR, INIT_NORM, *self.state_counters,
                 *self.state_scalars]
        for key, value in entries.items():
            if not key.startswith("state/"):
                continue
            if key.endswith("/absmax"):             # an 8-bit state's: read with its codes
                codes_key = key[:-len("/absmax")]
                index = codes_key.split("/")[1]
                if (codes_key not in entries or not index.isdigit()
                        or int(index) not in eight_bit):
                    raise ValueError(f"state_dict[{key!r}]: block scales without 8-bit codes "
                                     f"at {codes_key!r} for a parameter whose state is "
                                     f"8-bit (its group's state_dtype is not '8bit', or it has "
                                     f"fewer than min_8bit_size={self.min_8bit_size} elements)")
                continue
            parts = key.split("/")
            if (len(parts) != 3 or not parts[1].isdigit() or parts[1] != str(int(parts[1]))
                    or int(parts[1]) >= len(params) or parts[2] not in names):
                raise ValueError(f"state_dict entry {key!r} is not state/<param index>/<one of "
                                 f"{names}> for {len(params)} parameters")
            i, name = int(parts[1]), parts[2]
            if name in self.state_counters:
                if (value.shape != () or value.dtype.kind not in "iu" or value < 0
                        or value >= STEP_LIMIT):
                    raise ValueError(f"state_dict[{key!r}] must be an int in [0, 2**62), "
                                     f"got {value!r}")
                state.setdefault(i, {})[name] = int(value)
                continue
            if name == INIT_NORM:
                if (value.shape != () or value.dtype.kind not in "fiu"
                        or not (math.isfinite(value) and value >= 0)):
                    raise ValueError(f"state_dict[{key!r}] must be a number >= 0 (the "
                                     f"parameter's norm for norm_target='init'), got {value!r}")
                state.setdefault(i, {})[name] = float(value)
                continue
            if name in self.state_scalars:
                lo, hi = self.state_scalars[name]
                if (value.shape != () or value.dtype.kind not in "fiu"
                        or not (math.isfinite(value) and lo <= float(value) <= hi)):
                    raise ValueError(f"state_dict[{key!r}] must be a number in [{lo:g}, "
                                     f"{hi:g}], got {value!r}")
                state.setdefault(i, {})[name] = float(value)
                continue
            param = params[i]
            want = param.dtype if name in (ANCHOR, COMPENSATION) else state_dtypes[i]
            shape = param.shape if name in (ANCHOR, COMPENSATION) else \
                self._state_shape(name, param)
            if shape is None:
                raise ValueError(f"state_dict[{key!r}]: parameter {i} (shape {param.shape}) "
                                 f"has no {name!r}")
            if name not in (ANCHOR, COMPENSATION) and i in eight_bit:
                state.setdefault(i, {})[name] = self._load_8bit(entries, key, value, param, name)
                continue
            if want.name == "bfloat16" and value.dtype.kind == "V" and value.dtype.itemsize == 2 \
                    and value.dtype.fields is None:
                value = value.view(want)    # numpy.savez stores bfloat16 as 2 raw bytes
            if value.dtype != want or value.shape != shape:
                raise ValueError(f"state_dict[{key!r}] is {value.dtype} {value.shape}, but its "
                                 f"parameter's state is {np.dtype(want)} {shape}")
            if name in self.nonnegative_state and not (value >= 0).all():
                raise ValueError(f"state_dict[{key!r}] must be >= 0 everywhere (a running "
                                 f"average of squares), and has NaN or negative values")
            array = memory.empty(shape, value.dtype,         # the parameter's memory order,
                                 "F" if _fortran(param) else "C")   # as kernels need
            array[...] = value
            state.setdefault(i, {})[name] = array
        if self.state_counters:
            self._check_complete(state, new_groups, params)
        return state

    def _load_8bit(self, entries, key, codes, param, name):
        """An 8-bit state array from its codes (uint8, shaped as its parameter) and
        key + "/absmax" (a float32 scale per block), on the map its name takes; or from its
        values (float32 shaped as its parameter, no scales: decoded state, as pywd.torch
        saves a sharded parameter's, or a float32 run's), encoded. Decoded 8-bit values
        encode back to the same codes and scales (each block's largest decodes to its scale
        exactly, the others to map values well inside their codes' intervals)."""
        scales = entries.get(key + "/absmax")
        signed = name not in self.nonnegative_state
        if codes.dtype == np.float32 and codes.shape == param.shape and scales is None:
            if not signed and not (codes >= 0).all():
                raise ValueError(f"state_dict[{key!r}] must be >= 0 everywhere (a running "
                                 f"average of squares), and has NaN or negative values")
            return quantized.requantize(np.array(codes, order="F" if _fortran(param) else "C"),
                                        signed)
        if codes.dtype != np.uint8 or codes.shape != param.shape:
            raise ValueError(f"state_dict[{key!r}] is {codes.dtype} {codes.shape}, but its "
                             f"parameter's state is 8-bit: uint8 codes {param.shape} with "
                             f"their absmax, or float32 values {param.shape} (a state_dict "
                             f"saved with another state_dtype?)")
        blocks = _kernels._q8_blocks(param.size)
        if scales is None or scales.dtype != np.float32 or scales.shape != (blocks,):
            got = "none" if scales is None else f"{scales.dtype} {scales.shape}"
            raise ValueError(f"state_dict[{key + '/absmax'!r}] must hold the {blocks} float32 "
                             f"block scales of {key!r}, got {got}")
        state = quantized.quantized_zeros_like(param, signed)
        state.codes[...] = codes
        state.absmax[...] = scales
        return state

    def _check_complete(self, state, new_groups, params):
        """A parameter's counters and the state arrays its group needs come together: a
        counter without its moments (or moments without their counter) would make the next
        step start from a wrong bias correction."""
        for (group, indices), loaded in zip(self._group_indices(), new_groups):
            needed = [name for name, _ in self._needed({**group, **loaded})]
            for i in indices:
                if i not in state:
                    continue
                have = set(state[i])
                missing = [n for n in [*needed, *self.state_counters, *self.state_scalars]
                           if n not in have and (n not in self.optional_state or
                                                 self._state_shape(n, params[i]) is not None)]
                if missing:
                    raise ValueError(f"state_dict has state for parameter {i} without "
                                     f"{missing}: its counters and {needed} come together")


def _scalar_values(states, indices, name, bounds):
    """The values of a per-parameter float state in `states` (a KeyError if one lacks it),
    each checked to be a finite number in `bounds` (the state is the user's to change)."""
    values = [state[name] for state in states]
    lo, hi = bounds
    for i, value in zip(indices, values):
        if (type(value) is not float and (isinstance(value, bool)
                                          or not isinstance(value, (int, np.floating)))
                or not (math.isfinite(value) and lo <= value <= hi)):
            raise ValueError(f"state[{i}][{name!r}] must be a number in [{lo:g}, {hi:g}], "
                             f"got {value!r}")
    return values


class _Counted(dict):
    """A dict that counts the changes made to it through Python (``d[k] = v``, ``del``,
    ``update``, ...) in its owner's ``version``: the optimiser's state (an outer dict of
    per-parameter dicts, all owned by the outer one). A step then reuses what it looked up
    in them while the version stands (with 10^4 small parameters, the look-ups cost more
    than the updates). The step counters that pywd itself advances are written at C level,
    which does not count: they are read anew each step."""

    def _changed(self, result: Any = None) -> Any:
        owner = self.__dict__.get("_owner", self)
        owner.version = getattr(owner, "version", 0) + 1
        return result

    def __setitem__(self, key, value):
        self._changed(super().__setitem__(key, value))

    def __delitem__(self, key):
        self._changed(super().__delitem__(key))

    def pop(self, *args):
        return self._changed(super().pop(*args))

    def popitem(self):
        return self._changed(super().popitem())

    def clear(self):
        self._changed(super().clear())

    def update(self, *args, **kwargs):
        self._changed(super().update(*args, **kwargs))

    def setdefault(self, key, default=None):
        return self._changed(super().setdefault(key, default))

    def __ior__(self, other):  # type: ignore[misc]
        super().__ior__(other)
        return self._changed(self)


class _StateDict(_Counted):
    """Optimizer.state: parameter index -> that parameter's state (a _ParamState)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.version = 0
        self._owner = self


class _ParamState(_Counted):
    """One parameter's state: state array name or counter name -> value."""

    def __init__(self, owner: _StateDict, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._owner = owner
