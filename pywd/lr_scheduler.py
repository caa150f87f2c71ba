"""``pywd.optim.lr_scheduler``: torch.optim.lr_scheduler's schedulers for pywd's optimisers.

Same class names, constructor arguments, defaults and step semantics as torch (the values of
a scheduler equal torch's to rounding: the same recursive formulas, step by step), so a port
is a change of import. Call ``scheduler.step()`` after ``optimizer.step()``, once per epoch
or per update as the recipe says; ``get_last_lr()`` gives the values just set.

Two additions: ``field=`` lets any scheduler drive another group field than ``"lr"``, such as
``"weight_decay"`` (DINO's ramp of the decay), ``"momentum"`` or ``"norm_target"`` (weight-norm
control's target, where the group holds a number); it then records its start
values as ``initial_<field>`` as torch records ``initial_lr``. With ``field="weight_decay"``,
a group whose initial weight decay is 0 (a no-decay group of biases and norms) stays at 0
under every scheduler: it is a mask, not a value to schedule. DINO's cosine ramp of the
decay from 0.04 to 0.4 over a run, with a no-decay group::

    groups = pywd.optim.param_groups_weight_decay(named_params, weight_decay=0.04)
    opt = pywd.optim.AdamW(groups, lr=1e-3)
    ramp = CosineAnnealingLR(opt, T_max=steps, eta_min=0.4, field="weight_decay")
    # after each opt.step(...): ramp.step(); group 0 (no decay) stays at 0.0

And ``state_dict()`` is a flat dict of NumPy arrays, so it saves as ``.npz`` without pickle
(a LambdaLR's functions are not saved, as in torch).

So far: LambdaLR, MultiplicativeLR, StepLR, MultiStepLR, ConstantLR, LinearLR,
ExponentialLR, PolynomialLR, CosineAnnealingLR, CosineAnnealingWarmRestarts, OneCycleLR,
SequentialLR, ChainedScheduler, ReduceLROnPlateau and CyclicLR: all of torch 2's. For the
functional API, :mod:`pywd.schedules` has plain functions of the step.
"""
import bisect
import math
import numbers
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["LRScheduler", "LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR",
           "ConstantLR", "LinearLR", "ExponentialLR", "PolynomialLR", "CosineAnnealingLR",
           "CosineAnnealingWarmRestarts", "OneCycleLR", "CyclicLR", "SequentialLR",
           "ChainedScheduler", "ReduceLROnPlateau"]

FIELDS = ("lr", "weight_decay", "momentum", "norm_target")
# a function of the epoch, or one per param group
LrLambda = Callable[[int], float] | Sequence[Callable[[int], float]]


def _int(value, name, low):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    return int(value)


def _real(value, name, low=-math.inf, high=math.inf, low_open=False, high_open=False):
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not math.isfinite(value) \
            or not low <= value <= high or (low_open and value == low) \
            or (high_open and value == high):
        if high == math.inf:
            bound = f" {'>' if low_open else '>='} {low:g}" if low > -math.inf else ""
        else:
            bound = f" in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        raise ValueError(f"{name} must be a finite number{bound}, got {value!r}")
    return float(value)


# The values a scheduler holds, each with its check: what its constructor takes and what
# load_state_dict accepts (a class's _rules: attribute -> check(value, name) -> value; for a
# list, the check of each element; SAME: only this scheduler's own value)
def _ints(low):
    def check(value, name):
        return _int(value, name, low)
    check.integral = True              # type: ignore[attr-defined]  # (a list of ints)
    return check


def _reals(low=-math.inf, high=math.inf, low_open=False, high_open=False):
    return lambda value, name: _real(value, name, low, high, low_open, high_open)


def _one_of(*options):
    def check(value, name):
        if value not in options:
            raise ValueError(f"{name} must be one of {options}, got {value!r}")
        return value
    return check


def _not_nan(value, name):            # ReduceLROnPlateau's best and worst: inf is a value
    if math.isnan(value):
        raise ValueError(f"{name} must be a number (inf included), got {value!r}")
    return value


SAME = "this scheduler's own value"
LRS = _reals(0.0)        # the values a scheduler sets (lr, weight_decay or momentum): >= 0
MOMENTUMS = _reals(0.0, 1.0)


class LRScheduler:
    """Base class, as torch's: ``base_lrs`` (each group's ``initial_lr``, recorded on
    creation), ``last_epoch`` (the steps taken; -1 before the first), ``step()``,
    ``get_last_lr()``, ``state_dict()`` and ``load_state_dict()``. Subclasses implement
    ``get_lr()`` from the groups' current values (torch's chainable form). NumPy and torch
    equivalents: see each subclass; ``field="weight_decay"`` schedules the decay (torch has
    no such option: assign ``group["weight_decay"]`` by hand)."""

    _rules: dict[str, Any] = {"field": SAME, "_initial_key": SAME, "last_epoch": _ints(-1),
                              "_step_count": _ints(0), "base_lrs": LRS, "_last_lr": LRS}

    def __init__(self, optimizer: Any, last_epoch: int = -1, *, field: str = "lr") -> None:
        groups = getattr(optimizer, "param_groups", None)
        if not isinstance(groups, list) or not all(isinstance(g, dict) for g in groups):
            raise TypeError(f"{type(optimizer).__name__} is not an optimizer with param_groups")
        if field not in FIELDS:
            raise ValueError(f"field must be one of {FIELDS}, got {field!r}")
        for i, group in enumerate(groups):
            if not isinstance(group.get(field), numbers.Real) or isinstance(group[field], bool):
                raise ValueError(f"param_groups[{i}] has no number {field!r} to schedule")
        self.optimizer = optimizer
        self.field = field
        self._initial_key = f"initial_{field}"
        if last_epoch == -1:
            for group in groups:
                group.setdefault(self._initial_key, group[field])
        else:
            self._check("last_epoch", last_epoch)
            for i, group in enumerate(groups):
                if self._initial_key not in group:
                    raise KeyError(f"param_groups[{i}] has no {self._initial_key!r}: resuming "
                                   f"with last_epoch={last_epoch} needs the optimizer's "
                                   f"state loaded first")
        self.base_lrs = [float(group[self._initial_key]) for group in groups]
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self) -> None:
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def _values(self) -> list[float]:
        return [group[self.field] for group in self.optimizer.param_groups]

    def get_lr(self) -> list[float]:
        raise NotImplementedError

    def get_last_lr(self) -> list[float]:
        """The values the last step set, one per group."""
        return list(self._last_lr)

    def step(self) -> None:
        """One step of the schedule: sets each group's value (after optimizer.step())."""
        self._step_count += 1
        self.last_epoch += 1
        self._set(self.get_lr())

    def _closed_form(self) -> list[float] | None:
        """The values at last_epoch from base_lrs alone, where the class has a closed form."""
        return None

    def _jump(self, epoch: int) -> None:
        """Sets last_epoch to `epoch` and the values to the closed form there (SequentialLR
        starts a scheduler again at 0 this way, as torch does)."""
        self.last_epoch = epoch
        values = self._closed_form()
        self._set(values if values is not None else self.get_lr())

    def _set(self, values: Sequence[float]) -> None:
        masked = self.field == "weight_decay"
        for group, value, base in zip(self.optimizer.param_groups, values, self.base_lrs,
                                      strict=True):
            # a group built with no decay (biases, norms) is a mask, not a value to
            # schedule: it stays at 0 whatever the schedule adds (eta_min, say)
            group[self.field] = 0.0 if masked and base == 0 else value
        self._last_lr = self._values()

    # ------------------------------------------------------------------ state_dict
    _unsaved: tuple[str, ...] = ("optimizer", "lr_lambdas")

    def state_dict(self) -> dict[str, np.ndarray]:
        """The scheduler's state as a flat dict of arrays: ``np.savez`` saves it."""
        out = {}
        for key, value in vars(self).items():
            if key in self._unsaved:
                continue
            if isinstance(value, Counter):            # MultiStepLR's milestones, expanded
                value = sorted(value.elements())
            out[key] = np.array(value)
        return out

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restores a state_dict() (also from ``np.load``). Every entry is checked before
        anything changes (present, of the type and shape of this scheduler's own, in the
        range its constructor takes, lists one value per param group, ``field`` its own),
        so a refused load leaves the scheduler as it was."""
        self._apply(self._checked(state_dict))

    @classmethod
    def _rule(cls, name: str) -> Any:
        """The check of attribute `name` (the nearest class's), or None."""
        for klass in cls.__mro__:
            rule = vars(klass).get("_rules", {}).get(name)
            if rule is not None:
                return rule
        return None

    def _check(self, name: str, value: Any) -> Any:
        """`value` for attribute `name`, checked as a constructor argument."""
        return self._rule(name)(value, name)

    def _checked(self, state_dict: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
        """The attributes a state_dict sets, each checked, or the error naming the first
        entry that cannot be loaded (`prefix`: where a composite keeps this one's)."""
        _require_mapping(state_dict)
        mine = self.state_dict()
        unknown = sorted((prefix + str(k) for k in set(state_dict) - set(mine)))
        if unknown:
            raise ValueError(f"state_dict has {unknown}, which a {type(self).__name__} does "
                             f"not have: the state of another scheduler?")
        _refuse_missing(self, [prefix + k for k in mine if k not in state_dict])
        return {key: self._entry(key, _read(state_dict, key, prefix), prefix) for key in mine}

    def _entry(self, key: str, raw: Any, prefix: str = "") -> Any:
        """One entry of a state_dict as the value of attribute `key`: of the type (and, for
        lists, the length) of this scheduler's own, passing the attribute's check."""
        current, rule = getattr(self, key), self._rule(key)
        where = f"state_dict[{prefix + key!r}]"
        try:
            value = np.asarray(raw)
        except (TypeError, ValueError):
            value = np.asarray(None)
        shape: tuple[int | None, ...] = ()            # a scalar, or a list of a length
        if isinstance(current, (list, Counter)):
            ints = getattr(rule, "integral", False)
            length = None if isinstance(current, Counter) else len(current)
            kinds, shape = ("iu" if ints else "iuf"), (length,)
            what = (f"a list of {'ints' if ints else 'numbers'}" + (
                "" if length is None else f" of length {length}, as this scheduler's"))
        else:
            kinds, what = {bool: ("b", "a bool"), int: ("iu", "an int"),
                           str: ("U", "a str")}.get(type(current), ("iuf", "a number"))
        if (value.dtype.hasobject or value.dtype.kind not in kinds or value.ndim != len(shape)
                or (shape and shape[0] is not None and value.shape != shape)):
            raise ValueError(f"{where} must be {what}, got {raw!r}")
        loaded = value.tolist()
        if rule is SAME:
            if loaded != current:
                raise ValueError(f"{where} is {loaded!r}, but this {type(self).__name__}'s "
                                 f"{key} is {current!r}: the state of another scheduler, or "
                                 f"one built otherwise?")
            return current
        try:
            if isinstance(current, (list, Counter)):
                loaded = [rule(v, key) if rule else _real(v, key) for v in loaded]
            elif rule is not None:
                loaded = rule(loaded, key)
            elif isinstance(loaded, float):
                loaded = _real(loaded, key)
        except ValueError as err:
            raise ValueError(f"{where}: {err}") from None
        return Counter(loaded) if isinstance(current, Counter) else loaded

    def _apply(self, values: Mapping[str, Any]) -> None:
        """Sets the checked attributes of a state_dict (at once: nothing here can fail)."""
        self.__dict__.update(values)


class LambdaLR(LRScheduler):
    """torch's ``LambdaLR``: ``base_lr * lr_lambda(epoch)`` (one function, or one per
    group). NumPy equivalent: ``lr = base_lr * f(t)``."""

    def __init__(self, optimizer: Any, lr_lambda: LrLambda, last_epoch: int = -1, *,
                 field: str = "lr") -> None:
        self.lr_lambdas = _lambdas(optimizer, lr_lambda)
        super().__init__(optimizer, last_epoch, field=field)

    def get_lr(self) -> list[float]:
        return [base * fn(self.last_epoch) for fn, base in zip(self.lr_lambdas, self.base_lrs)]


class MultiplicativeLR(LRScheduler):
    """torch's ``MultiplicativeLR``: each step multiplies the value by
    ``lr_lambda(epoch)``. NumPy equivalent: ``lr *= f(t)``."""

    def __init__(self, optimizer: Any, lr_lambda: LrLambda, last_epoch: int = -1, *,
                 field: str = "lr") -> None:
        self.lr_lambdas = _lambdas(optimizer, lr_lambda)
        super().__init__(optimizer, last_epoch, field=field)

    def get_lr(self) -> list[float]:
        if self._is_initial:
            return self._values()
        return [v * fn(self.last_epoch) for fn, v in zip(self.lr_lambdas, self._values())]


def _lambdas(optimizer, lr_lambda):
    groups = getattr(optimizer, "param_groups", [])
    if isinstance(lr_lambda, (list, tuple)):
        if len(lr_lambda) != len(groups):
            raise ValueError(f"expected {len(groups)} lr_lambdas, one per param group, got "
                             f"{len(lr_lambda)}")
        fns = list(lr_lambda)
    else:
        fns = [lr_lambda] * len(groups)
    for fn in fns:
        if not callable(fn):
            raise TypeError(f"lr_lambda must be a function of the epoch, got "
                            f"{type(fn).__name__}")
    return fns


class StepLR(LRScheduler):
    """torch's ``StepLR``: times ``gamma`` every ``step_size`` epochs. NumPy equivalent:
    ``base_lr * gamma ** (t // step_size)``."""

    _rules = {"step_size": _ints(1), "gamma": _reals(0.0)}

    def __init__(self, optimizer: Any, step_size: int, gamma: float = 0.1,
                 last_epoch: int = -1, *, field: str = "lr") -> None:
        self.step_size = self._check("step_size", step_size)
        self.gamma = self._check("gamma", gamma)
        super().__init__(optimizer, last_epoch, field=field)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._values()
        return [v * self.gamma for v in self._values()]

    def _closed_form(self) -> list[float]:
        return [b * self.gamma ** (self.last_epoch // self.step_size) for b in self.base_lrs]


class MultiStepLR(LRScheduler):
    """torch's ``MultiStepLR``: times ``gamma`` at each milestone (twice at a milestone
    given twice). NumPy equivalent: ``base_lr * gamma ** np.searchsorted(milestones, t,
    side="right")``."""

    _rules = {"milestones": _ints(0), "gamma": _reals(0.0)}

    def __init__(self, optimizer: Any, milestones: Iterable[int], gamma: float = 0.1,
                 last_epoch: int = -1, *, field: str = "lr") -> None:
        self.milestones = Counter(self._check("milestones", m) for m in milestones)
        self.gamma = self._check("gamma", gamma)
        super().__init__(optimizer, last_epoch, field=field)

    def get_lr(self) -> list[float]:
        if self.last_epoch not in self.milestones:
            return self._values()
        return [v * self.gamma ** self.milestones[self.last_epoch] for v in self._values()]

    def _closed_form(self) -> list[float]:
        passed = bisect.bisect_right(sorted(self.milestones.elements()), self.last_epoch)
        return [b * self.gamma ** passed for b in self.base_lrs]


class ConstantLR(LRScheduler):
    """torch's ``ConstantLR``: ``factor`` times the value until ``total_iters``, then the
    value itself. NumPy equivalent: ``base_lr * (factor if t < total_iters else 1)``."""

    _rules = {"factor": _reals(0.0, 1.0, low_open=True), "total_iters": _ints(0)}

    def __init__(self, optimizer: Any, factor: float = 1.0 / 3, total_iters: int = 5,
                 last_epoch: int = -1, *, field: str = "lr") -> None:
        self.factor = self._check("factor", factor)
        self.total_iters = self._check("total_iters", total_iters)
        super().__init__(optimizer, last_epoch, field=field)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0:
            return [v * self.factor for v in self._values()]
        if self.last_epoch != self.total_iters:
            return self._values()
        return [v * (1.0 / self.factor) for v in self._values()]

    def _closed_form(self) -> list[float]:
        done = self.last_epoch >= self.total_iters
        return [b * (self.factor + done * (1 - self.factor)) for b in self.base_lrs]


class LinearLR(LRScheduler):
    """torch's ``LinearLR``: the factor goes linearly from ``start_factor`` to
    ``end_factor`` over ``total_iters`` epochs (a warmup). NumPy equivalent: ``base_lr *
    np.interp(t, [0, total_iters], [start_factor, end_factor])``."""

    _rules = {"start_factor": _reals(0.0, 1.0, low_open=True), "end_factor": _reals(0.0, 1.0),
              "total_iters": _ints(1)}

    def __init__(self, optimizer: Any, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 total_iters: int = 5, last_epoch: int = -1, *, field: str = "lr") -> None:
        self.start_factor = self._check("start_factor", start_factor)
        self.end_factor = self._check("end_factor", end_factor)
        self.total_iters = self._check("total_iters", total_iters)
        super().__init__(optimizer, last_epoch, field=field)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0:
            return [v * self.start_factor for v in self._values()]
        if self._is_initial or self.last_epoch > self.total_iters:
            return self._values()
        step = self.end_factor - self.start_factor
        ratio = 1.0 + step / (self.total_iters * self.start_factor + (self.last_epoch - 1) * step)
        return [v * ratio for v in self._values()]

    def _closed_form(self) -> list[float]:
        frac = min(self.total_iters, self.last_epoch) / self.total_iters
        return [b * (self.start_factor + (self.end_factor - self.start_factor) * frac)
                for b in self.base_lrs]


class ExponentialLR(LRScheduler):
    """torch's ``ExponentialLR``: times ``gamma`` every epoch. NumPy equivalent: ``base_lr *
    gamma ** t``."""

    _rules = {"gamma": _reals(0.0)}

    def __init__(self, optimizer: Any, gamma: float, last_epoch: int = -1, *,
                 field: str = "lr") -> None:
        self.gamma = self._check("gamma", gamma)
        super().__init__(optimizer, last_epoch, field=field)

    def get_lr(self) -> list[float]:
        if self._is_initial:
            return self._values()
        return [v * self.gamma for v in self._values()]

    def _closed_form(self) -> list[float]:
        return [b * self.gamma ** self.last_epoch for b in self.base_lrs]


class PolynomialLR(LRScheduler):
    """torch's ``PolynomialLR``: ``base_lr * (1 - t / total_iters) ** power`` until
    ``total_iters``, then 0. NumPy equivalent: that expression with ``np.clip``."""

    _rules = {"total_iters": _ints(1), "power": _reals(0.0)}

    def __init__(self, optimizer: Any, total_iters: int = 5, power: float = 1.0,
                 last_epoch: int = -1, *, field: str = "lr") -> None:
        self.total_iters = self._check("total_iters", total_iters)
        self.power = self._check("power", power)
        super().__init__(optimizer, last_epoch, field=field)

    def get_lr(self) -> list[float]:
        if self._is_initial or self.last_epoch > self.total_iters:
            return self._values()
        factor = ((1.0 - self.last_epoch / self.total_iters)
                  / (1.0 - (self.last_epoch - 1) / self.total_iters)) ** self.power
        return [v * factor for v in self._values()]

    def _closed_form(self) -> list[float]:
        left = 1.0 - min(self.total_iters, self.last_epoch) / self.total_iters
        return [b * left ** self.power for b in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """torch's ``CosineAnnealingLR`` (SGDR without restarts): ``eta_min + (base_lr -
    eta_min) * (1 + cos(pi * t / T_max)) / 2``, computed step by step from the current
    value as torch does (it then keeps going: the cosine rises again after ``T_max``).
    NumPy equivalent: that expression with ``np.cos``."""

    _rules = {"T_max": _ints(1), "eta_min": _reals()}

    def __init__(self, optimizer: Any, T_max: int, eta_min: float = 0.0,  # noqa: N803
                 last_epoch: int = -1, *, field: str = "lr") -> None:
        self.T_max = self._check("T_max", T_max)
        self.eta_min = self._check("eta_min", eta_min)
        super().__init__(optimizer, last_epoch, field=field)

    def get_lr(self) -> list[float]:
        t, period, low = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return self._values()
        if self._step_count == 1 and t > 0:        # resumed: the closed form
            return [low + (base - low) * (1 + math.cos(t * math.pi / period)) / 2
                    for base in self.base_lrs]
        if (t - 1 - period) % (2 * period) == 0:   # the trough: the recursion divides by 0
            return [v + (base - low) * (1 - math.cos(math.pi / period)) / 2
                    for base, v in zip(self.base_lrs, self._values())]
        return [(1 + math.cos(math.pi * t / period)) / (1 + math.cos(math.pi * (t - 1) / period))
                * (v - low) + low for v in self._values()]

    def _closed_form(self) -> list[float]:
        return [self.eta_min + (b - self.eta_min)
                * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
                for b in self.base_lrs]


class CosineAnnealingWarmRestarts(LRScheduler):
    """torch's ``CosineAnnealingWarmRestarts`` (SGDR, Loshchilov & Hutter 2017): a cosine
    from ``base_lr`` to ``eta_min`` over ``T_0`` epochs, restarted, each period ``T_mult``
    times the last. NumPy equivalent: ``eta_min + (base_lr - eta_min) * (1 + cos(pi * T_cur
    / T_i)) / 2`` with T_cur the epochs since the last restart."""

    _rules = {"T_0": _ints(1), "T_i": _ints(1), "T_mult": _ints(1), "eta_min": _reals(),
              "T_cur": _ints(-1)}

    def __init__(self, optimizer: Any, T_0: int, T_mult: int = 1,  # noqa: N803
                 eta_min: float = 0.0, last_epoch: int = -1, *, field: str = "lr") -> None:
        self.T_0 = self.T_i = self._check("T_0", T_0)
        self.T_mult = self._check("T_mult", T_mult)
        self.eta_min = self._check("eta_min", eta_min)
        self.T_cur = last_epoch
        super().__init__(optimizer, last_epoch, field=field)

    def get_lr(self) -> list[float]:
        return [self.eta_min + (b - self.eta_min) * (1 + math.cos(math.pi * self.T_cur / self.T_i))
                / 2 for b in self.base_lrs]

    def step(self) -> None:
        self._step_count += 1
        if self.last_epoch < 0:
            self.last_epoch, self.T_cur = 0, 0
        else:
            self.last_epoch += 1
            self.T_cur += 1
            if self.T_cur >= self.T_i:
                self.T_cur -= self.T_i
                self.T_i *= self.T_mult
        self._set(self.get_lr())


class OneCycleLR(LRScheduler):
    """torch's ``OneCycleLR`` (Smith & Topin 2017): per step, the lr rises from ``max_lr /
    div_factor`` to ``max_lr`` over ``pct_start`` of ``total_steps`` (or ``epochs *
    steps_per_epoch``), then falls to ``max_lr / (div_factor * final_div_factor)``; with
    ``cycle_momentum`` the momentum (``betas[0]`` for Adam-family groups) moves the other
    way between ``max_momentum`` and ``base_momentum``. NumPy equivalent:
    :func:`pywd.schedules.one_cycle` (the lr alone). Its state_dict leaves out the phases,
    which its constructor's arguments make."""

    _unsaved = LRScheduler._unsaved + ("_phases",)
    # the phases are made from total_steps: a state_dict of another length does not fit
    _rules = {"total_steps": SAME, "anneal_strategy": _one_of("cos", "linear"),
              "cycle_momentum": SAME, "use_beta1": SAME}

    def __init__(self, optimizer: Any, max_lr: float | Sequence[float],
                 total_steps: int | None = None, epochs: int | None = None,
                 steps_per_epoch: int | None = None, pct_start: float = 0.3,
                 anneal_strategy: str = "cos", cycle_momentum: bool = True,
                 base_momentum: float | Sequence[float] = 0.85,
                 max_momentum: float | Sequence[float] = 0.95, div_factor: float = 25.0,
                 final_div_factor: float = 1e4, three_phase: bool = False,
                 last_epoch: int = -1) -> None:
        groups = getattr(optimizer, "param_groups", [])
        if total_steps is not None:
            self.total_steps = _int(total_steps, "total_steps", 1)     # (SAME when loaded)
        elif epochs is not None and steps_per_epoch is not None:
            self.total_steps = (_int(epochs, "epochs", 1)
                                * _int(steps_per_epoch, "steps_per_epoch", 1))
        else:
            raise ValueError("give total_steps, or epochs and steps_per_epoch")
        pct_start = _real(pct_start, "pct_start", 0.0, 1.0)
        self.anneal_strategy = self._check("anneal_strategy", anneal_strategy)
        up = float(pct_start * self.total_steps) - 1
        if three_phase:
            self._phases = [(up, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                            (float(2 * pct_start * self.total_steps) - 2, "max_lr",
                             "initial_lr", "base_momentum", "max_momentum"),
                            (self.total_steps - 1, "initial_lr", "min_lr", "max_momentum",
                             "max_momentum")]
        else:
            self._phases = [(up, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                            (self.total_steps - 1, "max_lr", "min_lr", "base_momentum",
                             "max_momentum")]
        max_lrs = _per_group(max_lr, "max_lr", groups, LRS)
        if last_epoch == -1:
            for group, top in zip(groups, max_lrs):
                group["initial_lr"] = top / _real(div_factor, "div_factor", 0.0, low_open=True)
                group["max_lr"] = top
                group["min_lr"] = group["initial_lr"] / _real(
                    final_div_factor, "final_div_factor", 0.0, low_open=True)
        self.cycle_momentum, self.use_beta1, _, _ = _cycle_momentum(
            optimizer, cycle_momentum, base_momentum, max_momentum, last_epoch)
        super().__init__(optimizer, last_epoch)

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self) -> list[float]:
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(f"stepped {step} times, but total_steps is {self.total_steps}")
        out = []
        for group in self.optimizer.param_groups:
            begin = 0.0
            for i, (end, lr0, lr1, m0, m1) in enumerate(self._phases):
                if step <= end or i == len(self._phases) - 1:
                    pct = (step - begin) / (end - begin)
                    out.append(self._anneal(group[lr0], group[lr1], pct))
                    if self.cycle_momentum:
                        _set_momentum(group, self.use_beta1,
                                      self._anneal(group[m0], group[m1], pct))
                    break
                begin = end
        return out


class CyclicLR(LRScheduler):
    """torch's ``CyclicLR`` (Smith 2017): the lr goes from ``base_lr`` up to ``max_lr`` over
    ``step_size_up`` steps and back over ``step_size_down``, cycle after cycle, its height
    scaled per cycle by ``mode`` ("triangular": 1, "triangular2": halved each cycle,
    "exp_range": ``gamma ** step``) or ``scale_fn``; with ``cycle_momentum`` the momentum
    (``betas[0]`` for Adam) moves the other way. NumPy equivalent: that triangle wave."""

    _unsaved = LRScheduler._unsaved + ("_custom_scale_fn",)
    _rules = {"max_lrs": LRS, "total_size": _reals(0.0, low_open=True),
              "step_ratio": _reals(0.0, 1.0, low_open=True, high_open=True),
              "mode": _one_of("triangular", "triangular2", "exp_range"), "gamma": _reals(0.0),
              "scale_mode": _one_of("cycle", "iterations"), "cycle_momentum": SAME,
              "use_beta1": SAME, "base_momentums": MOMENTUMS, "max_momentums": MOMENTUMS}

    def __init__(self, optimizer: Any, base_lr: float | Sequence[float],
                 max_lr: float | Sequence[float], step_size_up: int = 2000,
                 step_size_down: int | None = None, mode: str = "triangular",
                 gamma: float = 1.0, scale_fn: Callable[[float], float] | None = None,
                 scale_mode: str = "cycle", cycle_momentum: bool = True,
                 base_momentum: float | Sequence[float] = 0.8,
                 max_momentum: float | Sequence[float] = 0.9, last_epoch: int = -1) -> None:
        groups = getattr(optimizer, "param_groups", [])
        base_lrs = _per_group(base_lr, "base_lr", groups, LRS)
        if last_epoch == -1:
            for group, lr in zip(groups, base_lrs):
                group["lr"] = group["initial_lr"] = lr     # torch's fresh groups get both
        self.max_lrs = _per_group(max_lr, "max_lr", groups, LRS)
        up = float(_int(step_size_up, "step_size_up", 1))
        down = float(_int(step_size_down, "step_size_down", 1)) if step_size_down is not None \
            else up
        self.total_size, self.step_ratio = up + down, up / (up + down)
        self.mode, self.gamma = self._check("mode", mode), self._check("gamma", gamma)
        self._custom_scale_fn = scale_fn
        self.scale_mode = (self._check("scale_mode", scale_mode) if scale_fn is not None
                           else "iterations" if mode == "exp_range" else "cycle")
        self.cycle_momentum, self.use_beta1, self.base_momentums, self.max_momentums = \
            _cycle_momentum(optimizer, cycle_momentum, base_momentum, max_momentum, last_epoch)
        LRScheduler.__init__(self, optimizer, last_epoch)
        self.base_lrs = base_lrs

    def scale_fn(self, x: float) -> float:
        """The height of cycle (or step) x: the given scale_fn's, else mode's."""
        if self._custom_scale_fn is not None:
            return self._custom_scale_fn(x)
        if self.mode == "triangular":
            return 1.0
        if self.mode == "triangular2":
            return 1 / 2.0 ** (x - 1)
        return self.gamma ** x

    def get_lr(self) -> list[float]:
        cycle = math.floor(1 + self.last_epoch / self.total_size)
        x = 1.0 + self.last_epoch / self.total_size - cycle
        rise = x / self.step_ratio if x <= self.step_ratio else (x - 1) / (self.step_ratio - 1)
        scale = self.scale_fn(cycle if self.scale_mode == "cycle" else self.last_epoch)
        if self.cycle_momentum:
            for group, low, top in zip(self.optimizer.param_groups, self.base_momentums,
                                       self.max_momentums):
                _set_momentum(group, self.use_beta1, top - (top - low) * rise * scale)
        # the same products in torch's order: base + (height * rise) * scale
        return [low + (top - low) * rise * scale for low, top in zip(self.base_lrs, self.max_lrs)]


def _cycle_momentum(optimizer, cycle, base_momentum, max_momentum, last_epoch):
    """cycle_momentum, as torch's cycling schedulers set it up: the momentum (Adam's beta1)
    starts at max_momentum, and each group records both ends. Returns (cycle_momentum,
    use_beta1, bases, tops)."""
    if not cycle:
        return False, False, [], []
    groups, defaults = optimizer.param_groups, getattr(optimizer, "defaults", {})
    if "momentum" not in defaults and "betas" not in defaults:
        raise ValueError("cycle_momentum needs an optimizer with momentum or betas")
    use_beta1 = "betas" in defaults
    bases = _per_group(base_momentum, "base_momentum", groups, MOMENTUMS)
    tops = _per_group(max_momentum, "max_momentum", groups, MOMENTUMS)
    if last_epoch == -1:
        for group, top, base in zip(groups, tops, bases):
            _set_momentum(group, use_beta1, top)
            group["max_momentum"], group["base_momentum"] = top, base
    return True, use_beta1, bases, tops


def _set_momentum(group, use_beta1, value):
    """A group's momentum, or its Adam beta1, as the cycling schedulers move it."""
    if use_beta1:
        group["betas"] = (value, *group["betas"][1:])
    else:
        group["momentum"] = value


def _per_group(value, name, groups, check):
    """One checked value per param group: `value`'s (a list of them), or `value` for all."""
    if isinstance(value, (list, tuple)):
        if len(value) != len(groups):
            raise ValueError(f"expected {len(groups)} values of {name}, one per param group, "
                             f"got {len(value)}")
        return [check(v, name) for v in value]
    return [check(value, name)] * len(groups)


class _Composite(LRScheduler):
    """What SequentialLR and ChainedScheduler share: a state_dict of their own entries
    (``_own``) and each of their schedulers' ("_schedulers/<i>/<name>"), all checked before
    any is set."""

    _own: tuple[str, ...] = ()
    _schedulers: list[LRScheduler]

    def _checked(self, state_dict: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
        _require_mapping(state_dict)
        own: dict[str, Any] = {}
        parts: list[dict[str, Any]] = [{} for _ in self._schedulers]
        for key in state_dict:
            value = _read(state_dict, key, prefix)
            index, _, name = str(key).removeprefix("_schedulers/").partition("/")
            if str(key).startswith("_schedulers/") and index.isdigit() and name:
                if int(index) >= len(parts):
                    raise ValueError(f"state_dict key {prefix + key!r} names no scheduler of "
                                     f"this {type(self).__name__} (it has {len(parts)})")
                parts[int(index)][name] = value
            elif key in self._own:
                own[key] = value
            else:
                raise ValueError(f"state_dict has {prefix + str(key)!r}, which a "
                                 f"{type(self).__name__} does not have: the state of another "
                                 f"scheduler?")
        _refuse_missing(self, [prefix + key for key in self._own if key not in own])
        checked = {key: self._entry(key, own[key], prefix) for key in self._own}
        checked["_schedulers"] = [s._checked(part, f"{prefix}_schedulers/{i}/")
                                  for i, (s, part) in enumerate(zip(self._schedulers, parts))]
        return checked

    def _apply(self, values: Mapping[str, Any]) -> None:
        self.__dict__.update({k: v for k, v in values.items() if k != "_schedulers"})
        for scheduler, part in zip(self._schedulers, values["_schedulers"]):
            scheduler._apply(part)


class SequentialLR(_Composite):
    """torch's ``SequentialLR``: ``schedulers[i]`` from ``milestones[i - 1]`` on, each
    started again at its epoch 0 (a warmup, then a decay). NumPy equivalent:
    :func:`pywd.schedules.join`."""

    _rules = {"last_epoch": _ints(0), "_milestones": _ints(1)}
    _own = ("last_epoch", "_milestones", "_last_lr")

    def __init__(self, optimizer: Any, schedulers: Sequence[LRScheduler],
                 milestones: Sequence[int], last_epoch: int = -1) -> None:
        schedulers = list(schedulers)
        if not schedulers:
            raise ValueError("SequentialLR needs at least one scheduler")
        for i, s in enumerate(schedulers):
            if not isinstance(s, LRScheduler) or isinstance(s, ReduceLROnPlateau):
                raise TypeError(f"schedulers[{i}] must be an epoch scheduler, got "
                                f"{type(s).__name__}")
            if s.optimizer is not optimizer:
                raise ValueError(f"schedulers[{i}] drives another optimizer")
        milestones = [self._check("_milestones", m) for m in milestones]
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(f"SequentialLR needs one milestone fewer than schedulers, got "
                             f"{len(schedulers)} schedulers and {len(milestones)} milestones")
        self._schedulers, self._milestones = schedulers, milestones
        self.optimizer, self.field = optimizer, schedulers[0].field
        self.last_epoch = _int(last_epoch, "last_epoch", -1) + 1
        for group in optimizer.param_groups:
            group[self.field] = group[schedulers[0]._initial_key]
        for s in schedulers:                       # undo their first steps, as torch does
            s.last_epoch -= 1
        first = schedulers[bisect.bisect_right(milestones, 0)]
        first._initial_step()
        self._last_lr = first.get_last_lr()

    def step(self) -> None:
        self.last_epoch += 1
        index = bisect.bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[index]
        if index > 0 and self._milestones[index - 1] == self.last_epoch:
            scheduler._jump(0)
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    def state_dict(self) -> dict[str, np.ndarray]:
        return _nested_state(self, {"last_epoch": np.array(self.last_epoch),
                                    "_milestones": np.array(self._milestones, dtype=np.int64),
                                    "_last_lr": np.array(self._last_lr)})



class ReduceLROnPlateau(LRScheduler):
    """torch's ``ReduceLROnPlateau``: ``step(metric)`` multiplies the lr by ``factor`` when
    the metric has not improved (by ``threshold``, relative or absolute) for more than
    ``patience`` steps, then waits ``cooldown`` steps; never below ``min_lr``, and not by
    less than ``eps``. NumPy equivalent: that bookkeeping in a loop."""

    _rules = {"factor": _reals(0.0, 1.0, high_open=True), "min_lrs": LRS,
              "patience": _ints(0), "cooldown": _ints(0), "threshold": _reals(0.0),
              "eps": _reals(0.0), "mode": _one_of("min", "max"),
              "threshold_mode": _one_of("rel", "abs"), "mode_worse": _not_nan,
              "last_epoch": _ints(0), "best": _not_nan, "cooldown_counter": _ints(0),
              "num_bad_epochs": _ints(0)}

    def __init__(self, optimizer: Any, mode: str = "min", factor: float = 0.1,
                 patience: int = 10, threshold: float = 1e-4, threshold_mode: str = "rel",
                 cooldown: int = 0, min_lr: float | Sequence[float] = 0.0,
                 eps: float = 1e-8) -> None:
        groups = getattr(optimizer, "param_groups", None)
        if not isinstance(groups, list):
            raise TypeError(f"{type(optimizer).__name__} is not an optimizer with param_groups")
        self.factor = self._check("factor", factor)
        self.mode = self._check("mode", mode)
        self.threshold_mode = self._check("threshold_mode", threshold_mode)
        self.optimizer, self.field = optimizer, "lr"
        self.min_lrs = _per_group(min_lr, "min_lr", groups, LRS)
        self.patience = self._check("patience", patience)
        self.cooldown = self._check("cooldown", cooldown)
        self.threshold = self._check("threshold", threshold)
        self.eps = self._check("eps", eps)
        self.mode_worse = math.inf if mode == "min" else -math.inf
        self.last_epoch = 0
        self.best, self.cooldown_counter, self.num_bad_epochs = self.mode_worse, 0, 0
        self._last_lr = self._values()

    def _checked(self, state_dict: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
        values = super()._checked(state_dict, prefix)
        worst = math.inf if values["mode"] == "min" else -math.inf
        if values["mode_worse"] != worst:
            raise ValueError(f"state_dict[{prefix + 'mode_worse'!r}] must be {worst} for "
                             f"mode={values['mode']!r}, got {values['mode_worse']!r}")
        return values

    def _is_better(self, a: float, best: float) -> bool:
        if self.mode == "min":
            return a < (best * (1.0 - self.threshold) if self.threshold_mode == "rel"
                        else best - self.threshold)
        return a > (best * (self.threshold + 1.0) if self.threshold_mode == "rel"
                    else best + self.threshold)

    def step(self, metrics: float) -> None:  # type: ignore[override]
        current = float(metrics)
        self.last_epoch += 1
        if self._is_better(current, self.best):
            self.best, self.num_bad_epochs = current, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            for group, low in zip(self.optimizer.param_groups, self.min_lrs):
                old = float(group["lr"])
                new = max(old * self.factor, low)
                if old - new > self.eps:
                    group["lr"] = new
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
        self._last_lr = self._values()


def _nested_state(owner, out):
    for i, s in enumerate(owner._schedulers):
        out.update({f"_schedulers/{i}/{k}": v for k, v in s.state_dict().items()})
    return out


def _require_mapping(state_dict):
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"state_dict must be a mapping of str to arrays, got "
                        f"{type(state_dict).__name__}")


def _refuse_missing(owner, missing):
    if missing:
        raise ValueError(f"state_dict lacks {missing}, which every {type(owner).__name__} "
                         f"state_dict has")


def _read(state_dict, key, prefix):
    """state_dict[key], or the error naming the entry (a damaged or pickled .npz one)."""
    from .optim._support import _read_entry      # (pywd.optim imports this module)
    return _read_entry(state_dict, key, f"state_dict[{prefix + str(key)!r}]")


class ChainedScheduler(_Composite):
    """torch's ``ChainedScheduler``: each ``step()`` steps every scheduler in turn (their
    factors multiply). NumPy equivalent: the product of their factors."""

    _own = ("_last_lr",)

    def __init__(self, schedulers: Sequence[LRScheduler], optimizer: Any = None) -> None:
        schedulers = list(schedulers)
        if not schedulers:
            raise ValueError("ChainedScheduler needs at least one scheduler")
        optimizer = optimizer if optimizer is not None else schedulers[0].optimizer
        for i, s in enumerate(schedulers):
            if not isinstance(s, LRScheduler):
                raise TypeError(f"schedulers[{i}] is not a scheduler: {type(s).__name__}")
            if s.optimizer is not optimizer:
                raise ValueError(f"schedulers[{i}] drives another optimizer: every scheduler "
                                 f"of a chain must drive the same one")
        self._schedulers = schedulers
        self.optimizer = optimizer
        self.field = schedulers[-1].field
        self._last_lr = schedulers[-1]._values()

    def step(self) -> None:
        for s in self._schedulers:
            s.step()
        self._last_lr = self._schedulers[-1]._values()

    def state_dict(self) -> dict[str, np.ndarray]:
        return _nested_state(self, {"_last_lr": np.array(self._last_lr)})

