# NAdam: functional, in place, one C call per list.

from libc.math cimport pow


def nadam(params, grads, exp_avgs, exp_avg_sqs, *, step, mu_product=None, lr=2e-3, beta1=0.9,
          beta2=0.999, betas=None, eps=1e-8, momentum_decay=4e-3, weight_decay=0.0, decay="l2",
          max_lr=None, cautious_decay=False, caution=False, decay_to=None, maximize=False,
          nonfinite="propagate", grad_scale=1.0, max_grad_norm=None, rounding="stochastic",
          rng=None, compensation=None, stats=None, norm_target=None):
    """One NAdam step (Dozat 2016, "Incorporating Nesterov Momentum into Adam"), in place,
    with weight decay fused in: ``torch.optim.NAdam``'s step, momentum schedule included.

    For each parameter ``w`` with gradient ``g`` and moments ``m``, ``v``, at step ``t``
    (``step``, counted from 1), with the momentum schedule
    ``mu_t = beta1 * (1 - 0.5 * 0.96**(t * momentum_decay))``, ``P = mu_product * mu_t``
    (the schedule's product through step t) and ``bc2 = 1 - beta2**t``::

        g = g / grad_scale, times the clip factor of max_grad_norm (see below)
        g = -g                                  if maximize
        g = g + weight_decay * w                decay="l2" (torch NAdam's weight_decay)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        d = sqrt(v / bc2) + eps
        w = w * (1 - lr * weight_decay)         decay="decoupled" (torch's
                                                decoupled_weight_decay=True)
        w = w - lr * (1 - mu_t) / (1 - P) * g / d
        w = w - lr * mu_{t+1} / (1 - P * mu_{t+1}) * m / d
        w = sign(w) * max(|w| - lr * weight_decay, 0)    decay="l1"

    NumPy equivalent: the lines above, about 20 passes over memory; pywd makes one pass and
    one C call per list. torch equivalent: ``torch.optim.NAdam`` (``decay="l2"``, the
    default; ``decoupled_weight_decay=True`` is ``decay="decoupled"``).

    Defaults are those of the optimiser class of the same name: torch's (``lr=2e-3``,
    ``momentum_decay=4e-3``, ``weight_decay`` as coupled L2).

    Parameters
    ----------
    params, grads : ndarray or list/tuple of ndarray
        Weights (updated in place) and gradients (only read): float32 or float64, or
        bfloat16/float16 storage computed in float32 (see rounding).
    exp_avgs, exp_avg_sqs : ndarray or list/tuple of ndarray
        First and second moments, like params, updated in place. Start at zeros.
    step : int
        The step being taken, >= 1.
    mu_product : float or None
        The product of ``mu_i`` over the steps before this one, in [0, 1]: torch's state
        "mu_product" before the step (1 at the first step); the caller multiplies it by
        ``mu_t`` after the step, as :class:`pywd.optim.NAdam` does. None: computed for this
        ``beta1`` and ``momentum_decay`` having held since step 1.
    lr : float
        Learning rate, >= 0.
    beta1, beta2 : float
        Decay rates of the moments, in [0, 1).
    betas : (float, float), optional
        torch's pair, ``betas=(beta1, beta2)``, taken instead of beta1 and beta2 (which
        are then left at their defaults).
    eps : float
        Added to the denominator, >= 0.
    momentum_decay : float
        How fast the schedule's ``mu_t`` rises from ``beta1 / 2`` towards ``beta1``, >= 0.
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
        As :func:`sgd`, plus step < 1, betas outside [0, 1), eps < 0, momentum_decay < 0,
        mu_product outside [0, 1]; before any array is modified.
    """
    beta1, beta2 = torch_betas(betas, (beta1, beta2), (0.9, 0.999))
    cdef pywd_nadam_hyper h
    check_nadam_hyper(&h, step=step, lr=lr, beta1=beta1, beta2=beta2, eps=eps,
                      momentum_decay=momentum_decay, decay=decay, weight_decay=weight_decay,
                      max_lr=max_lr, cautious_decay=cautious_decay, maximize=maximize)
    check_caution(&h.decay, caution)
    h.mu_product = (mu_schedule_product(h.beta1, h.momentum_decay, h.step - 1)
                    if mu_product is None else check_real(mu_product, "mu_product", 0.0, 1.0))
    return nadam_update(&h, params, grads, exp_avgs, exp_avg_sqs, decay_to, compensation,
                        nonfinite, grad_scale, max_grad_norm, rounding, rng, h.step, stats=stats,
                        norm_target=norm_target)


cpdef double nadam_mu(double beta1, double momentum_decay, double step) noexcept:
    """NAdam's momentum schedule at `step`, mu_t = beta1 (1 - 0.5 * 0.96**(t momentum_decay)),
    as torch (and the kernel, csrc/optim/nadam.h) computes it; the class advances its
    mu_product with it."""
    return beta1 * (1.0 - 0.5 * pow(0.96, step * momentum_decay))


cdef double mu_schedule_product(double beta1, double momentum_decay, int64_t steps) noexcept:
    """The product of NAdam's mu_i for i = 1..steps, multiplied in order as torch does. It
    stops once the product is below 2**-60: then 1 - P, all the update uses, is 1 exactly."""
    cdef double product = 1.0
    cdef int64_t i = 1
    while i <= steps and product >= 8.673617379884035e-19:   # 2**-60
        product *= nadam_mu(beta1, momentum_decay, <double>i)
        i += 1
    return product
