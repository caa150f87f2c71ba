"""Schedules as plain functions of the step, for the functional API: each returns a
callable ``schedule(step) -> float`` (step: an int >= 0, the number of updates done), to be
passed as ``lr=`` (or ``weight_decay=``) of each update::

    lr_at = pywd.schedules.warmup_cosine(0.0, 1e-3, warmup_steps=500, decay_steps=10_000)
    for t in range(10_000):
        pywd.adamw(w, g, m, v, step=t + 1, lr=lr_at(t), max_lr=1e-3)

``constant``, ``linear``, ``cosine``, ``warmup_cosine`` and ``join`` follow optax's
``constant_schedule``, ``linear_schedule``, ``cosine_decay_schedule``,
``warmup_cosine_decay_schedule`` and ``join_schedules``; ``one_cycle`` follows torch's
``OneCycleLR`` (Smith & Topin 2017). Values are computed in double precision.
"""
import bisect
import math
import numbers
from collections.abc import Callable, Sequence

__all__ = ["constant", "linear", "cosine", "warmup_cosine", "one_cycle", "join"]

Schedule = Callable[[int], float]


def _real(value, name, low=-math.inf, strict=False):
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not math.isfinite(value) \
            or value < low or (strict and value == low):
        bound = "" if low == -math.inf else f" {'>' if strict else '>='} {low:g}"
        raise ValueError(f"{name} must be a finite number{bound}, got {value!r}")
    return float(value)


def _steps(value, name, low=0):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    return int(value)


def _step_of(step):
    if not isinstance(step, numbers.Integral) or isinstance(step, bool) or step < 0:
        raise ValueError(f"a schedule's step must be an int >= 0, got {step!r}")
    return int(step)


def constant(value: float) -> Schedule:
    """``value`` at every step (optax's ``constant_schedule``). NumPy equivalent: the
    number itself; torch: no scheduler (or ``ConstantLR`` with factor 1)."""
    value = _real(value, "value")

    def schedule(step: int) -> float:
        _step_of(step)
        return value
    return schedule


def linear(init_value: float, end_value: float, transition_steps: int,
           transition_begin: int = 0) -> Schedule:
    """optax's ``linear_schedule``: ``init_value`` until ``transition_begin``, then a
    straight line to ``end_value`` over ``transition_steps`` steps, then ``end_value``:
    ``v(t) = (init - end) * (1 - c / transition_steps) + end``, ``c = clip(t -
    transition_begin, 0, transition_steps)``; ``transition_steps=0`` is ``init_value``
    throughout. NumPy equivalent: ``np.interp(t, [b, b + n], [init, end])``; torch:
    ``LinearLR`` (as factors of the lr)."""
    init_value, end_value = _real(init_value, "init_value"), _real(end_value, "end_value")
    transition_steps = _steps(transition_steps, "transition_steps")
    transition_begin = _steps(transition_begin, "transition_begin")
    if transition_steps == 0:
        return constant(init_value)

    def schedule(step: int) -> float:
        count = min(max(_step_of(step) - transition_begin, 0), transition_steps)
        return (init_value - end_value) * (1 - count / transition_steps) + end_value
    return schedule


def cosine(init_value: float, decay_steps: int, alpha: float = 0.0,
           exponent: float = 1.0) -> Schedule:
    """optax's ``cosine_decay_schedule`` (Loshchilov & Hutter, SGDR): ``init_value *
    ((1 - alpha) * c**exponent + alpha)`` with ``c = (1 + cos(pi * min(t, decay_steps) /
    decay_steps)) / 2``: from ``init_value`` to ``alpha * init_value`` at ``decay_steps``,
    then flat. NumPy equivalent: that expression with ``np.cos``; torch:
    ``CosineAnnealingLR(T_max=decay_steps, eta_min=alpha * lr)`` (for exponent 1)."""
    init_value = _real(init_value, "init_value")
    decay_steps = _steps(decay_steps, "decay_steps", 1)
    alpha, exponent = _real(alpha, "alpha"), _real(exponent, "exponent", 0.0, strict=True)

    def schedule(step: int) -> float:
        count = min(_step_of(step), decay_steps)
        decayed = 0.5 * (1 + math.cos(math.pi * count / decay_steps))
        return init_value * ((1 - alpha) * decayed ** exponent + alpha)
    return schedule


def join(schedules: Sequence[Schedule], boundaries: Sequence[int]) -> Schedule:
    """optax's ``join_schedules``: ``schedules[i]`` from ``boundaries[i - 1]`` (0 for the
    first) on, each given the steps counted from its own start. ``len(boundaries) ==
    len(schedules) - 1``, increasing. NumPy equivalent: ``np.searchsorted`` over the
    boundaries; torch: ``SequentialLR``."""
    schedules, boundaries = list(schedules), [_steps(b, "boundaries") for b in boundaries]
    if len(boundaries) != len(schedules) - 1 or not schedules:
        raise ValueError(f"join needs one boundary fewer than schedules, got "
                         f"{len(schedules)} schedules and {len(boundaries)} boundaries")
    if any(b >= c for b, c in zip(boundaries, boundaries[1:])):
        raise ValueError(f"boundaries must increase, got {boundaries}")
    if not all(callable(s) for s in schedules):
        raise TypeError("schedules must be callables of the step")
    starts = [0] + boundaries

    def schedule(step: int) -> float:
        step = _step_of(step)
        index = bisect.bisect_right(boundaries, step)
        return schedules[index](step - starts[index])
    return schedule


def warmup_cosine(init_value: float, peak_value: float, warmup_steps: int, decay_steps: int,
                  end_value: float = 0.0, exponent: float = 1.0) -> Schedule:
    """optax's ``warmup_cosine_decay_schedule``: linear from ``init_value`` to
    ``peak_value`` over ``warmup_steps``, then cosine decay to ``end_value``; as in optax,
    ``decay_steps`` counts the warmup (the cosine takes ``decay_steps - warmup_steps``).
    NumPy equivalent: :func:`join` of :func:`linear` and :func:`cosine`; torch:
    ``SequentialLR`` of ``LinearLR`` and ``CosineAnnealingLR``."""
    peak_value = _real(peak_value, "peak_value")
    warmup_steps = _steps(warmup_steps, "warmup_steps")
    decay_steps = _steps(decay_steps, "decay_steps", 1)
    end_value = _real(end_value, "end_value")
    if decay_steps <= warmup_steps:
        raise ValueError(f"decay_steps ({decay_steps}) counts the warmup: it must exceed "
                         f"warmup_steps ({warmup_steps})")
    alpha = 0.0 if peak_value == 0 else end_value / peak_value
    return join([linear(init_value, peak_value, warmup_steps),
                 cosine(peak_value, decay_steps - warmup_steps, alpha, exponent)],
                [warmup_steps])


def one_cycle(total_steps: int, max_lr: float, pct_start: float = 0.3,
              div_factor: float = 25.0, final_div_factor: float = 1e4,
              anneal: str = "cos", three_phase: bool = False) -> Schedule:
    """The lr of torch's ``OneCycleLR`` (Smith & Topin 2017), step by step: from
    ``max_lr / div_factor`` up to ``max_lr`` at step ``pct_start * total_steps - 1``, then
    down to ``max_lr / (div_factor * final_div_factor)`` at step ``total_steps - 1``
    (``three_phase``: back to the start value at ``2 * pct_start * total_steps - 2`` first,
    as torch); each phase ``anneal="cos"`` (``end + (start - end) * (1 + cos(pi * p)) / 2``)
    or ``"linear"``. Steps beyond ``total_steps`` are an error, as in torch. NumPy
    equivalent: those phases with ``np.interp``/``np.cos``."""
    total_steps = _steps(total_steps, "total_steps", 1)
    max_lr = _real(max_lr, "max_lr", 0.0)
    pct_start = _real(pct_start, "pct_start", 0.0)
    if not 0 < pct_start < 1:
        raise ValueError(f"pct_start must be in (0, 1), got {pct_start!r}")
    div_factor = _real(div_factor, "div_factor", 0.0, strict=True)
    final_div_factor = _real(final_div_factor, "final_div_factor", 0.0, strict=True)
    if anneal not in ("cos", "linear"):
        raise ValueError(f"anneal must be 'cos' or 'linear', got {anneal!r}")
    initial = max_lr / div_factor
    final = initial / final_div_factor
    up = float(pct_start * total_steps) - 1
    phases = ([(up, initial, max_lr), (2 * float(pct_start * total_steps) - 2, max_lr, initial),
               (total_steps - 1, initial, final)] if three_phase
              else [(up, initial, max_lr), (total_steps - 1, max_lr, final)])

    def anneal_between(start: float, end: float, pct: float) -> float:
        if anneal == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def schedule(step: int) -> float:
        step = _step_of(step)
        if step > total_steps:
            raise ValueError(f"one_cycle has {total_steps} steps, asked for step {step}")
        begin = 0.0
        for i, (end_step, start_lr, end_lr) in enumerate(phases):
            if step <= end_step or i == len(phases) - 1:
                return anneal_between(start_lr, end_lr, (step - begin) / (end_step - begin))
            begin = end_step
        raise AssertionError("unreachable")
    return schedule
