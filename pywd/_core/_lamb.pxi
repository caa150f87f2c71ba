# LAMB: functional, in place, one C call per list (a norm pass and an update pass).

def lamb(params, grads, exp_avgs, exp_avg_sqs, *, step, lr=1e-3, beta1=0.9, beta2=0.999,
         betas=None, eps=1e-6, weight_decay=0.01, decay="decoupled", bias_correction=True,
         trust_clip=False, always_adapt=False, max_lr=None, cautious_decay=False, decay_to=None,
         maximize=False, nonfinite="propagate", grad_scale=1.0, max_grad_norm=None,
         rounding="stochastic", rng=None, compensation=None):
    """One LAMB step (You et al. 2020, "Large Batch Optimization for Deep Learning: Training
    BERT in 76 minutes"), in place, with weight decay fused in: timm's ``Lamb`` step (the
    NVIDIA FusedLAMB variant). torch has no LAMB.

    For each parameter ``w`` with gradient ``g`` and moments ``m``, ``v``, at step ``t``
    (``step``, counted from 1), with ``bc1 = 1 - beta1**t``, ``bc2 = 1 - beta2**t`` (both 1
    with ``bias_correction=False``)::

        g = g / grad_scale, times the clip factor of max_grad_norm (see below)
        g = -g                                  if maximize
        g = g + weight_decay * w                decay="l2"
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        r = (m / bc1) / (sqrt(v) / sqrt(bc2) + eps)
        r = r + weight_decay * w                decay="decoupled" (the default: LAMB's rule,
                                                inside the trust ratio; cautious_decay: only
                                                where r * w >= 0)
        phi = ||w|| / ||r||                     per tensor; 1 if either norm is 0; at most 1
                                                with trust_clip; 1 unless weight_decay != 0
                                                or always_adapt (timm's rule)
        w = w * factor                          decay="independent", "corrected" (as
                                                :func:`sgd`: outside the ratio)
        w = w - lr * (r * phi)
        w = sign(w) * max(|w| - lr * weight_decay, 0)    decay="l1"

    The norms are summed in float64 over fixed blocks of each tensor, so the bytes do not
    depend on the thread count. NumPy equivalent: the lines above with ``np.linalg.norm``
    per tensor, about 25 passes over memory; pywd makes two (the norms, then the update) in
    one C call per list. torch equivalent: none (``timm.optim.Lamb``, whose
    ``max_grad_norm=1.0`` default clipping is pywd's ``max_grad_norm=1.0`` here).

    Defaults are those of the optimiser class of the same name (timm's: ``lr=1e-3``,
    ``eps=1e-6``, ``weight_decay=0.01`` inside the ratio).

    Parameters
    ----------
    params, grads : ndarray or list/tuple of ndarray
        Weights (updated in place) and gradients (only read): float32 or float64, or
        bfloat16/float16 storage computed in float32 (see rounding).
    exp_avgs, exp_avg_sqs : ndarray or list/tuple of ndarray
        First and second moments, like params, updated in place. Start at zeros.
    step : int
        The step being taken, >= 1.
    lr : float
        Learning rate, >= 0.
    beta1, beta2 : float
        Decay rates of the moments, in [0, 1).
    betas : (float, float), optional
        torch's pair, ``betas=(beta1, beta2)``, taken instead of beta1 and beta2 (which
        are then left at their defaults).
    eps : float
        Added to the denominator, >= 0.
    bias_correction, trust_clip, always_adapt : bool
        Divide the moments by ``bc1``, ``bc2``; cap phi at 1 (LAMBC); compute phi even
        where weight_decay is 0.
    weight_decay, decay, max_lr, cautious_decay, decay_to
        As :func:`sgd`, but for "decoupled", which acts inside the ratio as above (the
        default, LAMB's rule); with decay_to, ``w - w0`` takes ``w``'s place in the decay
        terms (the trust ratio's ``||w||`` stays the weights').
    {decay_options}
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
    cdef pywd_lamb_hyper h
    cdef GradOptions o
    cdef _Batch b
    cdef pywd_lowp lp
    cdef cnp.ndarray workspace
    check_lamb_hyper(&h, step=step, lr=lr, beta1=beta1, beta2=beta2, eps=eps,
                     bias_correction=bias_correction, trust_clip=trust_clip,
                     always_adapt=always_adapt, decay=decay, weight_decay=weight_decay,
                     max_lr=max_lr, cautious_decay=cautious_decay, maximize=maximize)
    parse_grad_options(&o, nonfinite, grad_scale, max_grad_norm)
    if type(params) is _Batch:
        b = checked_subset(params, 4 + (decay_to is not None)
                           + (compensation is not None), &o)
    else:
        b = new_batch(6, False, True)      # + compensation, decay_to
        b.add(params, "params", True)
        b.add(grads, "grads", False)
        b.add(exp_avgs, "exp_avgs", True)
        b.add(exp_avg_sqs, "exp_avg_sqs", True)
        add_compensation(b, compensation)
        add_anchors(b, decay_to)
        b.check_overlap()
    attach_anchors(&h.decay, b, decay_to)
    finite_in_dtype(b, "lr eps weight_decay", h.lr, h.eps, h.decay.weight_decay)
    slots = (0, 1, 2, 3) + ((5,) if decay_to is not None else ())
    # 8-bit moments: exp_avg_sqs (slot 3) may take the unsigned map
    h.lowp = &lp if setup_lowp(&lp, b, slots, rounding, rng, h.step, compensation,
                               decay_to is not None, "lamb", 1u << 3) else NULL
    workspace = np.empty(2 * b.n + 1)      # each tensor's two norms, then its trust ratio
    h.workspace = <double *>cnp.PyArray_DATA(workspace)
    return run_update(lamb_kernel, &h, &h.grad_mult, &o, b)


cdef void lamb_kernel(const void *hyper, _Batch b) noexcept nogil:
    cdef const pywd_lamb_hyper *h = <const pywd_lamb_hyper *>hyper
    if b.typenum == cnp.NPY_FLOAT:
        pywd_lamb_f32(h, b.n, <float **>arg(b, 0), <const float **>arg(b, 1),
                      <float **>arg(b, 2), <float **>arg(b, 3), b.sizes)
    else:
        pywd_lamb_f64(h, b.n, <double **>arg(b, 0), <const double **>arg(b, 1),
                      <double **>arg(b, 2), <double **>arg(b, 3), b.sizes)
