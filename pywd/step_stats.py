"""What a step did to each tensor: its statistics, from sums the update's own pass adds.

``pywd.adamw(..., stats=True).stats``, or a class's ``last_stats`` after a step with
``track_stats = True``, is a :class:`StepStats`: per tensor, the weight norm before and after,
the update's norm, the angle the step turned the weights by, and how much of the update is
the decay's. ``plot`` draws a run's history of them.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["StepStats", "plot"]

SUMS = 4          # per tensor: o.o, d.d, o.d, c.c (csrc/optim/driver.h's step_sums)
FIELDS = ("previous_norm", "weight_norm", "update_norm", "angular_update", "decay_norm",
          "decay_share")


class StepStats:
    """A step's statistics per tensor, from the four sums the kernel adds in its own pass
    (``o.o, d.d, o.d, c.c`` below; per tile of 512 elements in the arrays' float type, then
    in float64 by fixed blocks: the same at any thread count). With ``o`` a tensor's weights
    before the step, ``w`` after, ``d = w - o`` and ``c`` the displacement the decay alone
    makes from ``o`` (``rate * o`` for the multiplicative rules, before cautious decay
    withholds any; ``min(|o|, lr*wd)`` for "l1"; ``lr*wd*o`` for "l2", its size before the
    optimiser transforms it: exact for plain SGD), each relative to the anchor with
    ``decay_to``:

    - ``previous_norm = |o|``, ``weight_norm = |w| = sqrt(o.o + 2 o.d + d.d)``,
      ``update_norm = |d|``;
    - ``angular_update``: the angle between o and w in radians, ``atan2(|d_perp| * |o|,
      o.o + o.d)`` with ``|d_perp|**2 = d.d - (o.d)**2 / o.o`` (NaN where o is 0; float32
      sums resolve it to about 1e-3 of ``|d| / |o|``: an update almost parallel to the
      weights, pure decay, turns them by less than that);
    - ``decay_norm = |c|`` and ``decay_share = |c| / |d|`` (NaN where d is 0).

    Arrays, one entry per tensor of the call (or per parameter of an optimiser, NaN for one
    that did not step); ``names`` the parameters' names where the optimiser has them. 16-bit
    and 8-bit storage: the float32 update before rounding. NumPy equivalent:
    ``np.linalg.norm(w - o)`` and so on per tensor, from a copy of the weights taken before
    the step; torch: the same on ``p.detach().clone()``.
    """

    __slots__ = ("sums", "names")

    def __init__(self, sums: Any, names: Sequence[str] | None = None) -> None:
        sums = np.array(sums, dtype=np.float64)
        if sums.ndim != 2 or sums.shape[1] != SUMS:
            raise ValueError(f"sums must have shape (tensors, {SUMS}), got {sums.shape}")
        if names is not None and len(names) != len(sums):
            raise ValueError(f"{len(names)} names for {len(sums)} tensors")
        self.sums = sums
        self.names = None if names is None else list(names)

    @classmethod
    def from_sums(cls, sums: Any, names: Sequence[str] | None = None) -> StepStats:
        """The statistics of the kernel's raw sums (a copy): ``stats=`` given an array."""
        return cls(sums, names)

    def __len__(self) -> int:
        return len(self.sums)

    @property
    def previous_norm(self) -> np.ndarray:
        return np.sqrt(self.sums[:, 0])

    @property
    def weight_norm(self) -> np.ndarray:
        oo, dd, od = self.sums[:, 0], self.sums[:, 1], self.sums[:, 2]
        return np.sqrt(np.maximum(oo + 2 * od + dd, 0.0))

    @property
    def update_norm(self) -> np.ndarray:
        return np.sqrt(self.sums[:, 1])

    @property
    def angular_update(self) -> np.ndarray:
        oo, dd, od = self.sums[:, 0], self.sums[:, 1], self.sums[:, 2]
        with np.errstate(invalid="ignore", divide="ignore"):
            perp = np.sqrt(np.maximum(dd - od * od / oo, 0.0))
            angle = np.arctan2(perp * np.sqrt(oo), oo + od)
        return np.where(oo > 0, angle, np.nan)

    @property
    def decay_norm(self) -> np.ndarray:
        return np.sqrt(self.sums[:, 3])

    @property
    def decay_share(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.sums[:, 1] > 0, self.decay_norm / self.update_norm, np.nan)

    def as_dict(self) -> dict[str, np.ndarray]:
        """Every statistic by name (the FIELDS), arrays over the tensors."""
        return {field: getattr(self, field) for field in FIELDS}

    def __repr__(self) -> str:
        rows = [f"{'tensor':>10} {'|w|':>10} {'|update|':>10} {'angle':>10} {'decay':>7}"]
        labels = self.names or [str(i) for i in range(len(self))]
        for label, w, u, a, s in zip(labels, self.weight_norm, self.update_norm,
                                     self.angular_update, self.decay_share):
            rows.append(f"{label[-10:]:>10} {w:10.4g} {u:10.4g} {a:10.3g} {s:7.1%}")
        return "StepStats(\n" + "\n".join(rows) + "\n)"


def plot(history: Sequence[StepStats], ax: Any = None, field: str = "angular_update",
         labels: Sequence[str] | None = None) -> Any:
    """Draws one statistic of a run (``history``: a StepStats per step, as a class's
    ``last_stats`` gives them) against the step, a line per tensor, on a matplotlib axes
    (a new figure's without ``ax``; matplotlib is the ``demo`` extra). ``field``: one of
    StepStats' statistics. Returns the axes.

    NumPy equivalent: ``np.array([getattr(s, field) for s in history])``, each column a
    tensor; torch has no such helper.
    """
    if field not in FIELDS:
        raise ValueError(f"field must be one of {FIELDS}, got {field!r}")
    if not history:
        raise ValueError("history is empty: nothing to plot")
    values = np.array([getattr(s, field) for s in history])
    if ax is None:
        import matplotlib.pyplot as plt
        _, ax = plt.subplots()
    names = labels or history[-1].names or [f"tensor {i}" for i in range(values.shape[1])]
    for column, name in zip(values.T, names):
        ax.plot(np.arange(1, len(values) + 1), column, label=name)
    ax.set(xlabel="step", ylabel=field.replace("_", " "))
    if field in ("angular_update", "update_norm", "decay_norm"):
        ax.set_yscale("log")
    ax.legend(fontsize="small")
    return ax
