# What every optimiser does to its gradients before the update: the non-finite policy
# (nonfinite=), loss scaling (grad_scale=) and global-norm clipping (max_grad_norm=). When a
# policy needs it, one read-only pass sums the squares of every gradient of the call (in C,
# reproducibly); the update then multiplies each gradient by one factor inside its kernel.
from libc.math cimport isinf, isnan, sqrt

NONFINITE_MODES = ("propagate", "skip", "raise")

cdef enum:
    NONFINITE_PROPAGATE = 0
    NONFINITE_SKIP = 1
    NONFINITE_RAISE = 2

# Squares of float64 values above ~1e154 overflow; the pass is then redone on values scaled
# by this power of two (exact), which cannot overflow and loses only terms far below the sum.
cdef double OVERFLOW_SCALE = 2.0 ** -600
# torch.nn.utils.clip_grad_norm_'s guard: the clip factor is max_norm / (norm + 1e-6).
cdef double CLIP_EPS = 1e-6


@cython.final
cdef class StepResult:
    """What an update did: ``applied`` (False when ``nonfinite="skip"`` found a NaN or inf
    gradient and left every array untouched, or when an optimiser's step had no gradient at
    all), ``grad_norm``, the global 2-norm of the unscaled gradients (``grads /
    grad_scale``) when the call computed it (``max_grad_norm`` given or ``nonfinite`` not
    "propagate"), else None, and ``reason``, why a step was not applied ("nonfinite" or
    "no gradients"; None when applied). Truthy exactly when the step was applied, so
    ``if not pywd.adam(...)`` detects a skipped step; it also compares equal to that bool
    (``== False``).

    Equation: ``grad_norm = sqrt(sum(g**2 for every element of every grad)) / grad_scale``.
    NumPy equivalent: ``np.sqrt(sum(np.vdot(g, g) for g in grads)) / grad_scale`` and
    ``np.isfinite`` over the grads. torch equivalent: the norm that
    ``torch.nn.utils.clip_grad_norm_`` returns, and the inf check of ``GradScaler.step``
    (which skips ``optimizer.step()`` when it finds one). ``stats``: the step's statistics
    per tensor (:class:`pywd.StepStats`) when the call asked for them (``stats=True``), else
    None."""
    cdef readonly bint applied
    cdef readonly object grad_norm
    cdef readonly object reason
    cdef readonly object stats

    def __cinit__(self, applied, grad_norm=None, reason=None, stats=None):
        self.applied = applied
        self.grad_norm = grad_norm
        self.reason = None if applied else (reason or "nonfinite")
        self.stats = stats

    def __bool__(self):
        return self.applied

    def __repr__(self):
        if self.applied:
            return f"StepResult(applied=True, grad_norm={self.grad_norm!r})"
        return (f"StepResult(applied=False, grad_norm={self.grad_norm!r}, "
                f"reason={self.reason!r})")

    def __eq__(self, other):
        # equal to its applied flag too, so `pywd.sgd(..., nonfinite="skip") == False` reads
        # as the plain bool it stands for (`is False` cannot: bool has no subclasses)
        if isinstance(other, (bool, np.bool_)):
            return self.applied == other
        if isinstance(other, StepResult):
            return (self.applied, self.grad_norm) == (other.applied, other.grad_norm)
        return NotImplemented

    def __hash__(self):
        return hash(self.applied)     # equal objects (and the bool they equal) hash alike


cdef StepResult APPLIED = StepResult(True, None)


cdef struct GradOptions:
    int nonfinite
    double grad_scale
    double max_norm
    bint clip           # max_grad_norm was given


cdef _Batch checked_subset(object batch, int nops, const GradOptions *o):
    """An update function's arrays given as a _Batch (see _Batch._subset): already checked
    with the whole optimiser step, including the gradient options, which it must not
    repeat."""
    cdef _Batch b = <_Batch>batch
    if b.nops != nops:
        raise ValueError(f"pywd internal error: a batch of {b.nops} arguments for {nops}")
    if o.nonfinite != 0 or o.clip:
        raise ValueError("pywd internal error: gradient options on a checked batch")
    return b


cdef int parse_grad_options(GradOptions *o, object nonfinite, object grad_scale,
                            object max_grad_norm) except -1:
    if not isinstance(nonfinite, str):
        raise TypeError(f"nonfinite must be a str, one of {NONFINITE_MODES}, got {nonfinite!r}")
    if nonfinite not in NONFINITE_MODES:
        raise ValueError(f"nonfinite must be one of {NONFINITE_MODES}, got {nonfinite!r}")
    o.nonfinite = NONFINITE_MODES.index(nonfinite)
    o.grad_scale = check_real(grad_scale, "grad_scale", 0.0, INFINITY)
    if o.grad_scale == 0.0:
        raise ValueError(f"grad_scale must be a finite number > 0, got {grad_scale!r}")
    o.clip = max_grad_norm is not None
    o.max_norm = INFINITY
    if o.clip:
        o.max_norm = as_real(max_grad_norm, "max_grad_norm")
        if not o.max_norm > 0.0:   # inf is allowed: the norm is reported, nothing clipped
            raise ValueError(f"max_grad_norm must be a number > 0 (inf: report the norm "
                             f"without clipping) or None, got {max_grad_norm!r}")
    return 0


cdef double batch_sumsq(_Batch b, int k, double scale) except? -1.0:
    """Sum of (scale*g)^2 over argument k of the batch, run by run of one dtype (a None
    entry ends a run), carrying the sum over: the same bytes as one pass over the list."""
    cdef double acc = 0.0
    cdef Py_ssize_t start = 0, end, n = b.n
    cdef int code
    cdef void **ptrs = b.ptrs + k * n
    cdef bint nogil_ok = b.release_gil()
    while start < n:
        if ptrs[start] == NULL:
            start += 1
            continue
        code = dtype_code(<cnp.ndarray>b.array(k, start))
        end = start + 1
        while (end < n and ptrs[end] != NULL and
               dtype_code(<cnp.ndarray>b.array(k, end)) == code):
            end += 1
        if nogil_ok:
            with nogil:
                run_sumsq(code, ptrs + start, b.sizes + start, end - start, scale, &acc)
        else:
            run_sumsq(code, ptrs + start, b.sizes + start, end - start, scale, &acc)
        start = end
    return acc


cdef inline void run_sumsq(int code, void **ptrs, int64_t *sizes, Py_ssize_t n,
                           double scale, double *acc) noexcept nogil:
    if code == DT_F32:
        pywd_sumsq_f32(n, <const float **>ptrs, sizes, scale, acc)
    elif code == DT_F64:
        pywd_sumsq_f64(n, <const double **>ptrs, sizes, scale, acc)
    else:
        pywd_sumsq_16(code, n, <const uint16_t **>ptrs, sizes, scale, acc)


cdef object grad_pass(const GradOptions *o, _Batch b, int k, double *grad_scale_out):
    """Runs after validation, before the update, over the gradients (argument k). Returns
    the call's StepResult; the update runs only if it is applied, with gradients divided by
    *grad_scale_out (the loss scale, times the clip divisor). Raises FloatingPointError for
    nonfinite="raise". Finiteness is judged in the dtype the kernel computes in: a float32
    gradient that overflows once multiplied by 1/grad_scale is non-finite."""
    cdef double sumsq, norm, clip, root, mult
    cdef bint scaled = False, f32 = has_float32(b, k)
    grad_scale_out[0] = o.grad_scale
    if f32 and not 1.0 / o.grad_scale < FLOAT32_OVERFLOW:
        raise ValueError(f"grad_scale must be >= 3e-39 for float32 arrays (the kernel "
                         f"multiplies their gradients by 1/grad_scale in float32), "
                         f"got {o.grad_scale!r}")
    if o.nonfinite == NONFINITE_PROPAGATE and not o.clip:
        return APPLIED
    sumsq = batch_sumsq(b, k, 1.0)
    if isinf(sumsq):   # an inf, or float64 squares that overflowed: tell them apart
        sumsq = batch_sumsq(b, k, OVERFLOW_SCALE)
        scaled = True
    root = sqrt(sumsq) / OVERFLOW_SCALE if scaled else sqrt(sumsq)
    norm = root / o.grad_scale
    if isinf(sumsq) or isnan(sumsq):
        if o.nonfinite == NONFINITE_RAISE:
            raise FloatingPointError(f"{first_nonfinite(b, k)} has a non-finite value (NaN "
                                     f"or inf) and nonfinite='raise': no array was changed")
        if o.nonfinite == NONFINITE_SKIP:
            return StepResult(False, norm)
    if o.clip:
        clip = o.max_norm / (norm + CLIP_EPS)
        if not clip >= 1.0:   # NaN too (nonfinite="propagate"): NaN spreads, as in torch
            grad_scale_out[0] = o.grad_scale / clip
    if f32 and o.nonfinite != NONFINITE_PROPAGATE and isfinite(sumsq):
        # every |g| <= root, so a float32 product g * mult can only overflow when
        # root * mult is near float32's limit; only then are the products computed
        mult = <double><float>(1.0 / grad_scale_out[0])
        if root * mult >= 0.5 * FLOAT32_OVERFLOW:
            where = first_float32_overflow(b, k, mult)
            if where is not None and o.nonfinite == NONFINITE_RAISE:
                raise FloatingPointError(
                    f"{where} overflows float32 once multiplied by 1/grad_scale ({mult:g}) "
                    f"and nonfinite='raise': no array was changed")
            if where is not None:
                return StepResult(False, norm)
    return StepResult(True, norm)


cdef bint has_float32(_Batch b, int k):
    """Some gradient of argument k is computed on in float32 (float32 or 16-bit storage)."""
    cdef Py_ssize_t i
    if not b.mixed:
        return b.typenum == cnp.NPY_FLOAT
    for i in range(b.n):
        if b.ptrs[k * b.n + i] != NULL and dtype_code(<cnp.ndarray>b.array(k, i)) != DT_F64:
            return True
    return False


cdef object first_float32_overflow(_Batch b, int k, double mult):
    """Names the first float32 gradient with an element whose float32 product with mult is
    inf, as the kernel computes it, or None (only when the norm says it may happen)."""
    cdef Py_ssize_t i
    factor = np.float32(mult)
    with np.errstate(over="ignore"):
        for i in range(b.n):
            a = b.array(k, i)
            if (a is not None and dtype_code(a) != DT_F64 and
                    np.isinf(a.astype(np.float32) * factor).any()):
                return b.where(k, i)
    return None


cdef str first_nonfinite(_Batch b, int k):
    """Names the first gradient holding a NaN or inf (only on the error path)."""
    cdef Py_ssize_t i
    for i in range(b.n):
        a = b.array(k, i)
        if a is not None and not np.isfinite(a).all():
            return b.where(k, i)
    return b.where(k, 0)


def _check_step(params, grads, states=(), nonfinite="propagate", grad_scale=1.0,
                max_grad_norm=None):
    """For the optimisers, which check a whole step (every group, every dtype, their state)
    before its first kernel call and clip over all groups: validates params, grads (a None
    grad skips its parameter; dtypes may differ by position) and each list of `states`
    ((name, arrays, written, rule): state arrays like params, or shaped by `rule` (None,
    "rows" or "cols": SHAPE_RULES), None where a parameter has none; written, or only read,
    as decay_to's anchors) as one call would,
    then runs the gradient pass over every grad. Returns the StepResult, the grad_scale to
    pass to each group's update (with nonfinite="propagate" and no max_grad_norm), so that
    together those calls equal one functional call over the whole list, and the checked
    batch, whose _subset() the updates take in place of their arrays."""
    cdef GradOptions o
    cdef double scale
    cdef _Batch b = new_batch(2 + len(states), True, True)
    parse_grad_options(&o, nonfinite, grad_scale, max_grad_norm)
    b.add(params, "params", True)
    b.add(grads, "grads", False, True)
    for name, arrays, written, rule in states:
        b.add(arrays, name, written, True, SHAPE_RULES[rule])
    b.check_overlap()
    result = grad_pass(&o, b, 1, &scale)
    return result, scale, b


cdef object run_update(batch_kernel kernel, void *hyper, double *grad_mult,
                       const GradOptions *o, _Batch b):
    """An optimiser's update after validation: the gradient pass, then (unless skipped) the
    kernel with the gradients multiplied by *grad_mult = 1 / (grad_scale * clip divisor)."""
    cdef double scale
    result = grad_pass(o, b, 1, &scale)
    if (<StepResult>result).applied:
        grad_mult[0] = 1.0 / scale
        run(kernel, hyper, b)
    return result


_step_stats_class = None


cdef object with_stats(object result, object sums):
    """The update's StepResult with its statistics when the call asked for them and ran."""
    global _step_stats_class
    if sums is None or not (<StepResult>result).applied:
        return result
    if _step_stats_class is None:
        from pywd.step_stats import StepStats   # (a Python module importing this one)
        _step_stats_class = StepStats
    return StepResult(True, (<StepResult>result).grad_norm, None,
                      _step_stats_class.from_sums(sums))


GRAD_OPTIONS_DOC = """\
    nonfinite : {"propagate", "skip", "raise"}, default "propagate"
        What a NaN or inf in any gradient of the call does. "propagate" (torch's behaviour):
        it flows into the weights. "skip": every array of the call is left untouched and the
        call returns a falsy StepResult. "raise": FloatingPointError naming the gradient,
        nothing touched. "skip" and "raise" cost one extra read of the gradients.
    grad_scale : float, default 1
        Loss scale, finite and > 0: the gradients are divided by it inside the kernel
        (multiplied by the reciprocal, as torch's ``GradScaler.unscale_`` does), before decay.
    max_grad_norm : float, optional
        Clip by global norm, as ``torch.nn.utils.clip_grad_norm_``: ``norm`` is the 2-norm of
        all the call's unscaled gradients (``grads / grad_scale``, summed in float64), and when
        ``max_grad_norm / (norm + 1e-6) < 1`` the gradients are multiplied by that factor. One
        reduction pass, then the update. ``inf`` reports the norm without clipping.

    Returns
    -------
    StepResult
        Truthy when the step was applied (False only under ``nonfinite="skip"``), with
        ``.grad_norm``, the norm above when it was computed (None otherwise). Gradients are
        multiplied by ``1 / (grad_scale * max(1, (norm + 1e-6) / max_grad_norm))``, rounded
        once to the arrays' dtype.
"""


def _sum_of_squares(arrays, double scale=1.0):
    """sum((scale*x)**2) over every element of `arrays` (float32/float64, dtypes may differ
    by position), in float64 in the blocked order of the gradient pass: for
    pywd.distributed, which adds the ranks' shard sums itself."""
    cdef _Batch b = new_batch(1, True, True)
    b.add(arrays, "arrays", False)
    return batch_sumsq(b, 0, scale)
