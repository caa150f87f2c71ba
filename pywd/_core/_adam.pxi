# Adam, AdamW and AMSGrad: functional, in place, one C call per list.

_ADAM_DOC = """{summary}

    For each parameter ``w`` with gradient ``g``, first moment ``m`` and second moment ``v``,
    at step ``t`` (``step``, counted from 1)::

        g = g / grad_scale, times the clip factor of max_grad_norm (see below)
        g = -g                                  if maximize
        g = g + weight_decay * w                decay="l2" (torch Adam's weight_decay)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        vmax = maximum(vmax, v); v^ = vmax      if amsgrad (else v^ = v)
        w = w * (1 - lr * weight_decay)         decay="decoupled" (AdamW, torch AdamW)
        w = w * (1 - weight_decay * lr / max_lr)     decay="independent" (1 - weight_decay
                                                     without max_lr)
        w = w * (1 - weight_decay * lr**2 / max_lr)  decay="corrected" (AdamC)
        w = w - lr / (1 - beta1**t) * m / (sqrt(v^) / sqrt(1 - beta2**t) + eps)
        w = sign(w) * max(|w| - lr * weight_decay, 0)    decay="l1"

    The bias corrections are computed once per call in double precision. NumPy equivalent:
    the lines above, about 20 passes over memory and several temporaries; pywd makes one
    pass per array and one C call per list. torch equivalent: {torch}.

    Defaults are those of the optimiser class of the same name (torch's meaning of
    ``weight_decay`` for that name): ``sgd``, ``adam``, ``rmsprop``, ``adagrad`` decay as L2
    (``decay="l2"``); ``sgdw``, ``adamw``, ``lion`` decoupled.

    Parameters
    ----------
    params, grads : ndarray or list/tuple of ndarray
        Weights (updated in place) and their gradients (only read): float32 or float64,
        C- or F-contiguous, one gradient per weight of the same shape and order. With
        float32 computation any array (params, grads, each state) may instead be stored in
        bfloat16 or float16, one dtype per argument (see rounding); float64 stays float64.
    exp_avgs, exp_avg_sqs : ndarray or list/tuple of ndarray
        First and second moment estimates, like params; updated in place. Start at zeros.
    step : int
        The step being taken, >= 1 (1 on the first call).
    lr : float, default 1e-3
        Learning rate, >= 0.
    beta1, beta2 : float
        Decay rates of the moment estimates, in [0, 1).
    betas : (float, float), optional
        torch's pair, ``betas=(beta1, beta2)``, taken instead of beta1 and beta2 (which
        are then left at their defaults).
    eps : float
        Added to the denominator, >= 0.
    weight_decay : float
        Decay coefficient, >= 0, acting by ``decay``.
    decay : {{"l2", "decoupled", "independent", "corrected", "l1"}}, default {default}
        How weight decay acts (see above); multiplicative modes need a factor in [0, 1].
    {{decay_options}}
    {{caution_option}}
    {{stats_option}}
    amsgrad : bool
        Use the running maximum of ``v`` (Reddi et al. 2018); needs ``max_exp_avg_sqs``.
    max_exp_avg_sqs : ndarray or list/tuple of ndarray, optional
        The running maxima, like params, updated in place; required when ``amsgrad``.
    maximize : bool
        Ascend the objective instead of descending it.
    {{grad_options}}
    {{lowp_options}}

    Raises
    ------
    TypeError, ValueError
        As :func:`sgd`, plus: step < 1, betas outside [0, 1), eps < 0, amsgrad without its
        buffers, state arrays that share memory. Raised before any array is modified.
    """


def adam(params, grads, exp_avgs, exp_avg_sqs, *, step, lr=1e-3, beta1=0.9, beta2=0.999,
         betas=None, eps=1e-8, weight_decay=0.0, decay="l2", max_lr=None, cautious_decay=False,
         caution=False, decay_to=None, amsgrad=False, max_exp_avg_sqs=None, maximize=False,
         nonfinite="propagate", grad_scale=1.0, max_grad_norm=None, rounding="stochastic",
         rng=None, compensation=None, stats=None, norm_target=None):
    beta1, beta2 = torch_betas(betas, (beta1, beta2), (0.9, 0.999))
    return adam_step(params, grads, exp_avgs, exp_avg_sqs, step, lr, beta1, beta2, eps,
                     weight_decay, decay, max_lr, cautious_decay, caution, decay_to, amsgrad,
                     max_exp_avg_sqs, maximize, nonfinite, grad_scale, max_grad_norm,
                     rounding, rng, compensation, stats, norm_target)


def adamw(params, grads, exp_avgs, exp_avg_sqs, *, step, lr=1e-3, beta1=0.9, beta2=0.999,
          betas=None, eps=1e-8, weight_decay=0.01, decay="decoupled", max_lr=None,
          cautious_decay=False, caution=False, decay_to=None, amsgrad=False,
          max_exp_avg_sqs=None, maximize=False, nonfinite="propagate", grad_scale=1.0,
          max_grad_norm=None, rounding="stochastic", rng=None, compensation=None,
          stats=None, norm_target=None):
    beta1, beta2 = torch_betas(betas, (beta1, beta2), (0.9, 0.999))
    return adam_step(params, grads, exp_avgs, exp_avg_sqs, step, lr, beta1, beta2, eps,
                     weight_decay, decay, max_lr, cautious_decay, caution, decay_to, amsgrad,
                     max_exp_avg_sqs, maximize, nonfinite, grad_scale, max_grad_norm,
                     rounding, rng, compensation, stats, norm_target)


adam.__doc__ = _ADAM_DOC.format(
    summary="One Adam step, in place, with weight decay fused in (AMSGrad optional): "
            "``torch.optim.Adam``'s step (coupled L2, ``decay=\"l2\"``, by default).",
    torch="``torch.optim.Adam``; with ``decay=\"decoupled\"``, ``torch.optim.AdamW``",
    default='"l2"')
adamw.__doc__ = _ADAM_DOC.format(
    summary="One AdamW step (Loshchilov & Hutter): :func:`adam` with ``weight_decay=0.01`` "
            "and ``decay=\"decoupled\"`` by default.",
    torch="``torch.optim.AdamW``", default='"decoupled"')


cdef adam_step(params, grads, exp_avgs, exp_avg_sqs, step, lr, beta1, beta2, eps, weight_decay,
               decay, max_lr, cautious_decay, caution, decay_to, amsgrad, max_exp_avg_sqs,
               maximize, nonfinite, grad_scale, max_grad_norm, rounding, rng, compensation,
               stats, norm_target):
    cdef pywd_adam_hyper h
    check_adam_hyper(&h, step=step, lr=lr, beta1=beta1, beta2=beta2, eps=eps, decay=decay,
                     weight_decay=weight_decay, max_lr=max_lr, cautious_decay=cautious_decay,
                     amsgrad=amsgrad, maximize=maximize)
    check_caution(&h.decay, caution)
    return adam_update(&h, params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, decay_to,
                       compensation, nonfinite, grad_scale, max_grad_norm, rounding, rng, h.step,
                       stats, norm_target)
