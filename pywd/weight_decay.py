"""Choosing weight decay: which parameters get it, and how large it should be.

``param_groups_weight_decay`` splits a model's parameters into the two param groups that
modern recipes use (timm's rule: no decay for biases and other 1-d parameters, such as the
weights of normalisation layers); ``normalized_weight_decay`` scales a coefficient with the
number of updates a run makes (Loshchilov & Hutter 2019).
"""
import fnmatch
import math
import numbers
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from . import _kernels

__all__ = ["param_groups_weight_decay", "normalized_weight_decay"]


def param_groups_weight_decay(named_params: Iterable[tuple[str, Any]],
                              weight_decay: float = 1e-5,
                              no_weight_decay_list: Sequence[str] = ()) -> list[dict[str, Any]]:
    """timm's ``param_groups_weight_decay``: a parameter gets ``weight_decay=0`` when it has
    at most one dimension (biases, norm scales), its name ends with ".bias", or its name
    matches a pattern of ``no_weight_decay_list`` (``fnmatch``: "pos_embed", "*.norm*");
    every other parameter gets ``weight_decay``.

    ``named_params``: (name, array) pairs, e.g. a dict's ``items()`` or a torch model's
    ``named_parameters()`` (tensors are viewed as NumPy arrays of the same memory, never
    copied; those that do not require grad are left out, as timm does). Returns
    ``[{"params": [...], "weight_decay": 0.0}, {"params": [...], "weight_decay":
    weight_decay}]`` with (name, array) pairs, for any pywd.optim class; a group that would
    be empty is left out (pywd's optimisers refuse empty groups).

    Example::

        opt = pywd.optim.AdamW(param_groups_weight_decay(params.items(), 0.05), lr=1e-3)
    """
    return _split_by_decay(named_params, weight_decay, no_weight_decay_list, _as_array)


def _as_array(name: str, param: Any) -> Any:
    if hasattr(param, "detach"):
        param = param.detach()                     # a torch tensor: its memory, no grad
    return _kernels._as_view(param, name)


def _split_by_decay(named_params: Iterable[tuple[str, Any]], weight_decay: float,
                    no_weight_decay_list: Sequence[str],
                    member: Callable[[str, Any], Any]) -> list[dict[str, Any]]:
    """param_groups_weight_decay's rule; `member(name, param)` is what a group holds for a
    parameter (it checks the parameter; its result has ``ndim``)."""
    if not isinstance(weight_decay, numbers.Real) or isinstance(weight_decay, bool) \
            or not math.isfinite(weight_decay) or weight_decay < 0:
        raise ValueError(f"weight_decay must be a finite number >= 0, got {weight_decay!r}")
    if isinstance(no_weight_decay_list, str):
        raise TypeError("no_weight_decay_list must be a list of names or patterns, not one "
                        "str")
    patterns = list(no_weight_decay_list)
    no_decay: list[tuple[str, Any]] = []
    decay: list[tuple[str, Any]] = []
    if isinstance(named_params, Mapping):
        raise TypeError("named_params must give (name, array) pairs: pass the dict's "
                        ".items(), or model.named_parameters()")
    for i, entry in enumerate(named_params):
        if not (isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[0], str)):
            raise TypeError(f"named_params must give (name, array) pairs, as a dict's "
                            f".items() or model.named_parameters() do (the names choose "
                            f"what is not decayed); entry {i} is {_kind(entry)}")
        name, param = entry
        if getattr(param, "requires_grad", True) is False:
            continue                                   # a frozen torch parameter
        kept = member(name, param)
        if kept.ndim <= 1 or name.endswith(".bias") or any(
                fnmatch.fnmatchcase(name, p) for p in patterns):
            no_decay.append((name, kept))
        else:
            decay.append((name, kept))
    groups = [{"params": no_decay, "weight_decay": 0.0},
              {"params": decay, "weight_decay": float(weight_decay)}]
    return [g for g in groups if g["params"]]


def _kind(value: Any) -> str:
    """A short description of a value (an array's repr would fill the screen)."""
    shape, dtype = getattr(value, "shape", None), getattr(value, "dtype", None)
    if shape is not None and dtype is not None:
        return f"an array of shape {tuple(shape)} and dtype {dtype}"
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 40 else text[:37] + '...'}"


def normalized_weight_decay(wd_norm: float, batch_size: int, n_train: int,
                            epochs: float) -> float:
    """The weight decay for a run from a normalised one (Loshchilov & Hutter 2019,
    "Decoupled Weight Decay Regularization", appendix B):
    ``wd_norm * sqrt(batch_size / (n_train * epochs))``, so that the total decay over a run
    does not depend on how many updates it makes (their default wd_norm: 0.05 for AdamW on
    image classification; the result goes to weight_decay with decay="decoupled").
    NumPy equivalent: ``wd_norm * np.sqrt(batch_size / (n_train * epochs))``; torch has no
    helper: pass the result as ``torch.optim.AdamW``'s ``weight_decay``."""
    values = dict(wd_norm=wd_norm, batch_size=batch_size, n_train=n_train, epochs=epochs)
    for name, value in values.items():
        if not isinstance(value, numbers.Real) or isinstance(value, bool) \
                or not math.isfinite(value) or value < 0 or (value == 0 and name != "wd_norm"):
            bound = ">= 0" if name == "wd_norm" else "> 0"
            raise ValueError(f"{name} must be a finite number {bound}, got {value!r}")
    return float(wd_norm) * math.sqrt(batch_size / (n_train * epochs))
