"""``pywd.optim.lr_scheduler``: torch.optim.lr_scheduler's schedulers for pywd's optimisers.

Same class names, constructor arguments, defaults and step semantics as torch (the values of
a scheduler equal torch's to rounding: the same recursive formulas, step by step), so a port
is a change of import. Call ``scheduler.step()`` after ``optimizer.step()``, once per epoch
or per update as the recipe says; ``get_last_lr()`` gives the values just set.

Two additions: ``field=`` lets any scheduler drive another group field than ``"lr"``, such as
``"weight_decay"`` (DINO's ramp of the decay) or ``"momentum"``; it then records its start
values as ``initial_<field>`` as torch records ``initial_lr``. And ``state_dict()`` is a flat
dict of NumPy arrays, so it saves as ``.npz`` without pickle (a LambdaLR's functions are not
saved, as in torch).

So far: LambdaLR, MultiplicativeLR, StepLR, MultiStepLR, ConstantLR, LinearLR,
ExponentialLR, PolynomialLR, CosineAnnealingLR and ChainedScheduler. For the functional API,
:mod:`pywd.schedules` has plain functions of the step.
"""
import math
import numbers
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["LRScheduler", "LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR",
           "ConstantLR", "LinearLR", "ExponentialLR", "PolynomialLR", "CosineAnnealingLR",
           "ChainedScheduler"]

FIELDS = ("lr", "weight_decay", "momentum")
# a function of the epoch, or one per param group
LrLambda = Callable[[int], float] | Sequence[Callable[[int], float]]


def _int(value, name, low):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    return int(value)


def _real(value, name, low=-math.inf, high=math.inf, low_open=False):
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not math.isfinite(value) \
            or not low <= value <= high or (low_open and value == low):
        left = "(" if low_open else "["
        raise ValueError(f"{name} must be a finite number in {left}{low:g}, {high:g}], "
                         f"got {value!r}")
    return float(value)


class LRScheduler:
    """Base class, as torch's: ``base_lrs`` (each group's ``initial_lr``, recorded on
    creation), ``last_epoch`` (the steps taken; -1 before the first), ``step()``,
    ``get_last_lr()``, ``state_dict()`` and ``load_state_dict()``. Subclasses implement
    ``get_lr()`` from the groups' current values (torch's chainable form). NumPy and torch
    equivalents: see each subclass; ``field="weight_decay"`` schedules the decay (torch has
    no such option: assign ``group["weight_decay"]`` by hand)."""

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
            _int(last_epoch, "last_epoch", -1)
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

    def _set(self, values: Sequence[float]) -> None:
        for group, value in zip(self.optimizer.param_groups, values, strict=True):
            group[self.field] = value
        self._last_lr = self._values()

    # ------------------------------------------------------------------ state_dict
    _unsaved = ("optimizer", "lr_lambdas")

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
        """Restores a state_dict() (also from ``np.load``), checked against this class."""
        mine = self.state_dict()
        unknown = sorted(set(state_dict) - set(mine))
        if unknown:
            raise ValueError(f"state_dict has {unknown}, which a {type(self).__name__} does "
                             f"not have: the state of another scheduler?")
        for key, value in state_dict.items():
            value = np.asarray(value).tolist()
            if isinstance(getattr(self, key), Counter):
                value = Counter(value)
            setattr(self, key, value)


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

    def __init__(self, optimizer: Any, step_size: int, gamma: float = 0.1,
                 last_epoch: int = -1, *, field: str = "lr") -> None:
        self.step_size = _int(step_size, "step_size", 1)
        self.gamma = _real(gamma, "gamma", 0.0)
        super().__init__(optimizer, last_epoch, field=field)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._values()
        return [v * self.gamma for v in self._values()]


class MultiStepLR(LRScheduler):
    """torch's ``MultiStepLR``: times ``gamma`` at each milestone (twice at a milestone
    given twice). NumPy equivalent: ``base_lr * gamma ** np.searchsorted(milestones, t,
    side="right")``."""

    def __init__(self, optimizer: Any, milestones: Iterable[int], gamma: float = 0.1,
                 last_epoch: int = -1, *, field: str = "lr") -> None:
        self.milestones = Counter(_int(m, "milestones", 0) for m in milestones)
        self.gamma = _real(gamma, "gamma", 0.0)
        super().__init__(optimizer, last_epoch, field=field)

    def get_lr(self) -> list[float]:
        if self.last_epoch not in self.milestones:
            return self._values()
        return [v * self.gamma ** self.milestones[self.last_epoch] for v in self._values()]


class ConstantLR(LRScheduler):
    """torch's ``ConstantLR``: ``factor`` times the value until ``total_iters``, then the
    value itself. NumPy equivalent: ``base_lr * (factor if t < total_iters else 1)``."""

    def __init__(self, optimizer: Any, factor: float = 1.0 / 3, total_iters: int = 5,
                 last_epoch: int = -1, *, field: str = "lr") -> None:
        self.factor = _real(factor, "factor", 0.0, 1.0, low_open=True)
        self.total_iters = _int(total_iters, "total_iters", 0)
        super().__init__(optimizer, last_epoch, field=field)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0:
            return [v * self.factor for v in self._values()]
        if self.last_epoch != self.total_iters:
            return self._values()
        return [v * (1.0 / self.factor) for v in self._values()]


class LinearLR(LRScheduler):
    """torch's ``LinearLR``: the factor goes linearly from ``start_factor`` to
    ``end_factor`` over ``total_iters`` epochs (a warmup). NumPy equivalent: ``base_lr *
    np.interp(t, [0, total_iters], [start_factor, end_factor])``."""

    def __init__(self, optimizer: Any, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 total_iters: int = 5, last_epoch: int = -1, *, field: str = "lr") -> None:
        self.start_factor = _real(start_factor, "start_factor", 0.0, 1.0, low_open=True)
        self.end_factor = _real(end_factor, "end_factor", 0.0, 1.0)
        self.total_iters = _int(total_iters, "total_iters", 1)
        super().__init__(optimizer, last_epoch, field=field)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0:
            return [v * self.start_factor for v in self._values()]
        if self._is_initial or self.last_epoch > self.total_iters:
            return self._values()
        step = self.end_factor - self.start_factor
        ratio = 1.0 + step / (self.total_iters * self.start_factor + (self.last_epoch - 1) * step)
        return [v * ratio for v in self._values()]


class ExponentialLR(LRScheduler):
    """torch's ``ExponentialLR``: times ``gamma`` every epoch. NumPy equivalent: ``base_lr *
    gamma ** t``."""

    def __init__(self, optimizer: Any, gamma: float, last_epoch: int = -1, *,
                 field: str = "lr") -> None:
        self.gamma = _real(gamma, "gamma", 0.0)
        super().__init__(optimizer, last_epoch, field=field)

    def get_lr(self) -> list[float]:
        if self._is_initial:
            return self._values()
        return [v * self.gamma for v in self._values()]


class PolynomialLR(LRScheduler):
    """torch's ``PolynomialLR``: ``base_lr * (1 - t / total_iters) ** power`` until
    ``total_iters``, then 0. NumPy equivalent: that expression with ``np.clip``."""

    def __init__(self, optimizer: Any, total_iters: int = 5, power: float = 1.0,
                 last_epoch: int = -1, *, field: str = "lr") -> None:
        self.total_iters = _int(total_iters, "total_iters", 1)
        self.power = _real(power, "power", 0.0)
        super().__init__(optimizer, last_epoch, field=field)

    def get_lr(self) -> list[float]:
        if self._is_initial or self.last_epoch > self.total_iters:
            return self._values()
        factor = ((1.0 - self.last_epoch / self.total_iters)
                  / (1.0 - (self.last_epoch - 1) / self.total_iters)) ** self.power
        return [v * factor for v in self._values()]


class CosineAnnealingLR(LRScheduler):
    """torch's ``CosineAnnealingLR`` (SGDR without restarts): ``eta_min + (base_lr -
    eta_min) * (1 + cos(pi * t / T_max)) / 2``, computed step by step from the current
    value as torch does (it then keeps going: the cosine rises again after ``T_max``).
    NumPy equivalent: that expression with ``np.cos``."""

    def __init__(self, optimizer: Any, T_max: int, eta_min: float = 0.0,  # noqa: N803
                 last_epoch: int = -1, *, field: str = "lr") -> None:
        self.T_max = _int(T_max, "T_max", 1)
        self.eta_min = _real(eta_min, "eta_min")
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


class ChainedScheduler(LRScheduler):
    """torch's ``ChainedScheduler``: each ``step()`` steps every scheduler in turn (their
    factors multiply). NumPy equivalent: the product of their factors."""

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
        out = {"_last_lr": np.array(self._last_lr)}
        for i, s in enumerate(self._schedulers):
            out.update({f"_schedulers/{i}/{k}": v for k, v in s.state_dict().items()})
        return out

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        parts: dict[int, dict[str, Any]] = {}
        for key, value in state_dict.items():
            if key == "_last_lr":
                self._last_lr = np.asarray(value).tolist()
                continue
            head, _, rest = key.partition("/")
            index, _, name = rest.partition("/")
            if head != "_schedulers" or not index.isdigit() \
                    or int(index) >= len(self._schedulers):
                raise ValueError(f"state_dict key {key!r} is not a ChainedScheduler's")
            parts.setdefault(int(index), {})[name] = value
        for i, part in parts.items():
            self._schedulers[i].load_state_dict(part)
