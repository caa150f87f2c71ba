# Adamax: functional, in place, one C call per list.

def adamax(params, grads, exp_avgs, exp_infs, *, step, lr=2e-3, beta1=0.9, beta2=0.999, betas=None,
           eps=1e-8, weight_decay=0.0, decay="l2", max_lr=None, cautious_decay=False,
           caution=False, decay_to=None, maximize=False, nonfinite="propagate", grad_scale=1.0,
           max_grad_norm=None, rounding="stochastic", rng=None, compensation=None, stats=None,
           norm_target=None):
    """One Adamax step (Kingma & Ba 2015, section 7.1: Adam with the infinity norm), in
    place, with weight decay fused in: ``torch.optim.Adamax``'s step.

    For each parameter ``w`` with gradient ``g``, first moment ``m`` and infinity norm ``u``,
    at step ``t`` (``step``, counted from 1)::

        g = g / grad_scale, times the clip factor of max_grad_norm (see below)
        g = -g                                  if maximize
        g = g + weight_decay * w                decay="l2" (torch Adamax's weight_decay)
        m = beta1 * m + (1 - beta1) * g
        u = maximum(beta2 * u, |g| + eps)       (NaN propagates, as torch.maximum)
        w = w * (1 - lr * weight_decay)         decay="decoupled" ("independent",
                                                "corrected": as :func:`sgd`)
        w = w - lr / (1 - beta1**t) * m / u
        w = sign(w) * max(|w| - lr * weight_decay, 0)    decay="l1"

    NumPy equivalent: the lines above, about ten passes over memory; pywd makes one pass
    and one C call per list. torch equivalent: ``torch.optim.Adamax`` (``decay="l2"``, the
    default).

    Defaults are those of the optimiser class of the same name: torch's (``lr=2e-3``,
    ``weight_decay`` as coupled L2).

    Parameters
    ----------
    params, grads : ndarray or list/tuple of ndarray
        Weights (updated in place) and gradients (only read): float32 or float64, or
        bfloat16/float16 storage computed in float32 (see rounding).
    exp_avgs, exp_infs : ndarray or list/tuple of ndarray
        First moments and infinity norms (torch's state "exp_avg" and "exp_inf"), like
        params, updated in place. Start at zeros.
    step : int
        The step being taken, >= 1.
    lr : float
        Learning rate, >= 0.
    beta1, beta2 : float
        Decay rates of the moment and of the infinity norm, in [0, 1).
    betas : (float, float), optional
        torch's pair, ``betas=(beta1, beta2)``, taken instead of beta1 and beta2 (which
        are then left at their defaults).
    eps : float
        Added to ``|g|`` before the maximum, >= 0.
    weight_decay, decay, max_lr, cautious_decay, decay_to
        As :func:`sgd` (the default ``decay="l2"`` is torch's).
    {decay_options}
    {caution_option}
    {stats_option}
    maximize : bool
        Ascend the objective instead of descending it.
    {grad_options}
    {lowp_options}

    Raises
    ------
    TypeError, ValueError
        As :func:`sgd`, plus step < 1, betas outside [0, 1), eps < 0; before any array is
        modified.
    """
    beta1, beta2 = torch_betas(betas, (beta1, beta2), (0.9, 0.999))
    cdef pywd_adamax_hyper h
    check_adamax_hyper(&h, step=step, lr=lr, beta1=beta1, beta2=beta2, eps=eps, decay=decay,
                   weight_decay=weight_decay, max_lr=max_lr,
                   cautious_decay=cautious_decay, maximize=maximize)
    check_caution(&h.decay, caution)
    return adamax_update(&h, params, grads, exp_avgs, exp_infs, decay_to, compensation, nonfinite,
                         grad_scale, max_grad_norm, rounding, rng, h.step, stats=stats,
                         norm_target=norm_target)
