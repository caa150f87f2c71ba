# RMSprop: functional, in place, one C call per list.

def rmsprop(params, grads, square_avgs, momentum_buffers=None, grad_avgs=None, *, lr=1e-2,
            alpha=0.99, eps=1e-8, weight_decay=0.0, decay="l2", max_lr=None,
            cautious_decay=False, decay_to=None, momentum=0.0, centered=False,
            maximize=False, nonfinite="propagate", grad_scale=1.0, max_grad_norm=None,
            step=None, rounding="stochastic", rng=None, compensation=None, stats=None):
    """One RMSprop step, in place, with weight decay fused in (torch.optim.RMSprop's algorithm).

    For each parameter ``w`` with gradient ``g`` and running mean square ``s``::

        g = g / grad_scale, times the clip factor of max_grad_norm (see below)
        g = -g                                  if maximize
        g = g + weight_decay * w                decay="l2" (torch RMSprop's weight_decay)
        s = alpha * s + (1 - alpha) * g**2
        a = alpha * a + (1 - alpha) * g         if centered (a: the gradient's running mean)
        d = sqrt(s - a**2) + eps if centered else sqrt(s) + eps
        b = momentum * b + g / d; u = b         if momentum > 0 (else u = g / d)
        w = w * (1 - lr * weight_decay)         decay="decoupled" ("independent", "corrected":
                                                as :func:`sgd`)
        w = w - lr * u
        w = sign(w) * max(|w| - lr * weight_decay, 0)    decay="l1"

    NumPy equivalent: the lines above, in many passes; pywd makes one. torch equivalent:
    ``torch.optim.RMSprop`` (``decay="l2"``, the default).

    Defaults are those of the optimiser class of the same name (torch's meaning of
    ``weight_decay`` for that name): ``sgd``, ``adam``, ``rmsprop``, ``adagrad`` decay as L2
    (``decay="l2"``); ``sgdw``, ``adamw``, ``lion`` decoupled.

    Parameters
    ----------
    params, grads : ndarray or list/tuple of ndarray
        Weights (updated in place) and gradients (only read): float32 or float64, or
        bfloat16/float16 storage computed in float32 (see rounding).
    square_avgs : ndarray or list/tuple of ndarray
        Running mean squares ``s``, like params, updated in place (start at zeros).
    momentum_buffers : ndarray or list/tuple of ndarray, optional
        Required when ``momentum > 0``; updated in place (start at zeros).
    grad_avgs : ndarray or list/tuple of ndarray, optional
        Required when ``centered``; updated in place (start at zeros).
    lr : float, default 1e-2
        Learning rate, >= 0.
    alpha : float
        Smoothing constant, in [0, 1].
    eps : float
        Added to the denominator, >= 0.
    weight_decay, decay, max_lr, cautious_decay, decay_to
        As :func:`sgd`.
    momentum : float
        Momentum factor, >= 0.
    centered : bool
        Normalise by the gradient's estimated variance instead of its mean square.
    maximize : bool
        Ascend the objective instead of descending it.
    {stats_option}
    {grad_options}
    step : int, optional
        The step being taken (from 1): needed only for stochastic rounding.
    {lowp_options}

    Raises
    ------
    TypeError, ValueError
        As :func:`sgd`, before any array is modified.
    """
    cdef pywd_rmsprop_hyper h
    check_rmsprop_hyper(&h, lr=lr, alpha=alpha, eps=eps, decay=decay,
                        weight_decay=weight_decay, max_lr=max_lr,
                        cautious_decay=cautious_decay, momentum=momentum, centered=centered,
                        maximize=maximize)
    if h.centered and (any_quantized(square_avgs) or any_quantized(grad_avgs)):
        raise ValueError(CENTERED_8BIT)
    return rmsprop_update(&h, params, grads, square_avgs, momentum_buffers, grad_avgs, decay_to,
                          compensation, nonfinite, grad_scale, max_grad_norm, rounding, rng, step,
                          stats=stats)
