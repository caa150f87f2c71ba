"""Choosing weight decay: which parameters get it, how large it should be, and what it does.

``param_groups_weight_decay`` splits a model's parameters into the two param groups that
modern recipes use (timm's rule: no decay for biases and other 1-d parameters, such as the
weights of normalisation layers); ``normalized_weight_decay`` scales a coefficient with the
number of updates a run makes (Loshchilov & Hutter 2019). ``timescale``,
``weight_decay_for_timescale`` and ``update_weights`` read decoupled decay as an exponential
moving average of the updates (Wang & Aitchison 2024); ``rotational_equilibrium`` predicts
the norm and the angle per step that decay sets for weights followed by a normalisation
layer (Kosson et al. 2024).
"""
import fnmatch
import math
import numbers
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from . import _kernels

__all__ = ["param_groups_weight_decay", "normalized_weight_decay", "timescale",
           "weight_decay_for_timescale", "update_weights", "rotational_equilibrium",
           "Timescale", "Equilibrium"]


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


# ------------------------------------------------------------------------ the timescale view
TIMESCALE_RULES = ("decoupled", "independent", "corrected")


class Timescale(NamedTuple):
    """A decay's timescale: in iterations, and in epochs where the batch and dataset sizes
    are known (else None). Arrays for a schedule of lrs, one value per step."""
    iterations: Any
    epochs: Any


def _positive(name: str, value: Any, zero: bool = False) -> float:
    """A finite real number > 0 (>= 0 with zero), as a float; else a ValueError naming it."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool) \
            or not math.isfinite(value) or value < 0 or (value == 0 and not zero):
        raise ValueError(f"{name} must be a finite number {'>= 0' if zero else '> 0'}, "
                         f"got {value!r}")
    return float(value)


def _lrs(lr: Any) -> tuple[np.ndarray, bool]:
    """lr as a float64 array (a schedule: one lr per step), and whether it was one number."""
    if isinstance(lr, numbers.Real) and not isinstance(lr, bool):
        return np.array([_positive("lr", lr, zero=True)]), True
    if isinstance(lr, (str, bytes, bool)):
        raise TypeError(f"lr must be a number or a sequence of per-step lrs, got {_kind(lr)}")
    try:
        lrs = np.array(lr, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"lr must be a number or a sequence of per-step lrs, got "
                        f"{_kind(lr)}") from None
    if lrs.ndim != 1 or lrs.size == 0 or not np.all(np.isfinite(lrs)) or np.any(lrs < 0):
        raise ValueError(f"lr must be a number or a non-empty 1-d sequence of finite lrs "
                         f">= 0, got {_kind(lr)}")
    return lrs, False


def _shrink(lrs: np.ndarray, weight_decay: float, decay: str, max_lr: Any) -> np.ndarray:
    """Each step's fraction of the weights that the decay removes (pywd's rules)."""
    if decay not in TIMESCALE_RULES:
        raise ValueError(f"decay must be one of {TIMESCALE_RULES} (the rules that shrink the "
                         f"weights by a factor; under \"l2\" the decay passes through the "
                         f"optimiser's normalisation and under \"l1\" it subtracts), got "
                         f"{decay!r}")
    if decay == "decoupled":
        return lrs * weight_decay
    peak = lrs.max() if max_lr is None else _positive("max_lr", max_lr)
    if peak == 0:
        return np.zeros_like(lrs)
    return weight_decay * lrs / peak * (lrs if decay == "corrected" else 1.0)


def _iterations_per_epoch(batch_size: Any, dataset_size: Any) -> float | None:
    if batch_size is None and dataset_size is None:
        return None
    if batch_size is None or dataset_size is None:
        raise ValueError("epochs need both batch_size and dataset_size (an epoch is "
                         "dataset_size / batch_size iterations)")
    return _positive("dataset_size", dataset_size) / _positive("batch_size", batch_size)


def timescale(lr: Any, weight_decay: float, *, batch_size: int | None = None,
              dataset_size: int | None = None, decay: str = "decoupled",
              max_lr: float | None = None) -> Timescale:
    """How many iterations the weights remember (Wang & Aitchison, "How to set AdamW's weight
    decay as you scale model and dataset size", ICML 2025, arXiv 2405.13698).

    With decoupled decay a step is ``w = (1 - lr*wd) * w - lr * u``, that is
    ``w = (1 - 1/tau) * w + (1/tau) * (-u / wd)``: the weights are an exponential moving
    average of the updates ``-u / wd`` with timescale ``tau = 1 / (lr * wd)`` iterations,
    ``tau * batch_size / dataset_size`` epochs. Their finding: the best timescale in epochs
    stays about the same as the model and the dataset grow (so ``wd`` should follow
    ``batch_size / (lr * dataset_size)``: :func:`weight_decay_for_timescale`); for
    single-epoch pre-training, Bergsma et al. ("Power Lines", arXiv 2505.13738) find the best
    ``tau`` as a fraction of the run falls as a power law in tokens per parameter.

    ``lr``: a number, or a schedule (one lr per step: then one timescale per step, the
    memory at that step; :func:`update_weights` gives what a whole scheduled run keeps).
    ``decay``: pywd's rule (``"independent"``: the step shrinks by ``wd * lr / max_lr``;
    ``"corrected"``: ``wd * lr**2 / max_lr``; ``max_lr`` defaults to the schedule's
    largest lr, as a class defaults it to the lr it was built with). A step that does not
    shrink (lr or wd 0) has an infinite timescale.

    Limits: the EMA reading assumes the updates ``u`` do not depend on the weights' scale
    (Adam's and Lion's normalised updates, roughly); it does not hold for ``"l2"`` decay
    through Adam (refused), and it is the memory of the weights, not a claim about the loss.

    NumPy equivalent: ``1 / (lr * weight_decay)``; torch has no helper.
    """
    wd = _positive("weight_decay", weight_decay, zero=True)
    lrs, scalar = _lrs(lr)
    per_epoch = _iterations_per_epoch(batch_size, dataset_size)
    shrink = _shrink(lrs, wd, decay, max_lr)
    with np.errstate(divide="ignore"):
        iterations = np.where(shrink > 0, 1.0 / np.where(shrink > 0, shrink, 1.0), np.inf)
    epochs = None if per_epoch is None else iterations / per_epoch
    if scalar:
        return Timescale(float(iterations[0]), None if epochs is None else float(epochs[0]))
    return Timescale(iterations, epochs)


def weight_decay_for_timescale(lr: float, *, iterations: float | None = None,
                               epochs: float | None = None, batch_size: int | None = None,
                               dataset_size: int | None = None) -> float:
    """The decoupled weight decay that gives a timescale (:func:`timescale`) at this lr:
    ``wd = 1 / (lr * iterations)``, or from epochs ``wd = batch_size / (lr * epochs *
    dataset_size)``. So to keep a tuned run's timescale when the lr, the batch size or the
    dataset changes (Wang & Aitchison 2024; Bergsma et al. 2025 verify that the best ``wd``
    grows linearly with the batch size), pass the tuned run's ``timescale(...).epochs``
    with the new sizes. Give ``iterations`` or ``epochs`` (with both sizes), not both.

    NumPy equivalent: ``batch_size / (lr * epochs * dataset_size)``; torch has no helper.
    """
    lr = _positive("lr", lr)
    per_epoch = _iterations_per_epoch(batch_size, dataset_size)
    if (iterations is None) == (epochs is None):
        raise ValueError("give the timescale as iterations= or as epochs= (one of them)")
    if epochs is not None:
        if per_epoch is None:
            raise ValueError("a timescale in epochs needs batch_size and dataset_size")
        iterations = _positive("epochs", epochs) * per_epoch
    return 1.0 / (lr * _positive("iterations", iterations))


def update_weights(lrs: Any, weight_decay: float, *, decay: str = "decoupled",
                   max_lr: float | None = None) -> tuple[float, np.ndarray]:
    """What a run's final weights are made of, under any lr schedule: with each step
    ``w_t = (1 - s_t) * w_{t-1} - lr_t * u_t`` (``s_t`` the step's shrink, ``lr_t * wd``
    for decoupled decay), the final weights are ``a * w_0 - sum_t c_t * u_t`` with
    ``a = prod_t (1 - s_t)`` and ``c_t = lr_t * prod_{j > t} (1 - s_j)``. Returns ``(a,
    c)``, c one coefficient per step: how much each step's update still counts at the end
    (for a constant lr, ``lr * (1 - lr*wd)**(T - t)``: the EMA of :func:`timescale`).

    NumPy equivalent: the two products above, by ``np.cumprod`` from the end; torch has no
    helper.
    """
    wd = _positive("weight_decay", weight_decay, zero=True)
    rates, _ = _lrs(lrs)
    keep = 1.0 - _shrink(rates, wd, decay, max_lr)
    if np.any(keep < 0):
        raise ValueError("a step shrinks the weights by more than all of them (lr * wd > 1): "
                         "no EMA to read")
    after = np.append(np.cumprod(keep[::-1])[::-1][1:], 1.0)   # prod over the later steps
    return float(np.prod(keep)), rates * after


# ------------------------------------------------------------------- rotational equilibrium
class Equilibrium(NamedTuple):
    """The expected angle a step turns the weights (radians) and their norm, in equilibrium;
    norm is None where the helper was not given what it depends on."""
    angular_update: float
    norm: float | None


EQUILIBRIUM_OPTIMISERS = ("adamw", "sgd", "lion")


def rotational_equilibrium(optimizer: str, lr: float, weight_decay: float, *,
                           betas: tuple[float, float] | None = None, momentum: float = 0.0,
                           numel: int | None = None,
                           grad_norm: float | None = None) -> Equilibrium:
    """The equilibrium that weight decay sets for scale-invariant weights (a layer followed
    by a normalisation), predicted by Kosson, Messmer & Jaggi, "Rotational Equilibrium: How
    Weight Decay Balances Learning Across Neural Networks", ICML 2024, arXiv 2305.17212 (and
    van Laarhoven 2017 for SGD): the decay shrinks the norm, the updates, orthogonal to the
    weights, grow it, and the two balance at a norm where each step turns the weights by an
    angle set by lr and wd alone. So for such weights decay acts as a controller of the
    effective learning rate, not as a regulariser.

    ``optimizer``:

    - ``"adamw"`` (decoupled decay; ``betas`` default (0.9, 0.999)): angle
      ``sqrt(2*lr*wd * (1 - beta1) / (1 + beta1))``, norm ``sqrt(lr * numel / (2*wd))``
      (Adam's normalised update has about unit rms per element);
    - ``"sgd"`` (torch's SGD: ``"l2"`` decay into the gradient, then ``momentum``): angle
      ``sqrt(2*lr*wd / (1 + momentum))``, norm ``(lr / (2*wd*(1 - momentum)))**0.25 *
      sqrt(grad_norm)``, with ``grad_norm`` the loss gradient's norm when the weights' norm is
      1 (it scales as 1 / norm for such weights);
    - ``"lion"`` (decoupled decay; ``betas`` default (0.9, 0.99)): angle
      ``sqrt(pi/2) * sqrt(2*lr*wd) * sqrt((1 - beta1)**2 + beta1**2 * (1 - beta2) /
      (1 + beta2))``, norm ``lr * sqrt(numel) / angle`` (the sign update's norm is
      ``sqrt(numel)``).

    The norm needs ``numel`` (the tensor's, or per neuron the row's, element count) for
    AdamW and Lion and ``grad_norm`` for SGD; without them it is None. Limits: the
    paper's random-walk model (gradients of random direction, orthogonal to the weights;
    the steady state after a few ``1/(lr*wd)`` steps; ``lr*wd`` small); real gradients
    that keep a direction turn the weights less per step. Tested against simulated random
    walks with pywd's optimisers.

    NumPy equivalent: the formulas above; torch has no helper.
    """
    if optimizer not in EQUILIBRIUM_OPTIMISERS:
        raise ValueError(f"optimizer must be one of {EQUILIBRIUM_OPTIMISERS} (the ones the "
                         f"paper gives an equilibrium for), got {optimizer!r}")
    lr, wd = _positive("lr", lr), _positive("weight_decay", weight_decay)
    if optimizer == "sgd":
        if betas is not None:
            raise ValueError("SGD takes momentum=, not betas=")
        if not isinstance(momentum, numbers.Real) or isinstance(momentum, bool) \
                or not 0 <= momentum < 1:
            raise ValueError(f"momentum must be a number in [0, 1), got {momentum!r}")
        if numel is not None:
            raise ValueError("SGD's equilibrium norm depends on grad_norm, not numel")
        angle = math.sqrt(2 * lr * wd / (1 + momentum))
        norm = None if grad_norm is None else (
            (lr / (2 * wd * (1 - momentum))) ** 0.25 * math.sqrt(_positive("grad_norm",
                                                                          grad_norm)))
        return Equilibrium(angle, norm)
    if momentum != 0.0 or grad_norm is not None:
        raise ValueError(f"{optimizer} takes betas= and numel=, not momentum= or grad_norm=")
    beta1, beta2 = (0.9, 0.999 if optimizer == "adamw" else 0.99) if betas is None else betas
    for name, beta in (("betas[0]", beta1), ("betas[1]", beta2)):
        if not isinstance(beta, numbers.Real) or isinstance(beta, bool) or not 0 <= beta < 1:
            raise ValueError(f"{name} must be a number in [0, 1), got {beta!r}")
    size = None if numel is None else _count(numel)
    if optimizer == "adamw":
        angle = math.sqrt(2 * lr * wd * (1 - beta1) / (1 + beta1))
        return Equilibrium(angle, None if size is None else math.sqrt(lr * size / (2 * wd)))
    angle = math.sqrt(math.pi / 2) * math.sqrt(2 * lr * wd) * math.sqrt(
        (1 - beta1) ** 2 + beta1 ** 2 * (1 - beta2) / (1 + beta2))
    return Equilibrium(angle, None if size is None else lr * math.sqrt(size) / angle)


def _count(numel: Any) -> int:
    if not isinstance(numel, numbers.Integral) or isinstance(numel, bool) or numel < 1:
        raise ValueError(f"numel must be an int >= 1 (the weights' element count), got "
                         f"{numel!r}")
    return int(numel)
