# AdEMAMix: functional, in place, one C call per list.

from libc.math cimport exp, log


def ademamix(params, grads, exp_avgs, exp_avg_sqs, exp_avg_slows, *, step, lr=1e-3, beta1=0.9,
             beta2=0.999, beta3=0.9999, betas=None, alpha=5.0, t_alpha=None, t_beta3=None,
             eps=1e-8, weight_decay=0.01, decay="decoupled", max_lr=None, cautious_decay=False,
             caution=False, decay_to=None, maximize=False, nonfinite="propagate", grad_scale=1.0,
             max_grad_norm=None, rounding="stochastic", rng=None, compensation=None, stats=None,
             norm_target=None):
    """One AdEMAMix step (Pagliardini, Ablin & Grangier 2024, "The AdEMAMix Optimizer:
    Better, Faster, Older"), in place, with weight decay fused in: Adam plus a slow EMA of
    the gradient, mixed into the numerator with weight ``alpha``, so that gradients many
    thousands of steps old still count.

    For each parameter ``w`` with gradient ``g``, moments ``m``, ``v`` and slow EMA ``s``, at
    step ``t`` (``step``, counted from 1)::

        g = g / grad_scale, times the clip factor of max_grad_norm (see below)
        g = -g                                  if maximize
        g = g + weight_decay * w                decay="l2"
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        s = beta3_t * s + (1 - beta3_t) * g
        w = w * (1 - lr * weight_decay)         decay="decoupled" (the paper's, as AdamW)
        w = w - lr * (m / (1 - beta1**t) + alpha_t * s) / (sqrt(v / (1 - beta2**t)) + eps)
        w = sign(w) * max(|w| - lr * weight_decay, 0)    decay="l1"

    The warm-ups (the paper's, as bitsandbytes and pytorch-optimizer compute them):
    ``alpha_t = alpha * min(t / t_alpha, 1)``, and ``beta3_t`` moves from ``beta1`` to
    ``beta3`` with its half-life growing linearly,
    ``beta3_t = exp(ln(beta1) ln(beta3) / ((1 - t/t_beta3) ln(beta3) + (t/t_beta3) ln(beta1)))``
    for ``t < t_beta3``, ``beta3`` from then on (and never above it). Without ``t_alpha``
    (``t_beta3``) ``alpha`` (``beta3``) holds from the first step. The slow EMA has no bias
    correction.

    NumPy equivalent: the lines above, about 25 passes over memory; pywd makes one pass and
    one C call per list. No torch.optim twin; bitsandbytes' ``AdEMAMix`` and
    pytorch-optimizer's ``AdEMAMix`` (with ``weight_decouple=True``) take the same step.

    Defaults are those of :class:`pywd.optim.AdEMAMix`: the paper's ``betas``, ``alpha=5``,
    no warm-up, and AdamW's ``weight_decay=0.01``, decoupled (bitsandbytes' defaults).

    Parameters
    ----------
    params, grads : ndarray or list/tuple of ndarray
        Weights (updated in place) and gradients (only read): float32 or float64, or
        bfloat16/float16 storage computed in float32 (see rounding).
    exp_avgs, exp_avg_sqs, exp_avg_slows : ndarray or list/tuple of ndarray
        The fast and slow first moments and the second moment, like params, updated in
        place. Start at zeros.
    step : int
        The step being taken, >= 1.
    lr : float
        Learning rate, >= 0.
    beta1, beta2, beta3 : float
        Decay rates of the fast EMA, the second moment and the slow EMA, in [0, 1).
    betas : (float, float, float), optional
        The paper's triple, ``betas=(beta1, beta2, beta3)``, taken instead of beta1, beta2
        and beta3 (which are then left at their defaults).
    alpha : float
        Weight of the slow EMA, >= 0.
    t_alpha, t_beta3 : float, optional
        Lengths in steps (> 0) of the warm-ups of ``alpha`` and ``beta3``; ``t_beta3``
        needs ``beta1`` and ``beta3`` above 0.
    eps : float
        Added to the denominator, >= 0.
    weight_decay, decay, max_lr, cautious_decay, decay_to
        As :func:`sgd` (the default ``decay="decoupled"`` is the paper's).
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
        As :func:`sgd`, plus step < 1, betas outside [0, 1), alpha < 0, eps < 0, warm-up
        lengths <= 0; before any array is modified.
    """
    cdef pywd_ademamix_hyper h
    beta1, beta2, beta3 = torch_betas(betas, (beta1, beta2, beta3), (0.9, 0.999, 0.9999))
    check_ademamix_hyper(&h, step=step, lr=lr, beta1=beta1, beta2=beta2, beta3=beta3,
                         alpha=alpha, eps=eps, decay=decay, weight_decay=weight_decay,
                         max_lr=max_lr, cautious_decay=cautious_decay, maximize=maximize)
    check_caution(&h.decay, caution)
    h.alpha = ademamix_alpha(h.alpha, warmup_length(t_alpha, "t_alpha"), h.step)
    h.beta3 = ademamix_beta3(h.beta1, h.beta3, warmup_length(t_beta3, "t_beta3"), h.step)
    return ademamix_update(&h, params, grads, exp_avgs, exp_avg_sqs, exp_avg_slows, decay_to,
                           compensation, nonfinite, grad_scale, max_grad_norm, rounding, rng,
                           h.step, stats=stats, norm_target=norm_target)


cdef double warmup_length(object steps, str name) except? -1.0:
    """A warm-up's length in steps: None (0: none) or a finite number > 0."""
    if steps is None:
        return 0.0
    cdef double x = check_real(steps, name, 0.0, INFINITY)
    if x == 0.0:
        raise ValueError(f"{name} must be None or a number of steps > 0, got {steps!r}")
    return x


cpdef double ademamix_alpha(double alpha, double t_alpha, double step) noexcept:
    """AdEMAMix's alpha at `step`: linear from 0 over t_alpha steps (0: no warm-up)."""
    return alpha if t_alpha == 0.0 or step >= t_alpha else step * alpha / t_alpha


cpdef double ademamix_beta3(double beta1, double beta3, double t_beta3, double step) except? -1.0:
    """AdEMAMix's beta3 at `step`: from beta1 to beta3 over t_beta3 steps with the EMA's
    half-life growing linearly (0: no warm-up), never above beta3."""
    if t_beta3 == 0.0 or step >= t_beta3:
        return beta3
    if beta1 == 0.0 or beta3 == 0.0:
        raise ValueError(f"the beta3 warm-up (t_beta3) needs beta1 and beta3 above 0, got "
                         f"beta1={beta1!r}, beta3={beta3!r}")
    cdef double r = step / t_beta3
    cdef double b = exp(log(beta1) * log(beta3) / ((1.0 - r) * log(beta3) + r * log(beta1)))
    return b if b < beta3 else beta3
