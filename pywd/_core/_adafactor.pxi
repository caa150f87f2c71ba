# Adafactor: functional, in place: one C call for the list (factored tensors and the
# others), its per-tensor sums inside (csrc/optim/adafactor.h).


def adafactor(params, grads, row_vars, col_vars, variances, *, step, lr=1e-2,
              beta2_decay=-0.8, eps=(None, 1e-3), d=1.0, weight_decay=0.0, decay="decoupled",
              max_lr=None, cautious_decay=False, decay_to=None, maximize=False,
              nonfinite="propagate", grad_scale=1.0, max_grad_norm=None):
    """One Adafactor step (Shazeer & Stern 2018), in place, with weight decay fused in:
    ``torch.optim.Adafactor``'s step.

    For each parameter ``w`` with gradient ``g``, at step ``t`` (``eps = (eps1, eps2)``)::

        g = g / grad_scale, times the clip factor of max_grad_norm (see below)
        g = -g                                  if maximize
        g = g + weight_decay * w                decay="l2"
        beta = t ** beta2_decay;  rho = min(lr, 1 / sqrt(t))
        alpha = max(eps2, ||w|| / sqrt(w.size)) * rho          (w before any decay)
        2 or more dims (the last two axes are a matrix; any before them, a batch of them):
            row_var = lerp(row_var, mean(g**2, axis=-1), beta)
            col_var = lerp(col_var, mean(g**2, axis=-2), beta)
            v = row_var @ col_var / max(mean(row_var, axis=-2), eps1)
        fewer dims:
            variance = lerp(variance, g**2, beta);  v = variance
        u = g / sqrt(max(v, eps1**2))
        w = w * (1 - lr * weight_decay)         decay="decoupled" (torch's Adafactor's rule,
                                                lr unadjusted; "independent", "corrected":
                                                as :func:`sgd`)
        w = w - alpha / max(1, rms(u) / d) * u
        w = sign(w) * max(|w| - lr * weight_decay, 0)   decay="l1"

    lerp is torch's (``s + b*(e - s)``, or ``e + (b - 1)*(e - s)`` for ``b >= 0.5``). A
    parameter without elements is left as it is (torch divides by its size).

    The norms, the factors' row and column means and the RMS of ``u`` are per tensor, summed
    in float64 in blocks fixed by the shapes: the result does not depend on the thread
    count. Three passes over a factored tensor (24 bytes per float32 element), two over the
    others.

    NumPy equivalent: the lines above per parameter. torch equivalent:
    ``torch.optim.Adafactor``'s step (``decay="decoupled"``, the default); torch keeps the
    step counter as a float tensor, pywd as the int ``step``.

    Parameters
    ----------
    params, grads : ndarray or list/tuple of ndarray
        Weights (updated in place) and their gradients (only read): float32 or float64 (a
        16-bit param is refused: Adafactor keeps no moment that 16-bit storage would
        round). A param of 3 or more dims must be C-contiguous (its last axis contiguous).
    row_vars, col_vars : ndarray, list/tuple of ndarray or None
        torch's state "row_var" (the param's shape with its last axis 1) and "col_var" (its
        second-to-last axis 1) for each param of 2 or more dims, C-contiguous, updated in
        place; None for the others (None for the whole argument: none has any). Start at
        zeros.
    variances : ndarray, list/tuple of ndarray or None
        torch's state "variance", like its param, for each param of fewer than 2 dims;
        None for the others. Start at zeros.
    step : int
        The step being taken (from 1), the param's: torch's state "step" after its increment.
    lr : float
        Learning rate, >= 0: rho's cap and the decay's rate.
    beta2_decay : float
        <= 0: the second moments' weight is ``step ** beta2_decay``.
    eps : (float or None, float)
        (eps1, eps2), >= 0: eps1 floors v and the row factor's mean (None: the machine
        epsilon of the params' dtype, torch's default); eps2 floors the params' RMS in
        alpha.
    d : float
        >= 1: the update's RMS clipping threshold.
    weight_decay, decay, max_lr, cautious_decay, decay_to
        As :func:`sgd` (the default ``decay="decoupled"`` is torch's Adafactor's), with
        the unadjusted lr.
    {decay_options}
    maximize : bool
        Ascend the objective instead of descending it.
    {grad_options}

    Raises
    ------
    TypeError, ValueError
        As :func:`sgd`, plus a 16-bit param, a factor or variance missing (None) for a
        param that needs it or given for one that does not, a factor of the wrong shape, a
        param of 3 or more dims that is not C-contiguous, a negative lr, a positive
        beta2_decay, a bad eps or d < 1; before any array is modified.
    """
    cdef pywd_adafactor_hyper h
    cdef GradOptions o
    cdef _Batch b
    cdef cnp.ndarray matrix, workspace
    cdef int64_t t = check_step(step)
    cdef bint anchored = decay_to is not None
    check_adafactor_hyper(&h, lr=lr, d=d, decay=decay, weight_decay=weight_decay,
                          max_lr=max_lr, cautious_decay=cautious_decay, maximize=maximize)
    cdef double decay_rate = as_real(beta2_decay, "beta2_decay")
    if not (isfinite(decay_rate) and decay_rate <= 0.0):
        raise ValueError(f"beta2_decay must be a finite number <= 0, got {beta2_decay!r}")
    eps1, h.eps2 = _adafactor_eps(eps)
    h.beta_weight = pow(<double>t, decay_rate)
    h.rho = min(h.lr, 1.0 / pow(<double>t, 0.5))    # torch's t**0.5
    parse_grad_options(&o, nonfinite, grad_scale, max_grad_norm)
    if type(params) is _Batch:           # an optimiser's checked step
        b = checked_subset(params, 5 + anchored, &o)
    else:
        b = new_batch(6, False, False)   # params, grads, 3 states, decay_to
        b.no_16bit = ADAFACTOR_NO_16BIT
        b.add(params, "params", True)
        for i in range(b.n):
            _adafactor_param(b.array(0, i), b.where(0, i))
        b.add(grads, "grads", False)
        b.add(_absent_as_nones(row_vars, b.n), "row_vars", True, True, SHAPE_ROWS)
        b.add(_absent_as_nones(col_vars, b.n), "col_vars", True, True, SHAPE_COLS)
        b.add(_absent_as_nones(variances, b.n), "variances", True, True)
        add_anchors(b, decay_to)
        b.check_overlap()
        _check_kinds(b)
    h.eps1 = eps1 if eps1 is not None else (
        float(np.finfo(np.float64 if b.typenum == cnp.NPY_DOUBLE else np.float32).eps))
    finite_in_dtype(b, "lr weight_decay eps1 eps2", h.lr, h.decay.weight_decay, h.eps1,
                    h.eps2)
    matrix = np.zeros(3 * b.n + 1, dtype=np.int64)
    for i in range(b.n):
        if b.array(0, i).ndim >= 2:
            matrix[3 * i:3 * i + 3] = _memory_matrix(b.array(0, i))
    h.matrix = <const int64_t *>cnp.PyArray_DATA(matrix)
    workspace = np.empty(pywd_adafactor_workspace(b.n, b.sizes, h.matrix) // 8 + 1)
    h.workspace = cnp.PyArray_DATA(workspace)
    attach_anchors(&h.decay, b, decay_to)
    return run_update(adafactor_kernel, &h, &h.grad_mult, &o, b)


def _memory_matrix(param):
    """(rows, columns, transposed) of the matrices of a param's last two axes in memory:
    the axes as they are (C order), or swapped for a 2-D F-ordered array."""
    rows, cols = param.shape[param.ndim - 2], param.shape[param.ndim - 1]
    if param.ndim == 2 and not param.flags.c_contiguous:
        return cols, rows, 1
    return rows, cols, 0


cdef tuple _adafactor_eps(object eps):
    if not isinstance(eps, (tuple, list)) or len(eps) != 2:
        raise TypeError(f"eps must be a pair (eps1 or None, eps2), got {eps!r}")
    eps1 = None if eps[0] is None else check_real(eps[0], "eps[0]", 0.0, INFINITY)
    return eps1, check_real(eps[1], "eps[1]", 0.0, INFINITY)


ADAFACTOR_NO_16BIT = "16-bit storage is not supported by Adafactor"


def _adafactor_param(p, where):
    """Refuses a param Adafactor cannot update (also for the class, when a group is added)."""
    if p.dtype.itemsize == 2:
        raise TypeError(f"{where}: Adafactor takes float32 or float64 params, got {p.dtype} "
                        f"({ADAFACTOR_NO_16BIT})")
    if p.ndim >= 3 and not p.flags.c_contiguous:
        raise ValueError(f"{where}: Adafactor factors the last two axes, which must be "
                         f"contiguous: a param of {p.ndim} dims must be C-contiguous, got "
                         f"strides {p.strides} (np.ascontiguousarray makes one, to be used "
                         f"from then on)")


def _absent_as_nones(arrays, n):
    """A state argument: None (no param has one) as a list of n Nones."""
    return [None] * n if arrays is None else arrays


cdef int _check_kinds(_Batch b) except -1:
    """Each param has the state its shape needs (factors for 2 or more dims, else a
    variance), and only that."""
    cdef tuple need, spare
    cdef Py_ssize_t i
    cdef int k
    for i in range(b.n):
        factored = b.array(0, i).ndim >= 2
        if factored:
            need, spare = (2, 3), (4,)
        else:
            need, spare = (4,), (2, 3)
        for k in need:
            if b.ptrs[k * b.n + i] == NULL:
                raise ValueError(f"{b.where(k, i)} is None, but {b.where(0, i)} has "
                                 f"{b.array(0, i).ndim} dims and needs one")
        for k in spare:
            if b.ptrs[k * b.n + i] != NULL:
                raise ValueError(f"{b.where(k, i)} is given, but {b.where(0, i)} has "
                                 f"{b.array(0, i).ndim} dims: it takes "
                                 f"{'row_vars and col_vars' if factored else 'a variance'}"
                                 f", and None here")
    return 0


cdef void adafactor_kernel(const void *hyper, _Batch b) noexcept nogil:
    cdef const pywd_adafactor_hyper *h = <const pywd_adafactor_hyper *>hyper
    if b.typenum == cnp.NPY_FLOAT:
        pywd_adafactor_f32(h, b.n, <float **>arg(b, 0), <const float **>arg(b, 1),
                           <float **>arg(b, 2), <float **>arg(b, 3), <float **>arg(b, 4),
                           b.sizes)
    else:
        pywd_adafactor_f64(h, b.n, <double **>arg(b, 0), <const double **>arg(b, 1),
                           <double **>arg(b, 2), <double **>arg(b, 3), <double **>arg(b, 4),
                           b.sizes)
