# Adadelta: functional, in place, one C call per list.

def adadelta(params, grads, square_avgs, acc_deltas, *, lr=1.0, rho=0.9, eps=1e-6,
             weight_decay=0.0, decay="l2", max_lr=None, cautious_decay=False, decay_to=None,
             maximize=False, nonfinite="propagate", grad_scale=1.0, max_grad_norm=None,
             step=None, rounding="stochastic", rng=None, compensation=None, stats=None):
    """One Adadelta step (Zeiler 2012, "ADADELTA: An Adaptive Learning Rate Method"), in
    place, with weight decay fused in: ``torch.optim.Adadelta``'s step.

    For each parameter ``w`` with gradient ``g``, running mean square ``s`` and running mean
    square of updates ``a``::

        g = g / grad_scale, times the clip factor of max_grad_norm (see below)
        g = -g                                  if maximize
        g = g + weight_decay * w                decay="l2" (torch Adadelta's weight_decay)
        s = rho * s + (1 - rho) * g**2
        d = sqrt(a + eps) / sqrt(s + eps) * g
        a = rho * a + (1 - rho) * d**2
        w = w * (1 - lr * weight_decay)         decay="decoupled" ("independent",
                                                "corrected": as :func:`sgd`)
        w = w - lr * d
        w = sign(w) * max(|w| - lr * weight_decay, 0)    decay="l1"

    NumPy equivalent: the lines above, about 15 passes over memory; pywd makes one pass and
    one C call per list. torch equivalent: ``torch.optim.Adadelta`` (``decay="l2"``, the
    default).

    Defaults are those of the optimiser class of the same name: torch's (``lr=1.0``,
    ``rho=0.9``, ``eps=1e-6``, ``weight_decay`` as coupled L2).

    Parameters
    ----------
    params, grads : ndarray or list/tuple of ndarray
        Weights (updated in place) and gradients (only read): float32 or float64, or
        bfloat16/float16 storage computed in float32 (see rounding).
    square_avgs, acc_deltas : ndarray or list/tuple of ndarray
        The running mean squares of gradients and of updates (torch's state "square_avg" and
        "acc_delta"), like params, updated in place. Start at zeros.
    lr : float
        Scales the update, >= 0 (Zeiler's method has none: 1).
    rho : float
        Decay rate of both running averages, in [0, 1].
    eps : float
        Added inside both square roots, >= 0.
    weight_decay, decay, max_lr, cautious_decay, decay_to
        As :func:`sgd` (the default ``decay="l2"`` is torch's).
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
        As :func:`sgd`, plus rho outside [0, 1], eps < 0; before any array is modified.
    """
    cdef pywd_adadelta_hyper h
    check_adadelta_hyper(&h, lr=lr, rho=rho, eps=eps, decay=decay, weight_decay=weight_decay,
                         max_lr=max_lr, cautious_decay=cautious_decay, maximize=maximize)
    return adadelta_update(&h, params, grads, square_avgs, acc_deltas, decay_to, compensation,
                           nonfinite, grad_scale, max_grad_norm, rounding, rng, step, stats=stats)
