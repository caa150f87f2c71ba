# LARS: functional, in place, one C call per list (a norm pass and an update pass).

def lars(params, grads, momentum_buffers=None, *, lr=1.0, momentum=0.0, dampening=0.0,
         nesterov=False, trust_coeff=1e-3, eps=1e-8, trust_clip=False, always_adapt=False,
         weight_decay=0.0, decay="l2", max_lr=None, cautious_decay=False, decay_to=None,
         maximize=False, first_step=False, nonfinite="propagate", grad_scale=1.0,
         max_grad_norm=None, step=None, rounding="stochastic", rng=None, compensation=None):
    """One LARS step (You et al. 2017, "Large Batch Training of Convolutional Networks"),
    in place, with weight decay fused in: timm's ``Lars`` step (with NVIDIA APEX's LARC
    clipping as ``trust_clip``). torch has no LARS.

    For each parameter ``w`` with gradient ``g`` (and momentum buffer ``b``)::

        g = g / grad_scale, times the clip factor of max_grad_norm (see below)
        g = -g                                  if maximize
        phi = trust_coeff * ||w|| / (||g|| + weight_decay * ||w|| + eps)
                                                per tensor; 1 if ||w|| or ||g|| is 0;
                                                min(phi / lr, 1) with trust_clip; 1 unless
                                                weight_decay != 0 or always_adapt (timm's
                                                rule); the weight_decay term with "l2" only
        g = (g + weight_decay * w) * phi        decay="l2" (the default: LARS's rule, inside
                                                the ratio); g * phi for the other modes
        b = g (first_step) | momentum * b + (1 - dampening) * g
        u = g + momentum * b (nesterov) | b (momentum > 0) | g
        w = w * factor                          decay="decoupled", "independent", "corrected"
                                                (as :func:`sgd`: outside the ratio)
        w = w - lr * u
        w = sign(w) * max(|w| - lr * weight_decay, 0)    decay="l1"

    The norms are summed in float64 over fixed blocks of each tensor, so the bytes do not
    depend on the thread count. With decay_to, "l2" uses ``w - w0`` and ``||w - w0||`` in
    place of ``w`` and its norm in the decay terms. NumPy equivalent: the lines above with
    ``np.linalg.norm`` per tensor, about 12 passes over memory; pywd makes two (the norms,
    then the update) in one C call per list. torch equivalent: none (``timm.optim.Lars``).

    Defaults are those of the optimiser class of the same name (timm's: ``lr=1.0``,
    ``trust_coeff=1e-3``, ``eps=1e-8``, ``weight_decay`` as LARS's coupled L2).

    Parameters
    ----------
    params, grads : ndarray or list/tuple of ndarray
        Weights (updated in place) and gradients (only read): float32 or float64, or
        bfloat16/float16 storage computed in float32 (see rounding).
    momentum_buffers : ndarray or list/tuple of ndarray, optional
        Required when momentum > 0: like params, updated in place.
    lr, momentum, dampening, nesterov, first_step
        As :func:`sgd` (``lr >= 0``; the buffer takes the scaled gradient).
    trust_coeff : float
        The trust coefficient, >= 0.
    eps : float
        Added to the ratio's denominator, >= 0.
    trust_clip, always_adapt : bool
        LARC's clipping (phi / lr capped at 1); compute phi even where weight_decay is 0.
    weight_decay, decay, max_lr, cautious_decay, decay_to
        As :func:`sgd`; "l2" (the default) is LARS's rule above.
    {decay_options}
    maximize : bool
        Ascend the objective instead of descending it.
    {grad_options}
    step : int, optional
        The step being taken (from 1): needed only for stochastic rounding.
    {lowp_options}

    Raises
    ------
    TypeError, ValueError
        As :func:`sgd`, plus a negative trust_coeff or eps; before any array is modified.
    """
    cdef pywd_lars_hyper h
    cdef GradOptions o
    cdef _Batch b
    cdef pywd_lowp lp
    cdef cnp.ndarray workspace
    check_lars_hyper(&h, lr=lr, momentum=momentum, dampening=dampening,
                     trust_coeff=trust_coeff, eps=eps, decay=decay, weight_decay=weight_decay,
                     max_lr=max_lr, cautious_decay=cautious_decay, nesterov=nesterov,
                     trust_clip=trust_clip, always_adapt=always_adapt, maximize=maximize,
                     first_step=first_step)
    if h.nesterov and (h.momentum == 0.0 or h.dampening != 0.0):
        raise ValueError(f"nesterov=True needs momentum > 0 and dampening == 0, got "
                         f"momentum={momentum!r}, dampening={dampening!r}")
    parse_grad_options(&o, nonfinite, grad_scale, max_grad_norm)
    if type(params) is _Batch:
        b = checked_subset(params, (3 if h.momentum != 0.0 else 2) + (decay_to is not None)
                           + (compensation is not None), &o)
    else:
        b = new_batch(5, False, True)      # + compensation, decay_to
        b.add(params, "params", True)
        b.add(grads, "grads", False)
        if h.momentum != 0.0:
            if momentum_buffers is None:
                raise ValueError("momentum_buffers are required when momentum > 0: pass "
                                 "arrays like params (zeros, with first_step=True on the "
                                 "first step)")
            b.add(momentum_buffers, "momentum_buffers", True)
        add_compensation(b, compensation)
        add_anchors(b, decay_to)
        b.check_overlap()
    attach_anchors(&h.decay, b, decay_to)
    finite_in_dtype(b, "lr momentum weight_decay", h.lr, h.momentum, h.decay.weight_decay)
    slots = (0, 1) + ((2,) if h.momentum != 0.0 else ()) + ((5,) if decay_to is not None else ())
    h.lowp = &lp if setup_lowp(&lp, b, slots, rounding, rng, step, compensation,
                               decay_to is not None, "lars") else NULL
    workspace = np.empty(3 * b.n + 1)      # each tensor's three sums, then its trust ratio
    h.workspace = <double *>cnp.PyArray_DATA(workspace)
    return run_update(lars_kernel, &h, &h.grad_mult, &o, b)


cdef void lars_kernel(const void *hyper, _Batch b) noexcept nogil:
    cdef const pywd_lars_hyper *h = <const pywd_lars_hyper *>hyper
    cdef void **bufs = arg(b, 2) if h.momentum != 0.0 else NULL
    if b.typenum == cnp.NPY_FLOAT:
        pywd_lars_f32(h, b.n, <float **>arg(b, 0), <const float **>arg(b, 1), <float **>bufs,
                      b.sizes)
    else:
        pywd_lars_f64(h, b.n, <double **>arg(b, 0), <const double **>arg(b, 1),
                      <double **>bufs, b.sizes)
