# The SGD family and the bare decay step: functional, in place, one C call per list.

def sgd(params, grads, momentum_buffers=None, *, lr=1e-3, momentum=0.0, dampening=0.0,
        nesterov=False, weight_decay=0.0, decay="l2", max_lr=None, cautious_decay=False,
        caution=False, decay_to=None, maximize=False, first_step=False, nonfinite="propagate",
        grad_scale=1.0, max_grad_norm=None, step=None, rounding="stochastic", rng=None,
        compensation=None, stats=None, norm_target=None):
    """One SGD step, in place, with weight decay fused in: ``torch.optim.SGD``'s step (its
    ``weight_decay`` is coupled L2: ``decay="l2"``, the default here too).

    For each parameter ``w`` with gradient ``g`` (and momentum buffer ``b``)::

        g = g / grad_scale, times the clip factor of max_grad_norm (see below)
        g = -g                              if maximize
        g = g + weight_decay * w            decay="l2" (coupled L2, torch SGD's weight_decay)
        b = g                               if first_step (torch's first momentum step)
        b = momentum * b + (1 - dampening) * g   otherwise, when momentum > 0
        u = g + momentum * b if nesterov else (b if momentum > 0 else g)
        w = w * (1 - lr * weight_decay)     decay="decoupled" (SGDW)
        w = w * (1 - weight_decay * lr / max_lr)    decay="independent" (1 - weight_decay
                                                    without max_lr: not scaled by lr)
        w = w * (1 - weight_decay * lr**2 / max_lr) decay="corrected" (AdamC)
        w = w - lr * u
        w = sign(w) * max(|w| - lr * weight_decay, 0)   decay="l1" (proximal: exact zeros)

    NumPy equivalent (plain SGD, decay="l2"): ``w -= lr * (g + wd*w)``, in one pass over
    memory instead of several and one C call for a whole list of arrays. torch equivalent:
    ``torch.optim.SGD``'s step.

    Defaults are those of the optimiser class of the same name (torch's meaning of
    ``weight_decay`` for that name): ``sgd``, ``adam``, ``rmsprop``, ``adagrad`` decay as L2
    (``decay="l2"``); ``sgdw``, ``adamw``, ``lion`` decoupled.

    Parameters
    ----------
    params : ndarray or list/tuple of ndarray
        Weights, float32 or float64, C- or F-contiguous, writeable. Updated in place. Any
        argument may instead be bfloat16 or float16 (one dtype per argument), computed in
        float32 and rounded once per stored value (see rounding); float64 stays float64.
    grads : ndarray or list/tuple of ndarray
        Gradients, one per parameter, same shape and memory order, and the params' dtype
        (or, computing in float32, any of float32, bfloat16, float16). Only read.
    momentum_buffers : ndarray or list/tuple of ndarray, optional
        Required when ``momentum > 0``; updated in place. Start them at zeros and pass
        ``first_step=True`` on the first step to match torch (the buffer becomes ``g``).
    lr : float, default 1e-3
        Learning rate, finite and >= 0.
    momentum : float, default 0
        Momentum factor, >= 0.
    dampening : float, default 0
        In [0, 1]; the gradient enters the buffer scaled by ``1 - dampening``.
    nesterov : bool, default False
        Nesterov momentum; needs ``momentum > 0`` and ``dampening == 0``.
    weight_decay : float, default 0
        Decay coefficient, >= 0; how it acts is chosen by ``decay``.
    decay : {"l2", "decoupled", "independent", "corrected", "l1"}, default "l2"
        See the equations above. Multiplicative modes need a factor in [0, 1].
    {decay_options}
    {caution_option}
    {stats_option}
    maximize : bool, default False
        Ascend the objective instead of descending it.
    first_step : bool, default False
        Set the momentum buffer to the gradient instead of accumulating into it.
    {grad_options}
    step : int, optional
        The step being taken (from 1): needed only for stochastic rounding (see rounding).
    {lowp_options}

    Raises
    ------
    TypeError
        A non-array, a dtype other than float32/float64/bfloat16/float16, float64 mixed
        with another dtype, an argument with two dtypes in its list, a
        non-native byte order, a non-real or non-bool hyper-parameter.
    ValueError
        Unequal list lengths or shapes, different memory orders, non-contiguous, misaligned
        or read-only arrays, a written array that shares memory with another (gradients may
        share), hyper-parameters out of range (or not finite in float32 for float32 arrays),
        a missing momentum buffer. Raised before any array is modified.
    FloatingPointError
        ``nonfinite="raise"`` and a NaN or inf in a gradient; nothing is modified.
    """
    cdef pywd_sgd_hyper h
    check_sgd_hyper(&h, lr=lr, momentum=momentum, dampening=dampening, decay=decay,
                    weight_decay=weight_decay, max_lr=max_lr, cautious_decay=cautious_decay,
                    nesterov=nesterov, maximize=maximize, first_step=first_step)
    check_caution(&h.decay, caution)
    if h.nesterov and (h.momentum == 0.0 or h.dampening != 0.0):
        raise ValueError(f"nesterov=True needs momentum > 0 and dampening == 0, got "
                         f"momentum={momentum!r}, dampening={dampening!r}")
    return sgd_update(&h, params, grads, momentum_buffers, decay_to, compensation, nonfinite,
                      grad_scale, max_grad_norm, rounding, rng, step, stats, norm_target)


def sgdw(params, grads, momentum_buffers=None, *, lr=1e-3, momentum=0.0, dampening=0.0,
         nesterov=False, weight_decay=0.0, decay="decoupled", max_lr=None,
         cautious_decay=False, caution=False, decay_to=None, maximize=False,
         first_step=False, nonfinite="propagate", grad_scale=1.0, max_grad_norm=None, step=None,
         rounding="stochastic", rng=None, compensation=None, stats=None, norm_target=None):
    """One SGDW step (Loshchilov & Hutter), in place: :func:`sgd` with
    ``decay="decoupled"`` by default, so the weights shrink by ``1 - lr*weight_decay`` each
    step whatever the momentum; :class:`pywd.optim.SGDW`'s step.

    Equation: ``b = momentum*b + (1-dampening)*g``; ``w = w*(1 - lr*wd) - lr*b``. NumPy
    equivalent: ``w *= 1 - lr*wd; w -= lr*b`` after the buffer update. torch has no SGDW:
    ``torch.optim.SGD`` with ``weight_decay=0`` plus ``p.mul_(1 - lr*wd)`` before each step.
    Arguments, returns and errors: as :func:`sgd`.
    """
    return sgd(params, grads, momentum_buffers, lr=lr, momentum=momentum, dampening=dampening,
               nesterov=nesterov, weight_decay=weight_decay, decay=decay, max_lr=max_lr,
               cautious_decay=cautious_decay, caution=caution, decay_to=decay_to,
               maximize=maximize, first_step=first_step, nonfinite=nonfinite,
               grad_scale=grad_scale, max_grad_norm=max_grad_norm, step=step, rounding=rounding,
               rng=rng, compensation=compensation, stats=stats, norm_target=norm_target)


def decay(params, *, lr, weight_decay, decay="decoupled", max_lr=None, decay_to=None,
          step=None, rounding="stochastic", rng=None, compensation=None):
    """Weight decay alone, in place: the SGD step of :func:`sgd` with a zero gradient.

    For each parameter ``w``::

        decay="decoupled"    w = w * (1 - lr * weight_decay)
        decay="independent"  w = w * (1 - weight_decay * lr / max_lr)   (1 - weight_decay
                                                                        without max_lr)
        decay="corrected"    w = w * (1 - weight_decay * lr**2 / max_lr)
        decay="l2"           w = w - lr * (weight_decay * w)   (gradient step of the penalty
                                                              weight_decay/2 * |w|^2)
        decay="l1"           w = sign(w) * max(|w| - lr * weight_decay, 0)

    NumPy equivalent: ``w *= 1 - lr * weight_decay``. torch equivalent:
    ``p.mul_(1 - lr * weight_decay)`` (what ``torch.optim.AdamW`` does before its step).

    Parameters
    ----------
    params : ndarray or list/tuple of ndarray
        Weights, float32 or float64 (or bfloat16/float16, decayed in float32 and rounded
        once), C- or F-contiguous, writeable, non-overlapping.
    lr : float
        Learning rate, finite and >= 0 (ignored by "independent" without max_lr).
    weight_decay : float
        Decay coefficient, finite and >= 0; 0 leaves the weights untouched.
    decay : {"decoupled", "independent", "corrected", "l2", "l1"}
        How the decay acts; multiplicative modes need their factor in [0, 1].
    max_lr : float, optional
        As :func:`sgd`'s: the lr "independent" and "corrected" are relative to.
    decay_to : ndarray or list/tuple of ndarray, optional
        As :func:`sgd`'s: anchors the decay pulls toward instead of 0.
    step, rounding, rng, compensation
        As :func:`sgd`'s, for bfloat16 and float16 params (the decay is computed in float32
        and rounded once: with "stochastic", a decay far below the 16-bit spacing still acts
        on average).

    Returns
    -------
    None

    Raises
    ------
    TypeError, ValueError
        As :func:`sgd`, before any array is modified.
    """
    cdef pywd_decay_hyper h
    cdef _Batch b
    cdef pywd_lowp lp
    h.grad_mult, h.maximize = 1.0, 0      # no gradient
    h.lr = check_real(lr, "lr", 0.0, INFINITY)
    parse_decay_spec(&h.decay, decay, weight_decay, max_lr, False, h.lr)
    b = new_batch(3, False, True)          # params, compensation, decay_to
    b.add(params, "params", True)
    add_compensation(b, compensation)
    add_anchors(b, decay_to)
    b.check_overlap()
    attach_anchors(&h.decay, b, decay_to)
    finite_in_dtype(b, "lr weight_decay", h.lr, h.decay.weight_decay)
    slots = (0,) + ((5,) if decay_to is not None else ())
    h.lowp = &lp if setup_lowp(&lp, b, slots, rounding, rng, step, compensation,
                               decay_to is not None) else NULL
    run(decay_kernel, &h, b)
