# Adagrad: functional, in place, one C call per list.

def adagrad(params, grads, state_sums, *, step, lr=1e-2, lr_decay=0.0, eps=1e-10,
            weight_decay=0.0, decay="l2", max_lr=None, cautious_decay=False, decay_to=None,
            maximize=False, nonfinite="propagate", grad_scale=1.0, max_grad_norm=None,
            rounding="stochastic", rng=None, compensation=None, stats=None):
    """One Adagrad step, in place, with weight decay fused in (torch.optim.Adagrad's algorithm).

    With the step's learning rate ``clr = lr / (1 + (step - 1) * lr_decay)``, for each
    parameter ``w`` with gradient ``g`` and sum of squared gradients ``s``::

        g = g / grad_scale, times the clip factor of max_grad_norm (see below)
        g = -g                                  if maximize
        g = g + weight_decay * w                decay="l2" (torch Adagrad's weight_decay)
        s = s + g**2
        w = w * (1 - clr * weight_decay)        decay="decoupled" ("independent", "corrected":
                                                as :func:`sgd`, with clr for lr)
        w = w - clr * g / (sqrt(s) + eps)
        w = sign(w) * max(|w| - clr * weight_decay, 0)   decay="l1"

    NumPy equivalent: the lines above; pywd makes one pass. torch equivalent:
    ``torch.optim.Adagrad`` (``decay="l2"``, the default; its ``initial_accumulator_value``
    is the starting value of ``state_sums``).

    Defaults are those of the optimiser class of the same name (torch's meaning of
    ``weight_decay`` for that name): ``sgd``, ``adam``, ``rmsprop``, ``adagrad`` decay as L2
    (``decay="l2"``); ``sgdw``, ``adamw``, ``lion`` decoupled.

    Parameters
    ----------
    params, grads : ndarray or list/tuple of ndarray
        Weights (updated in place) and gradients (only read): float32 or float64, or
        bfloat16/float16 storage computed in float32 (see rounding).
    state_sums : ndarray or list/tuple of ndarray
        Sums of squared gradients, like params, updated in place.
    step : int
        The step being taken, >= 1.
    lr : float, default 1e-2
        Learning rate, >= 0.
    lr_decay : float
        Learning-rate decay per step, >= 0.
    eps : float
        Added to the denominator, >= 0.
    weight_decay, decay, max_lr, cautious_decay, decay_to
        As :func:`sgd`, with ``clr`` as the learning rate.
    maximize : bool
        Ascend the objective instead of descending it.
    {stats_option}
    {grad_options}
    {lowp_options}

    Raises
    ------
    TypeError, ValueError
        As :func:`sgd`, plus step < 1; before any array is modified.
    """
    cdef pywd_adagrad_hyper h
    check_adagrad_hyper(&h, step=step, lr=lr, lr_decay=lr_decay, eps=eps, decay=decay,
                        weight_decay=weight_decay, max_lr=max_lr,
                        cautious_decay=cautious_decay, maximize=maximize)
    return adagrad_update(&h, params, grads, state_sums, decay_to, compensation, nonfinite,
                          grad_scale, max_grad_norm, rounding, rng, h.step, stats=stats)
