"""Schedule-free AdamW and SGD (the schedulefree package's AdamWScheduleFree and
SGDScheduleFree)."""
from __future__ import annotations

from functools import partial
import math
import numbers
from typing import Any

import numpy as np

from .. import _generator
from .._kernels import _swap, adamw_schedulefree, sgd_schedulefree
from .._typing import Decay
from ._support import COPY_OF_PARAM, _betas, _empty, _hyper_of
from .optimizer import Optimizer, Params


def _schedule(group, steps, weight_sum, lr_max):
    """The package's schedule for a parameter of `group` that has taken `steps` steps, with
    `weight_sum` and `lr_max` its state before this step: (this step's lr, its average
    weight c, weight_sum and lr_max after it). Warmup is linear over warmup_steps; step k
    (from 1) weighs k**r * lr_max**weight_lr_power in the average x."""
    k = steps + 1
    warmup = group["warmup_steps"]
    lr = group["lr"] * (k / warmup if k <= warmup else 1.0)
    lr_max = max(lr, lr_max)
    weight = k ** group["r"] * lr_max ** group["weight_lr_power"]
    weight_sum = weight_sum + weight
    return lr, (weight / weight_sum if weight_sum != 0 else 0.0), weight_sum, lr_max


class _ScheduleFree(Optimizer):
    """What both share: the schedule (per-parameter state ``step``, ``weight_sum`` and
    ``lr_max``), ``train()``/``eval()`` and the refusal to step in eval mode."""

    group_extras = {"train_mode": True}    # params hold y (training), not x
    no_step_stats = ("its step moves y from x and z, three sequences: which one's statistics "
                     "is a choice not yet made")
    no_8bit_state = ("its state z is an iterate of the weights, not a moment: 8 bits would "
                     "round the weights themselves")
    state_counters = ("step",)
    state_scalars = {"weight_sum": (0.0, math.inf), "lr_max": (0.0, math.inf)}
    # beta1's name in the group, for errors: "betas[0]" or "momentum"
    _interpolation = ""
    # the package's state_dict loads: its groups have no maximize, and keep the schedule
    # (k steps taken, weight_sum, lr_max) per group
    torch_twin = "schedulefree.{name}"
    not_in_torch = ("maximize",)
    group_state_in_torch = {"k": "step", "weight_sum": "weight_sum", "lr_max": "lr_max"}

    def _beta1(self, group):
        raise NotImplementedError

    def train(self) -> None:
        """Training mode (where step() may be called): the params are set to y, the point
        where gradients are taken. A new optimiser is in training mode (so a ported
        ``opt.train()`` before the first step changes nothing); call it after each
        ``eval()``."""
        self._switch(True)

    def eval(self) -> None:
        """Evaluation mode: the params are set to x, the average to evaluate and save (the
        package asks for eval mode before saving a checkpoint); step() is refused."""
        self._switch(False)

    def _switch(self, train, mirrors=()):
        """Every group to `train` mode, whole: what to swap is listed first, then swapped
        in one C call (pywd/_schedulefree.pxi), so an interrupt leaves all or none.
        `mirrors`: dicts that show each group's train_mode (pywd.torch's groups), flipped in
        the same call."""
        with self._lock:
            swaps, groups = [], []
            for g, (group, indices) in enumerate(self._group_indices()):
                if group["train_mode"] == train:
                    continue
                if g < len(mirrors):
                    groups.append(mirrors[g])
                beta1 = self._beta1(group)
                # y = lerp(x, z, 1 - beta1); x = lerp(y, z, 1 - 1/beta1)
                weight = 1 - beta1 if train else 1 - 1 / beta1
                for i, p in zip(indices, group["params"]):
                    state = self.state.get(i)
                    if state is not None and "z" in state:
                        swaps.append((p, state["z"], weight, state.get("compensation")))
                groups.append(group)
            _swap(swaps, groups, train)

    def _step(self, grads, *args, **kwargs):
        resting = [g for g, group in enumerate(self.param_groups) if not group["train_mode"]]
        if resting:
            raise RuntimeError(
                f"{type(self).__name__} is in eval mode (param groups {resting}): call "
                f"optimizer.train() before training steps, and optimizer.eval() before "
                f"evaluating or saving, as with the schedulefree package")
        return super()._step(grads, *args, **kwargs)

    def _check_schedule(self, group):
        warmup = group["warmup_steps"]     # an int (a saved one loads as a float)
        if (isinstance(warmup, bool) or not isinstance(warmup, numbers.Real)
                or not (math.isfinite(warmup) and warmup >= 0 and warmup == int(warmup))):
            raise ValueError(f"warmup_steps must be a whole number >= 0, got {warmup!r}")
        for name, low in (("r", -math.inf), ("weight_lr_power", 0.0)):
            value = group[name]
            if (isinstance(value, bool) or not isinstance(value, numbers.Real)
                    or not (math.isfinite(value) and value >= low)):
                bound = "" if low == -math.inf else f" >= {low:g}"
                raise ValueError(f"{name} must be a finite number{bound}, got {value!r}")
        if not isinstance(group["train_mode"], (bool, np.bool_)):
            raise TypeError(f"train_mode must be a bool, got {group['train_mode']!r}")
        beta1 = self._beta1(group)
        if isinstance(beta1, numbers.Real) and not beta1 > 0:
            raise ValueError(f"{self._interpolation} must be in (0, 1), got {beta1!r}: x is "
                             f"recovered from y and z as (y - (1 - {self._interpolation})*z)"
                             f" / {self._interpolation}")

    def _initial_scalars(self, group):
        return {"weight_sum": 0.0, "lr_max": 0.0}

    def _run_keys(self, indices, counters, fresh):
        # steps taken so far (this one is step + 1) and the schedule's state before it
        return list(zip(counters["step"], counters["weight_sum"], counters["lr_max"]))

    def _advance_scalars(self, group, before):
        after = [_schedule(group, *key)[2:] for key in
                 zip(before["step"], before["weight_sum"], before["lr_max"])]
        return {"weight_sum": [a[0] for a in after], "lr_max": [a[1] for a in after]}

    def _step_of(self, group, key):
        """The function's step, lr and average_weight for a run of `group` with `key`."""
        lr, c, _, _ = _schedule(group, *key)
        return dict(step=key[0] + 1, lr=lr, average_weight=c)


class AdamWScheduleFree(_ScheduleFree):
    """Schedule-free AdamW (Defazio et al. 2024): the ``schedulefree`` package's
    ``AdamWScheduleFree``, plus ``decay=`` (torch has none).

    The package's constructor, defaults (``lr=0.0025``, ``betas=(0.9, 0.999)``,
    ``warmup_steps=0``, ``r=0``, ``weight_lr_power=2``; ``weight_decay`` taken at y,
    ``decay="decoupled"``) and state (``z``, ``exp_avg_sq``; per parameter ``step`` and the
    schedule's ``weight_sum`` and ``lr_max``, which the package keeps per group as ``k``,
    ``weight_sum`` and ``lr_max``); the kernel is :func:`pywd.adamw_schedulefree`.

    No lr schedule is needed: the params hold y in training mode and the average x in eval
    mode: call ``opt.eval()`` before evaluating or saving and ``opt.train()`` before the
    next steps (step() is refused in eval mode). A new optimiser is in training mode (the
    package's start in eval mode, but for SGDScheduleFreeReference, and refuse to step
    before ``train()``: ported code calls it, and here it changes nothing). Step k's lr is
    ``lr * min(1, k / warmup_steps)``, and x averages z with weights
    ``k**r * max_lr_so_far**weight_lr_power``. beta1 must be in (0, 1) (x is recovered as
    ``(y - (1 - beta1) z) / beta1``).

    Equation (per step, see :func:`pywd.adamw_schedulefree`): ``v = b2*v + (1-b2)*g**2``;
    ``z -= lr*(g/(sqrt(v/(1-b2**k)) + eps) + wd*y)``; ``x = (1-c)*x + c*z``;
    ``y = b1*x + (1-b1)*z``. NumPy equivalent: those lines per parameter.

    The package's ``foreach`` (and torch's ``fused``, ``capturable``,
    ``differentiable=False``) are accepted and ignored (see :class:`Optimizer`).
    """

    table_row = "adamw_schedulefree"  # its state arrays: pywd/_optimisers.py
    _interpolation = "betas[0]"

    def __init__(self, params: Params, lr: float = 0.0025,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, warmup_steps: int = 0, r: float = 0.0,
                 weight_lr_power: float = 2.0, *, maximize: bool = False,
                 decay: Decay = "decoupled", max_lr: float | None = None,
                 cautious_decay: bool = False, decay_to: Any = None,
                 rounding: str = "stochastic", state_dtype: Any = None,
                 kahan_sum: bool = False, rng: int | _generator.Generator | None = None,
                 **torch_options: bool | None) -> None:
        self._init_from(locals())

    def _beta1(self, group):
        return _betas(group)[0]

    @staticmethod
    def _hyper(group):
        beta1, beta2 = _betas(group)
        return dict(_hyper_of(group, "eps"), beta1=beta1, beta2=beta2)

    def _check_group(self, group, dtype=None):
        self._check_schedule(group)
        arrays = _empty(dtype)
        adamw_schedulefree(arrays, arrays, arrays, arrays, step=1, average_weight=1.0,
                           lr=group["lr"], **self._hyper(group))

    def _state_needed(self, group):
        return (("z", COPY_OF_PARAM), ("exp_avg_sq", 0.0))

    def _kernel_call(self, group, arrays, key, options):
        return partial(adamw_schedulefree, arrays, None, None, None,
                       **self._step_of(group, key), **options, **self._hyper(group))


class SGDScheduleFree(_ScheduleFree):
    """Schedule-free SGD (Defazio et al. 2024): the ``schedulefree`` package's
    ``SGDScheduleFree``, plus ``decay=`` (torch has none).

    The package's constructor, defaults (``lr=1``, ``momentum=0.9``, ``warmup_steps=0``,
    ``r=0``, ``weight_lr_power=2``; ``weight_decay`` as L2 at y, ``decay="l2"``) and state
    (``z``; per parameter ``step``, ``weight_sum`` and ``lr_max``, as
    :class:`AdamWScheduleFree`); the kernel is :func:`pywd.sgd_schedulefree`. ``eval()``
    before evaluating or saving, ``train()`` before training again, as
    :class:`AdamWScheduleFree`. momentum must be in (0, 1), as the package requires.

    Equation: ``z -= lr*(g + wd*y)``; ``x = (1-c)*x + c*z``; ``y = m*x + (1-m)*z``.
    NumPy equivalent: those lines per parameter.

    The package's ``foreach`` (and torch's ``fused``, ``capturable``,
    ``differentiable=False``) are accepted and ignored (see :class:`Optimizer`).
    """

    table_row = "sgd_schedulefree"  # its state arrays: pywd/_optimisers.py
    step_for_rounding = True
    _interpolation = "momentum"

    def __init__(self, params: Params, lr: float = 1.0, momentum: float = 0.9,
                 weight_decay: float = 0.0, warmup_steps: int = 0, r: float = 0.0,
                 weight_lr_power: float = 2.0, *, maximize: bool = False,
                 decay: Decay = "l2", max_lr: float | None = None,
                 cautious_decay: bool = False, decay_to: Any = None,
                 rounding: str = "stochastic", state_dtype: Any = None,
                 kahan_sum: bool = False, rng: int | _generator.Generator | None = None,
                 **torch_options: bool | None) -> None:
        self._init_from(locals())

    def _beta1(self, group):
        return group["momentum"]

    @staticmethod
    def _hyper(group):
        return _hyper_of(group, "momentum")

    def _check_group(self, group, dtype=None):
        self._check_schedule(group)
        arrays = _empty(dtype)
        sgd_schedulefree(arrays, arrays, arrays, average_weight=1.0, lr=group["lr"],
                         **self._hyper(group))

    def _state_needed(self, group):
        return (("z", COPY_OF_PARAM),)

    def _kernel_call(self, group, arrays, key, options):
        hyper = self._step_of(group, key)
        del hyper["step"]                      # SGD's rounding step is the base class's
        return partial(sgd_schedulefree, arrays, None, None, **hyper, **options,
                       **self._hyper(group))
