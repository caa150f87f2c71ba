# Rprop: functional, in place, one C call per list.

def rprop(params, grads, prevs, step_sizes, *, lr=1e-2, etaminus=0.5, etaplus=1.2,
          step_size_min=1e-6, step_size_max=50.0, weight_decay=0.0, decay="l2", max_lr=None,
          cautious_decay=False, decay_to=None, maximize=False, nonfinite="propagate",
          grad_scale=1.0, max_grad_norm=None, step=None, rounding="stochastic", rng=None,
          compensation=None, stats=None):
    """One Rprop step (Riedmiller & Braun 1993, resilient backpropagation, without
    backtracking), in place, with weight decay fused in: ``torch.optim.Rprop``'s step.

    Each element has its own step size ``s``, which grows while its gradient keeps its sign
    and shrinks when the sign flips; only the gradient's sign moves the weight. For each
    parameter ``w`` with gradient ``g``, previous gradient ``prev`` and step sizes ``s``::

        g = g / grad_scale, times the clip factor of max_grad_norm (see below)
        g = -g                                  if maximize
        g = g + weight_decay * w                decay="l2"
        s = clip(s * etaplus, lo, hi)           where g * prev > 0
        s = clip(s * etaminus, lo, hi); g = 0   where g * prev < 0 (a flip: no move now)
        s = clip(s, lo, hi)                     where g * prev == 0
        w = w * (1 - lr * weight_decay)         decay="decoupled" ("independent",
                                                "corrected": as :func:`sgd`)
        w = w - sign(g) * s
        w = sign(w) * max(|w| - lr * weight_decay, 0)    decay="l1"
        prev = g

    with ``lo, hi = step_size_min, step_size_max``; a NaN in ``g * prev`` makes that step
    size and weight NaN, as in torch. NumPy equivalent: the lines above with ``np.where``,
    about 15 passes over memory; pywd makes one pass and one C call per list. torch
    equivalent: ``torch.optim.Rprop`` (which has no weight decay: ``weight_decay=0``).

    Defaults are those of the optimiser class of the same name: torch's (``lr=1e-2``,
    ``etas=(0.5, 1.2)``, ``step_sizes=(1e-6, 50)``; ``weight_decay`` as coupled L2).

    Parameters
    ----------
    params, grads : ndarray or list/tuple of ndarray
        Weights (updated in place) and gradients (only read): float32 or float64, or
        bfloat16/float16 storage computed in float32 (see rounding).
    prevs, step_sizes : ndarray or list/tuple of ndarray
        The previous step's gradients (zeroed where the sign flipped) and the per-element
        step sizes (torch's state "prev" and "step_size"), like params, updated in place.
        Start at zeros and at ``lr``.
    lr : float
        Learning rate, >= 0: the step sizes' start (the caller's, as above) and the decay's
        scale (``1 - lr * weight_decay``; the L1 threshold ``lr * weight_decay``).
    etaminus, etaplus : float
        The step sizes' factors after a sign flip and after a kept sign:
        0 < etaminus < 1 < etaplus.
    step_size_min, step_size_max : float
        The step sizes' bounds, 0 <= step_size_min <= step_size_max.
    weight_decay, decay, max_lr, cautious_decay, decay_to
        As :func:`sgd` (the default ``decay="l2"`` adds ``weight_decay * w`` to the
        gradient before its sign is taken).
    {decay_options}
    {stats_option}
    maximize : bool
        Ascend the objective instead of descending it.
    {grad_options}
    step : int, optional
        The step being taken (from 1): needed only for stochastic rounding.
    {lowp_options}

    Raises
    ------
    TypeError, ValueError
        As :func:`sgd`, plus etas not 0 < etaminus < 1 < etaplus, step sizes' bounds
        outside 0 <= min <= max; before any array is modified.
    """
    cdef pywd_rprop_hyper h
    check_rprop_hyper(&h, lr=lr, etaminus=etaminus, etaplus=etaplus,
                      step_size_min=step_size_min, decay=decay, weight_decay=weight_decay,
                      max_lr=max_lr, cautious_decay=cautious_decay, maximize=maximize)
    if not 0.0 < h.etaminus < 1.0 < h.etaplus:
        raise ValueError(f"etaminus and etaplus must be 0 < etaminus < 1 < etaplus, got "
                         f"{etaminus!r}, {etaplus!r}")
    h.step_size_max = check_real(step_size_max, "step_size_max", h.step_size_min, INFINITY)
    return rprop_update(&h, params, grads, prevs, step_sizes, decay_to, compensation, nonfinite,
                        grad_scale, max_grad_norm, rounding, rng, step, stats=stats)
