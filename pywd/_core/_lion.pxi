# Lion: functional, in place, one C call per list.

def lion(params, grads, exp_avgs, *, lr=1e-4, beta1=0.9, beta2=0.99, betas=None, weight_decay=0.0,
         decay="decoupled", max_lr=None, cautious_decay=False, caution=False, decay_to=None,
         maximize=False, nonfinite="propagate", grad_scale=1.0, max_grad_norm=None, step=None,
         rounding="stochastic", rng=None, compensation=None, stats=None, norm_target=None):
    """One Lion step (Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms"),
    in place, with weight decay fused in.

    For each parameter ``w`` with gradient ``g`` and momentum ``m``::

        g = g / grad_scale, times the clip factor of max_grad_norm (see below)
        g = -g                                  if maximize
        g = g + weight_decay * w                decay="l2"
        u = sign(beta1 * m + (1 - beta1) * g)   (0 where that is 0)
        w = w * (1 - lr * weight_decay)         decay="decoupled" (the paper's) ("independent",
                                                "corrected": as :func:`sgd`)
        w = w - lr * u
        w = sign(w) * max(|w| - lr * weight_decay, 0)    decay="l1"
        m = beta2 * m + (1 - beta2) * g

    NumPy equivalent: the lines above; pywd makes one pass. torch has no Lion; this follows
    the paper's Algorithm 2.

    Defaults are those of the optimiser class of the same name (torch's meaning of
    ``weight_decay`` for that name): ``sgd``, ``adam``, ``rmsprop``, ``adagrad`` decay as L2
    (``decay="l2"``); ``sgdw``, ``adamw``, ``lion`` decoupled.

    Parameters
    ----------
    params, grads : ndarray or list/tuple of ndarray
        Weights (updated in place) and gradients (only read): float32 or float64, or
        bfloat16/float16 storage computed in float32 (see rounding).
    exp_avgs : ndarray or list/tuple of ndarray
        Momentum ``m``, like params, updated in place (start at zeros).
    lr : float, default 1e-4
        Learning rate, >= 0 (the paper suggests 3-10x smaller than AdamW's).
    beta1, beta2 : float
        Interpolation and momentum rates, in [0, 1).
    betas : (float, float), optional
        torch's pair, ``betas=(beta1, beta2)``, taken instead of beta1 and beta2 (which
        are then left at their defaults).
    weight_decay, decay, max_lr, cautious_decay, decay_to
        As :func:`sgd` (the paper uses "decoupled", with 3-10x larger weight_decay).
    maximize : bool
        Ascend the objective instead of descending it.
    {caution_option}
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
    beta1, beta2 = torch_betas(betas, (beta1, beta2), (0.9, 0.99))
    cdef pywd_lion_hyper h
    check_lion_hyper(&h, lr=lr, beta1=beta1, beta2=beta2, decay=decay,
                     weight_decay=weight_decay, max_lr=max_lr, cautious_decay=cautious_decay,
                     maximize=maximize)
    check_caution(&h.decay, caution)
    return lion_update(&h, params, grads, exp_avgs, decay_to, compensation, nonfinite, grad_scale,
                       max_grad_norm, rounding, rng, step, stats=stats, norm_target=norm_target)
