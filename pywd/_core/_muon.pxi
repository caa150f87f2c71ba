# Muon: functional, in place: one C call per list for the momentum, BLAS (NumPy's matmul) for
# each matrix's Newton-Schulz orthogonalisation, one C call per step size for the update.

import math

MUON_COEFFICIENTS = (3.4445, -4.7750, 2.0315)     # torch's (Keller Jordan's) quintic
ADJUST_LR_FNS = (None, "original", "match_rms_adamw")


def muon(params, grads, momentum_buffers, *, lr=1e-3, weight_decay=0.1, momentum=0.95,
         nesterov=True, ns_coefficients=MUON_COEFFICIENTS, eps=1e-7, ns_steps=5,
         adjust_lr_fn=None, decay="decoupled", max_lr=None, cautious_decay=False,
         decay_to=None, maximize=False, nonfinite="propagate", grad_scale=1.0,
         max_grad_norm=None, step=None, rounding="stochastic", rng=None, compensation=None):
    """One Muon step (Jordan et al. 2024, "Muon: An optimizer for hidden layers in neural
    networks"), in place, with weight decay fused in: ``torch.optim.Muon``'s step, for 2-D
    parameters.

    For each matrix ``w`` (shape ``(A, B)``) with gradient ``g`` and momentum buffer ``b``::

        g = g / grad_scale, times the clip factor of max_grad_norm (see below)
        g = -g                                  if maximize
        g = g + weight_decay * w                decay="l2"
        b = lerp(b, g, 1 - momentum)            (torch's form: b + (1-momentum)*(g - b))
        u = lerp(g, b, momentum) if nesterov else b
        o = newton_schulz(u)                    in float32, by BLAS (below)
        w = w * (1 - lr * weight_decay)         decay="decoupled" (torch's Muon), with the
                                                unadjusted lr ("independent", "corrected":
                                                as :func:`sgd`)
        w = w - adjusted_lr * o                 adjusted_lr = lr * sqrt(max(1, A/B))
                                                ("original", torch's default), or
                                                lr * 0.2 * sqrt(max(A, B))
                                                ("match_rms_adamw", Moonshot's)
        w = sign(w) * max(|w| - lr * weight_decay, 0)    decay="l1"

    newton_schulz(u), torch's: x = u in float32, transposed if A > B, divided by
    max(||x||, eps); then ns_steps times ``s = x x^T; x = a x + (b s + c s s) x``
    (coefficients ``ns_coefficients = (a, b, c)``), transposed back: about ``U V^T`` of
    u's singular value decomposition ``U S V^T``. torch computes it in bfloat16 (about
    2e-3 relative from this float32 result).

    NumPy equivalent: the lines above, with ``@`` for the products. torch equivalent:
    ``torch.optim.Muon`` (``decay="decoupled"``, the default). Muon is for the matrices
    of hidden layers: give biases, gains, embeddings and other arrays to another optimiser
    (see :class:`pywd.optim.Muon`).

    Parameters
    ----------
    params, grads : ndarray or list/tuple of ndarray
        2-D weights (updated in place) and their gradients (only read): float32 or float64,
        or bfloat16/float16 storage computed in float32 (see rounding).
    momentum_buffers : ndarray or list/tuple of ndarray
        torch's state "momentum_buffer", like params, updated in place. Start at zeros.
    lr : float
        Learning rate, >= 0 (the decay's; the step's is adjusted per matrix shape).
    weight_decay, decay, max_lr, cautious_decay, decay_to
        As :func:`sgd` (the default ``decay="decoupled"`` is torch's Muon's), with the
        unadjusted lr.
    {decay_options}
    momentum : float
        In [0, 1).
    nesterov : bool
        Nesterov momentum (torch's default True).
    ns_coefficients : tuple of 3 floats
        The quintic's (a, b, c); torch's default (3.4445, -4.7750, 2.0315).
    eps : float
        The smallest norm divided by, >= 0.
    ns_steps : int
        Newton-Schulz iterations, in [0, 100) (torch's limit).
    adjust_lr_fn : {None, "original", "match_rms_adamw"}
        The step's lr from lr and the matrix's shape, as above (None is "original").
    maximize : bool
        Ascend the objective instead of descending it.
    {grad_options}
    step : int, optional
        The step being taken (from 1): needed only for stochastic rounding (see rounding).
    {lowp_options}

    Raises
    ------
    TypeError, ValueError
        As :func:`sgd`, plus a parameter that is not 2-D, momentum outside [0, 1), bad
        ns_coefficients, eps, ns_steps or adjust_lr_fn; before any array is modified.
    """
    cdef pywd_muon_hyper h
    cdef GradOptions o
    cdef _Batch b, run_batch
    cdef pywd_lowp lp
    cdef Py_ssize_t i
    cdef bint anchored = decay_to is not None
    check_muon_hyper(&h, lr=lr, momentum=momentum, nesterov=nesterov, decay=decay,
                     weight_decay=weight_decay, max_lr=max_lr, cautious_decay=cautious_decay,
                     maximize=maximize)
    coefficients = _ns_coefficients(ns_coefficients)
    eps = check_real(eps, "eps", 0.0, INFINITY)
    steps = _ns_steps(ns_steps)
    if not (adjust_lr_fn is None or isinstance(adjust_lr_fn, str)) or \
            adjust_lr_fn not in ADJUST_LR_FNS:
        raise ValueError(f"adjust_lr_fn must be one of {ADJUST_LR_FNS}, got {adjust_lr_fn!r}")
    parse_grad_options(&o, nonfinite, grad_scale, max_grad_norm)
    if type(params) is _Batch:           # an optimiser's checked step: its arrays, re-listed
        lists = (<_Batch>checked_subset(params, 3 + (compensation is not None) + anchored,
                                        &o))._lists()
        params, grads, momentum_buffers = lists[:3]
        if compensation is not None:
            compensation = lists[3]
        if anchored:
            decay_to = lists[len(lists) - 1]
    b = new_batch(6, False, True)
    b.add(params, "params", True)
    for i in range(b.n):
        shape = b.array(0, i).shape
        if len(shape) != 2:
            raise ValueError(f"{b.where(0, i)}: Muon orthogonalises matrices: expected a 2-D "
                             f"array, got shape {shape} (give vectors and other arrays to "
                             f"another optimiser, AdamW say)")
    b.add(grads, "grads", False)
    b.add(momentum_buffers, "momentum_buffers", True)
    # the orthogonalisation's input and output, in the params' memory order: float64 for
    # float64 params, else float32
    b.add([np.empty_like(b.array(0, i), dtype=np.float64 if b.array(0, i).dtype == np.float64
                         else np.float32) for i in range(b.n)], "updates", True)
    add_compensation(b, compensation)
    add_anchors(b, decay_to)
    b.check_overlap()
    attach_anchors(&h.decay, b, decay_to)
    finite_in_dtype(b, "lr weight_decay", h.lr, h.decay.weight_decay)
    # Everything the apply pass needs is made before the momentum pass writes: from then
    # on only C and NumPy's C functions run (no Python bytecode: an optimiser's step is
    # whole under a signal's handler, pywd/_lists.pxi's _commit). The matrices are run by
    # their step size, which their shape gives.
    runs = {}                            # step size -> the matrices that take it
    for i in range(b.n):
        runs.setdefault(muon_step_size(h.lr, adjust_lr_fn, b.array(0, i).shape), []).append(i)
    ops = (0, 3) + tuple(range(4, b.nops))          # params, updates, compensation, anchors
    batches = [b._subset(positions, ops) for positions in runs.values()]
    cdef pywd_lowp *apply_lp = <pywd_lowp *>PyMem_Malloc(max(1, len(batches))
                                                         * sizeof(pywd_lowp))
    if apply_lp == NULL:
        raise MemoryError()
    try:
        lowp = [setup_lowp(&apply_lp[k], run_batch, (0, 2) + ((5,) if anchored else ()),
                           rounding, rng, step, compensation, anchored)
                for k, run_batch in enumerate(batches)]
        # momentum: the compensation (slot 4: none) is the update half's
        slots = (0, 1, 2, 3) + ((4,) if compensation is not None else ()) + (
            (5,) if anchored else ())
        h.lowp = &lp if setup_lowp(&lp, b, slots, rounding, rng, step, None, anchored) else NULL
        h.step_size = 0.0
        result = run_update(muon_momentum_kernel, &h, &h.grad_mult, &o, b)
        if not (<StepResult>result).applied or b.n == 0:
            return result
        for i in range(b.n):
            update = b.array(3, i)
            update[...] = _newton_schulz(update, coefficients, steps, eps)
        for k, step_size in enumerate(runs):
            run_batch = batches[k]
            attach_anchors(&h.decay, run_batch, decay_to)
            h.step_size = step_size
            h.lowp = &apply_lp[k] if lowp[k] else NULL
            run(muon_apply_kernel, &h, run_batch)
        return result
    finally:
        PyMem_Free(apply_lp)


def muon_step_size(lr, adjust_lr_fn, shape):
    """torch's adjusted lr for a matrix of `shape` (A, B): lr * sqrt(max(1, A/B)) for
    "original" (or None), lr * 0.2 * sqrt(max(A, B)) for "match_rms_adamw"."""
    rows, cols = shape[:2]
    if adjust_lr_fn == "match_rms_adamw":
        return lr * (0.2 * math.sqrt(max(rows, cols)))
    return lr * math.sqrt(max(1, rows / cols)) if cols else lr    # (no elements: any)


def _newton_schulz(update, coefficients, steps, eps):
    """torch's _zeropower_via_newtonschulz in float32 (torch: bfloat16), by BLAS."""
    a, b, c = coefficients
    x = np.array(update, dtype=np.float32)
    wide = x.shape[0] > x.shape[1]
    if wide:
        x = x.T
    flat = x.ravel(order="K")                       # np.linalg.norm's sum, in C calls
    x /= max(float(np.sqrt(flat.dot(flat))), eps)
    for _ in range(steps):
        gram = x @ x.T
        x = a * x + (b * gram + c * (gram @ gram)) @ x
    return x.T if wide else x


cdef tuple _ns_coefficients(object value):
    if not isinstance(value, (tuple, list)) or len(value) != 3:
        raise TypeError(f"ns_coefficients must be a tuple of 3 numbers (a, b, c), got "
                        f"{value!r}")
    coefficients = tuple([as_real(x, "ns_coefficients") for x in value])
    if not all(isfinite(x) for x in coefficients):
        raise ValueError(f"ns_coefficients must be finite numbers, got {value!r}")
    return coefficients


cdef int _ns_steps(object value) except -1:
    if type(value) is bool or not isinstance(value, numbers.Real) or not (
            0 <= value < 100 and value == int(value)):
        raise ValueError(f"ns_steps must be a whole number in [0, 100), got {value!r}")
    return int(value)
