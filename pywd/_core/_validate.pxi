# Validation shared by every entry point: scalars, decay modes, and _Batch, which checks the
# arrays of one call (one array or a list per argument) and collects their data pointers.
# Every check runs before any kernel does, so a failure leaves every array untouched.
import numbers

import numpy as np

from cpython.mem cimport PyMem_Free, PyMem_Malloc
from libc.math cimport INFINITY, fabs, isfinite
from cpython.ref cimport PyObject
from cpython.ref cimport Py_INCREF
from cpython.tuple cimport PyTuple_GET_ITEM, PyTuple_New, PyTuple_SET_ITEM
from cpython.buffer cimport PyObject_CheckBuffer
cimport cython

DECAY_MODES = ("l2", "decoupled", "independent", "corrected", "l1")


cdef double as_real(object value, str name) except? -1.0:
    """`value` as a C double, refusing what is not a real number (str, None, complex) and
    bools (lr=True is a bug, not 1.0)."""
    if type(value) is float:
        return <double>value
    if type(value) is bool or isinstance(value, np.bool_):
        raise TypeError(f"{name} must be a real number, got bool {value!r}")
    if type(value) is int or isinstance(value, numbers.Real):
        return float(value)
    raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")


cdef double check_real(object value, str name, double lo, double hi) except? -1.0:
    """A finite real in [lo, hi]; the message states the whole requirement."""
    cdef double x = as_real(value, name)
    if not (isfinite(x) and lo <= x <= hi):
        if hi == INFINITY:
            raise ValueError(f"{name} must be a finite number >= {lo:g}, got {value!r}")
        raise ValueError(f"{name} must be a finite number in [{lo:g}, {hi:g}], got {value!r}")
    return x


# The smallest double that rounds to inf in float32 (2**128 - 2**103): float32 kernels take
# their hyper-parameters and gradient multiplier as float, so such a value would be inf there.
cdef double FLOAT32_OVERFLOW = 3.4028235677973366e38


cdef int finite_in_dtype(_Batch b, str names, double x0, double x1=0.0, double x2=0.0,
                         double x3=0.0) except -1:
    """The hyper-parameters `names` (space-separated, values x0, x1, ...) are finite in the
    dtype the kernel computes in (lr=1e39 is a finite double, but inf in a float32
    kernel). Checked after the arrays, whose dtype decides."""
    cdef double values[4]
    cdef int i
    if b.typenum != cnp.NPY_FLOAT:
        return 0
    values[0], values[1], values[2], values[3] = x0, x1, x2, x3
    for i, name in enumerate(names.split()):
        if not fabs(values[i]) < FLOAT32_OVERFLOW:
            raise ValueError(f"{name} must be finite in float32, the arrays' dtype "
                             f"(|{name}| < 3.4e38), got {values[i]!r}")
    return 0


cdef bint check_bool(object value, str name) except -1:
    if value is True or value is False or isinstance(value, np.bool_):
        return bool(value)
    raise TypeError(f"{name} must be a bool, got {type(value).__name__} {value!r}")


cdef int parse_decay(object decay) except -1:
    if not isinstance(decay, str):
        raise TypeError(f"decay must be a str, one of {DECAY_MODES}, got {decay!r}")
    if decay == "decoupled":
        return PYWD_DECAY_DECOUPLED
    if decay == "l2":
        return PYWD_DECAY_L2
    if decay == "independent":
        return PYWD_DECAY_INDEPENDENT
    if decay == "l1":
        return PYWD_DECAY_L1
    if decay == "corrected":
        return PYWD_DECAY_CORRECTED
    raise ValueError(f"decay must be one of {DECAY_MODES}, got {decay!r}")


cdef int parse_decay_spec(pywd_decay *d, object decay, object weight_decay, object max_lr,
                          object cautious_decay, double lr) except -1:
    """The decay arguments every optimiser takes, checked, into d (lr: the step's rate)."""
    d.weight_decay = check_real(weight_decay, "weight_decay", 0.0, INFINITY)
    d.mode = parse_decay(decay)
    d.max_lr = 0.0                     # the kernels' "max_lr = lr"
    if max_lr is not None:
        d.max_lr = as_real(max_lr, "max_lr")
        if not (isfinite(d.max_lr) and d.max_lr > 0.0):
            raise ValueError(f"max_lr must be a finite number > 0 or None (= lr), got {max_lr!r}")
    d.cautious = check_bool(cautious_decay, "cautious_decay")
    d.caution = 0                      # the update's caution: set by the optimisers with it
    d.caution_scales = NULL
    d.stats = NULL                     # the step's statistics: set by attach_stats
    d.norm_targets = NULL              # weight-norm control: set by attach_norm_targets
    d.norm_rates = NULL
    d.shards = NULL                    # a sharded call's sums: set by attach_anchors
    if d.cautious and d.mode in (PYWD_DECAY_L2, PYWD_DECAY_L1):
        raise ValueError(
            f"cautious_decay=True needs a multiplicative decay ('decoupled', 'independent' or "
            f"'corrected'): decay={decay!r} has no decay step to withhold")
    check_decay_factor(d, lr)
    return 0


cdef int check_decay_factor(const pywd_decay *d, double lr) except -1:
    """Multiplicative decay must not flip or amplify weights: its factor lies in [0, 1]."""
    cdef double wd = d.weight_decay
    cdef double ratio = lr / d.max_lr if d.max_lr > 0.0 else 1.0
    if d.mode == PYWD_DECAY_DECOUPLED and lr * wd > 1.0:
        raise ValueError(
            f"decay='decoupled' multiplies weights by 1 - lr*weight_decay, which must be >= 0; "
            f"got lr={lr!r}, weight_decay={wd!r}")
    if d.mode == PYWD_DECAY_INDEPENDENT and wd * ratio > 1.0:
        raise ValueError(
            f"decay='independent' multiplies weights by 1 - weight_decay*lr/max_lr, which must "
            f"be >= 0; got weight_decay={wd!r}, lr/max_lr={ratio!r}")
    if d.mode == PYWD_DECAY_CORRECTED and wd * lr * ratio > 1.0:
        raise ValueError(
            f"decay='corrected' multiplies weights by 1 - weight_decay*lr**2/max_lr, which must "
            f"be >= 0; got weight_decay={wd!r}, lr={lr!r}, lr/max_lr={ratio!r}")
    return 0


# decay_to of an optimiser's checked step: the anchors are its batch's last argument
ANCHORS_IN_BATCH = object()
# compensation of an optimiser's checked step: in its batch, before any anchors
COMPENSATION_IN_BATCH = object()


cdef int add_anchors(_Batch b, object decay_to) except -1:
    """decay_to's arrays (like params, only read) as the batch's last argument."""
    if decay_to is not None:
        b.add(decay_to, "decay_to", False)
    return 0


cdef int attach_anchors(pywd_decay *d, _Batch b, object decay_to) except -1:
    """Points the decay at its anchors, the batch's last argument, when there are any;
    gives caution, when asked for, its per-tensor workspace (owned by the batch); and hands
    on the batch's exchange of per-tensor sums, when it is a sharded call's (_shard_sums)."""
    cdef cnp.ndarray scales
    d.anchors = <const void *const *>arg(b, b.nops - 1) if decay_to is not None else NULL
    d.shards = &b.shards if b.shard_buffer is not None else NULL
    if d.caution:
        scales = np.empty(max(b.n, 1))
        b.keep.append(scales)
        d.caution_scales = <double *>cnp.PyArray_DATA(scales)
    return 0


STEP_SUMS = 4                          # per tensor (csrc/optim/driver.h's PYWD_STEP_SUMS)


cdef object attach_stats(pywd_decay *d, _Batch b, object stats):
    """The step's statistics' sums, when asked for: None (not asked), or a float64 array of
    (tensors, STEP_SUMS), made (stats=True) or the caller's (checked), owned by the batch."""
    cdef cnp.ndarray sums
    if stats is None or stats is False:
        return None
    if stats is True:
        sums = np.empty((b.n, STEP_SUMS))
    elif (cnp.PyArray_Check(stats) and stats.dtype == np.float64 and
          stats.shape == (b.n, STEP_SUMS) and stats.flags.c_contiguous and
          stats.flags.writeable and stats.flags.aligned and stats.dtype.isnative):
        sums = stats
    else:
        raise (TypeError if not cnp.PyArray_Check(stats) and type(stats) is not bool
               else ValueError)(
            f"stats must be True, or a writeable C-contiguous float64 array of shape "
            f"({b.n}, {STEP_SUMS}) for the sums (one row per tensor), got {stats!r:.60}")
    b.keep.append(sums)
    d.stats = <double *>cnp.PyArray_DATA(sums)
    return sums


STATS_DOC = """\
    stats : bool or ndarray, optional
        True: the result's ``.stats`` is the step's statistics per tensor
        (:class:`pywd.StepStats`: weight norm, update norm, angle the step turned the weights,
        the decay's share of the update), summed in the update's own pass (fixed blocks: the
        same at any thread count); a float64 array of shape (tensors, 4) takes the raw sums
        (``StepStats.from_sums`` reads them). The pass costs a few multiply-adds per element.
"""


cdef int attach_norm_targets(pywd_decay *d, _Batch b, object norm_target) except -1:
    """Weight-norm control's targets, when asked for (norm_target not None): a finite
    number >= 0 for every tensor of the batch, or one per tensor; with their workspace,
    owned by the batch. Needs a multiplicative decay without an anchor or cautious decay."""
    cdef cnp.ndarray targets
    if norm_target is None:
        return 0
    if d.mode not in (PYWD_DECAY_DECOUPLED, PYWD_DECAY_INDEPENDENT, PYWD_DECAY_CORRECTED):
        raise ValueError(
            f"norm_target needs a multiplicative decay ('decoupled', 'independent' or "
            f"'corrected'), whose rate it scales per tensor; the call's decay is "
            f"{'l2' if d.mode == PYWD_DECAY_L2 else 'l1'!r}")
    if d.anchors != NULL:
        raise ValueError("norm_target and decay_to cannot be combined: the target is a norm "
                         "of the weights, the anchor a point that decay pulls them toward")
    if d.cautious:
        raise ValueError("norm_target and cautious_decay=True cannot be combined: under "
                         "norm control decay may grow a tensor, which cautious decay's rule "
                         "(withhold where the update opposes w) does not describe")
    targets = np.empty(2 * max(b.n, 1))
    if isinstance(norm_target, (list, tuple, np.ndarray)):
        values = list(np.asarray(norm_target).ravel()) \
            if isinstance(norm_target, np.ndarray) else list(norm_target)
        if len(values) != b.n:
            raise ValueError(f"norm_target has {len(values)} values for {b.n} tensors: give "
                             f"one number for all or one per tensor")
        for i, value in enumerate(values):
            targets[i] = check_real(value, f"norm_target[{i}]", 0.0, INFINITY)
    else:
        targets[:b.n] = check_real(norm_target, "norm_target", 0.0, INFINITY)
    b.keep.append(targets)
    d.norm_targets = <const double *>cnp.PyArray_DATA(targets)
    d.norm_rates = d.norm_targets + max(b.n, 1)     # the second half: the call's workspace
    return 0


NORM_TARGET_DOC = """\
    norm_target : float or sequence of float, optional
        Weight-norm control (Loshchilov 2023, "Weight Norm Control", arXiv 2311.11446; AdamWN
        for Adam): the multiplicative decay pulls each tensor toward the sphere of radius
        ``norm_target`` (one for all tensors, or one per tensor) instead of toward 0:
        ``w *= 1 - rate * (1 - norm_target / |w|)``, ``rate`` the decay's (``lr *
        weight_decay`` for "decoupled") and ``|w|`` the tensor's norm before the step, taken
        in a first pass of the same call. The norm moves to ``(1 - rate) * |w| + rate *
        norm_target`` before the update; 0 is plain decay, bit for bit. Needs a
        multiplicative ``decay``, no ``decay_to`` and no ``cautious_decay``.
"""


cdef int check_caution(pywd_decay *d, object caution) except -1:
    """The update's caution (an optimiser whose step does not depend on the weights)."""
    d.caution = check_bool(caution, "caution")
    return 0


CAUTION_DOC = """\
    caution : bool, default False
        Cautious update (Liang et al. 2024, "Cautious Optimizers", arXiv 2411.16085; timm's
        ``caution=True``): the step is kept only where it has the gradient's sign (``step *
        g > 0``, g after ``"l2"`` decay) and scaled per tensor by ``1 / max(kept fraction,
        1e-3)``, so its mean size stays; the decay acts as without it. The kept fraction is
        counted in a first pass over the tensor (the same at any thread count).
"""


DECAY_OPTIONS_DOC = """\
    max_lr : float, optional
        The lr that "independent" and "corrected" decay are relative to, finite and > 0;
        None means the step's lr (``lr / max_lr = 1``). Give the schedule's peak lr to have
        the decay follow the schedule.
    cautious_decay : bool, default False
        Cautious weight decay (Chen et al. 2025): the multiplicative modes decay an element
        only where its update (the term subtracted from ``w``) has the sign of ``w``, i.e.
        moves it toward 0 too; elsewhere that step does not decay it. A ValueError with
        "l2" and "l1".
    decay_to : ndarray or list/tuple of ndarray, optional
        Anchors ``w0``, like params (only read; they may not share memory with anything the
        call writes): decay pulls toward them instead of toward 0 (L2-SP, Li et al. 2018),
        every mode acting on ``w - w0`` for ``w``: "l2" adds ``weight_decay * (w - w0)`` to
        the gradient, the multiplicative modes make ``w0 + factor * (w - w0)``, "l1" makes
        ``w0 + soft(w - w0)``. One more array read per element.
"""


cdef int64_t check_step(object step) except -1:
    """The step being taken, an int >= 1 (bias corrections and lr schedules use it)."""
    if type(step) is bool or not isinstance(step, numbers.Integral):
        raise TypeError(f"step must be an int >= 1, got {type(step).__name__} {step!r}")
    if not 1 <= step < 2**62:
        raise ValueError(f"step must be an int >= 1, got {step!r}")
    return step


cdef double check_beta(object value, str name) except? -1.0:
    """A decay rate of a running average: a finite number in [0, 1)."""
    cdef double x = as_real(value, name)
    if not (isfinite(x) and 0.0 <= x < 1.0):
        raise ValueError(f"{name} must be a finite number in [0, 1), got {value!r}")
    return x


cdef tuple torch_betas(object betas, tuple given, tuple defaults):
    """The betas (beta1, beta2, ...) of a function that also takes them as one tuple, torch's
    betas=(beta1, beta2) (AdEMAMix's triple): the tuple when given (then each beta must be
    left at its default), else `given`, the betas as passed one by one."""
    # (indices from the front: the module compiles with wraparound=False)
    cdef Py_ssize_t i, n = len(given)
    cdef list names = [], passed = []
    cdef bint left = True
    if betas is None:
        return given
    for i in range(n):
        names.append(f"beta{i + 1}")
        passed.append(f"beta{i + 1}={given[i]!r}")
        left = left and type(given[i]) is float and given[i] == defaults[i]
    if not isinstance(betas, (tuple, list)) or len(betas) != n:
        raise TypeError(f"betas must be a {'pair' if n == 2 else 'triple'} "
                        f"({', '.join(names)}), got {betas!r}")
    if not left:
        keywords = "=, ".join(names[:n - 1]) + f"= and {names[n - 1]}="
        raise TypeError(f"give betas=({', '.join(names)}) or {keywords}, not both (got "
                        f"betas={betas!r}, {', '.join(passed)})")
    return tuple(betas)


cdef str label(str name, Py_ssize_t i, bint listed):
    return f"{name}[{i}]" if listed else name


# Storage dtypes (DT_F32, DT_BF16, DT_F16 are pywd.h's enum pywd_dtype): 16-bit arrays go with
# float32 computation (csrc/lowp.h), float64 stays float64.
cdef enum:
    DT_F32 = 0
    DT_BF16 = 1
    DT_F16 = 2
    DT_F64 = 3
    DT_Q8 = 4          # 8-bit block-quantised state (a QuantizedState: _q8.pxi)
    DT_OTHER = -1
    DT_UNSET = -2      # (a batch argument's dtype before its first array)

DTYPE_NAMES = ("float32", "bfloat16", "float16", "float64", "8-bit quantised")
DT_F64_CODE = DT_F64     # for pywd.optim
Q8_F64 = ("{}: 8-bit state goes with float32 (or 16-bit) params, which compute in float32; "
          "{} is float64")


cdef int dtype_code(cnp.ndarray a):
    """a's storage dtype as a DT_ code. bfloat16 has no NumPy type number of its own (ml_dtypes
    registers one at import), so it is known by its name and size, never its number or char:
    a uint16 view of bfloat16 bits is uint16, refused."""
    cdef int t = cnp.PyArray_TYPE(a)
    if t == cnp.NPY_FLOAT:
        return DT_F32
    if t == cnp.NPY_DOUBLE:
        return DT_F64
    if t == cnp.NPY_FLOAT16:
        return DT_F16
    if t == cnp.NPY_UINT8 and isinstance(a, QuantizedState):
        return DT_Q8
    dtype = (<object>a).dtype
    if dtype.itemsize == 2 and dtype.kind == "V" and dtype.name == "bfloat16":
        return DT_BF16
    return DT_OTHER


cdef inline int code_itemsize(int code):
    return 8 if code == DT_F64 else (4 if code == DT_F32 else (1 if code == DT_Q8 else 2))


cdef inline bint reduced(int code):
    """Stored in fewer bytes than it computes in (16-bit, 8-bit): the call takes the tiles."""
    return code == DT_BF16 or code == DT_F16 or code == DT_Q8


cdef enum:
    # array arguments per call: Adam with AMSGrad has 5, plus a Kahan compensation and a
    # decay_to anchor
    MAX_OPS = 7
    SMALL_CALL = 8     # arrays per argument handled without allocating
    # Below this many elements a call keeps the GIL: releasing and retaking it costs about as
    # much as updating a few thousand elements (NumPy's ufuncs hold it for small arrays too).
    GIL_RELEASE_MIN = 16384


@cython.freelist(8)
cdef class _Batch:
    """The arrays of one call: argument k holds n arrays (one array counts as a list of one).
    After the checks, ptrs[k*n + i] is array i of argument k and sizes[i] its element count,
    ready for the C kernel. The batch holds a reference to every array (as a tuple per
    argument), so no array can be freed while a kernel runs without the GIL, even if another
    thread empties the caller's list meanwhile."""
    cdef Py_ssize_t n
    cdef int64_t total             # elements per argument, over the whole list
    cdef int nops, max_ops, typenum   # typenum: the dtype computed in (NPY_FLOAT or NPY_DOUBLE)
    cdef bint mixed                # dtype may differ between list positions (optimisers)
    cdef bint allow_16bit          # bfloat16/float16 arrays accepted (the optimisers' kernels)
    cdef str no_16bit              # else: why not, for the error (None: the default reason)
    cdef bint lowp                 # (not mixed) some argument is 16-bit
    cdef int codes[MAX_OPS]        # (not mixed) each argument's storage dtype, a DT_ code
    cdef list keep                 # the argument tuples: owns the references
    cdef PyObject *seqs[MAX_OPS]   # borrowed from keep
    cdef PyObject *names[MAX_OPS]  # borrowed from the callers' string constants
    cdef bint listed[MAX_OPS]      # given as a list (errors say "params[3]", else "params")
    cdef bint written[MAX_OPS]     # the kernel writes this argument (else only reads it)
    cdef int rules[MAX_OPS]        # its shape: SHAPE_PARAM, or an Adafactor factor's
    cdef void **ptrs
    cdef int64_t *sizes
    cdef int64_t *ids              # (a _subset's) each tensor's position in the whole step
    cdef object shard_buffer       # None, or a sharded call's per-tensor sums (_shard_sums)
    cdef pywd_shard_sums shards    # their exchange, pointing into shard_buffer
    cdef void *small_ptrs[MAX_OPS * SMALL_CALL]
    cdef int64_t small_sizes[SMALL_CALL]

    def __dealloc__(self):
        PyMem_Free(self.ids)
        if self.ptrs != self.small_ptrs:
            PyMem_Free(self.ptrs)
        if self.sizes != self.small_sizes:
            PyMem_Free(self.sizes)

    cdef inline bint release_gil(self):
        return self.total >= GIL_RELEASE_MIN

    cdef inline object array(self, int k, Py_ssize_t i):
        return <object>PyTuple_GET_ITEM(<object>self.seqs[k], i)

    cdef str where(self, int k, Py_ssize_t i):
        return label(<str>self.names[k], i, self.listed[k])

    cdef int add(self, object obj, str name, bint written, bint optional=False,
                 int rule=SHAPE_PARAM) except -1:
        """Checks argument `name` (one array or a list/tuple) against the arguments before it.
        With `optional`, a None in the list stands for no array (its pointer is NULL). `rule`:
        its arrays are shaped as the params (SHAPE_PARAM), or as their Adafactor factors."""
        cdef int k = self.nops
        cdef Py_ssize_t i
        cdef tuple seq
        if k >= self.max_ops:
            raise RuntimeError("pywd internal error: too many array arguments")
        if cnp.PyArray_Check(obj):
            seq, self.listed[k] = (obj,), False
        elif type(obj) is list or type(obj) is tuple:
            seq, self.listed[k] = tuple(obj), True
            if not all_arrays(seq, optional):
                seq = tuple([x if cnp.PyArray_Check(x) or (optional and x is None)
                             else as_view(x, label(name, i, True)) for i, x in enumerate(seq)])
        elif is_array_like(obj):
            seq, self.listed[k] = (as_view(obj, name),), False
        else:
            raise TypeError(f"{name} must be a numpy.ndarray or a list/tuple of them, "
                            f"got {type(obj).__name__}")
        self.keep.append(seq)
        self.seqs[k], self.names[k] = <PyObject *>seq, <PyObject *>name
        self.written[k] = written
        self.rules[k] = rule
        self.codes[k] = DT_UNSET
        if k == 0:
            self.allocate(len(seq))
        elif len(seq) != self.n:
            raise ValueError(f"{name} has {len(seq)} arrays but {<str>self.names[0]} has "
                             f"{self.n}: every argument needs one array per parameter")
        for i in range(self.n):
            if optional and seq[i] is None:
                self.ptrs[k * self.n + i] = NULL
            else:
                self.check(seq[i], i, written)
        self.nops += 1
        return 0

    def _lists(self):
        """Each argument's arrays, a list per argument (a checked step re-listed, for an
        update that adds arrays of its own: Muon's)."""
        return [list(<tuple>self.seqs[k]) for k in range(self.nops)]

    def _shard_sums(self, bint given):
        """A sharded call's exchange of per-tensor sums (pywd_shard_sums): the (tensors, 3)
        float64 array the kernels of this batch fill with their sums and return without
        updating (given False: zeroed, then filled by the next call), or take instead of
        computing them, once the caller has added every shard's (given True)."""
        cdef cnp.ndarray buffer
        if self.shard_buffer is None:
            self.shard_buffer = np.zeros((max(self.n, 1), PYWD_SHARD_SUMS))
        buffer = self.shard_buffer
        if not given:
            buffer[...] = 0.0
        self.shards.sums = <double *>cnp.PyArray_DATA(buffer)
        self.shards.mode = PYWD_SHARDS_IN if given else PYWD_SHARDS_OUT
        return buffer[:self.n]

    def _subset(self, positions, tuple ops, bint absent_ok=False):
        """For an optimiser, after one validation of its whole step (_check_step): the arrays
        at list positions `positions` (a list or range, of one dtype) of the arguments
        `ops`, in that order, as a batch that an update function takes in place of its
        arrays and runs without checking them again. Only gathers: every array was checked,
        in this batch, with every other (a whole step is validated before its
        first kernel). With `absent_ok`, a state array a parameter does not have (by its
        shape: Adafactor's) passes as None (a NULL pointer)."""
        cdef _Batch s = new_batch(len(ops))
        cdef Py_ssize_t j, i, n = len(positions)
        cdef Py_ssize_t *index = index_array(positions, n, self.n)
        cdef int q, k
        cdef tuple seq, picked
        try:
            s.allocate(n)
            for q, k in enumerate(ops):
                if not 0 <= k < self.nops:
                    raise ValueError(f"pywd internal error: no argument {k} in the batch")
                seq = <tuple>self.seqs[k]
                picked = PyTuple_New(n)
                for j in range(n):
                    i = index[j]
                    if self.ptrs[k * self.n + i] == NULL and not absent_ok:
                        raise ValueError(f"pywd internal error: {self.where(k, i)} is absent")
                    s.ptrs[q * n + j] = self.ptrs[k * self.n + i]
                    item = <object>PyTuple_GET_ITEM(seq, i)
                    Py_INCREF(item)
                    PyTuple_SET_ITEM(picked, j, item)
                s.keep.append(picked)
                s.seqs[q], s.names[q] = <PyObject *>picked, self.names[k]
                s.listed[q], s.written[q] = True, self.written[k]
                s.rules[q] = self.rules[k]
                s.nops = q + 1
            s.ids = <int64_t *>PyMem_Malloc((n if n else 1) * sizeof(int64_t))
            if s.ids == NULL:
                raise MemoryError()
            for j in range(n):
                s.sizes[j] = self.sizes[index[j]]
                s.total += s.sizes[j]
                s.ids[j] = index[j]
            if n:
                for q in range(s.nops):
                    s.codes[q] = DT_UNSET
                    for j in range(n):
                        if s.ptrs[q * n + j] == NULL:
                            continue
                        if s.codes[q] == DT_UNSET:
                            s.codes[q] = dtype_code(<cnp.ndarray>s.array(q, j))
                            s.lowp = s.lowp or reduced(s.codes[q])
                        elif dtype_code(<cnp.ndarray>s.array(q, j)) != s.codes[q]:
                            raise ValueError("pywd internal error: a kernel run mixes dtypes")
                s.typenum = cnp.NPY_DOUBLE if s.codes[0] == DT_F64 else cnp.NPY_FLOAT
        finally:
            PyMem_Free(index)
        return s

    def _partition(self, positions, ops, keys=None):
        """Splits positions (a list or range, of a checked step) into runs that one kernel
        call can take: [(dtypes, key, positions)], one per (dtypes, key) in order of first
        appearance, where dtypes is the tuple of DT_ codes of the arguments `ops` at those
        positions; keys[j] (optional, hashable: a step counter, say, or a tuple of a counter
        and a scalar state) is positions[j]'s key. The common case, one run, costs a few ns
        per position and argument (equal counters are one int object: `is` decides)."""
        cdef Py_ssize_t j, n = len(positions)
        cdef Py_ssize_t *index
        cdef object k0, k
        if n == 0:
            return []
        if keys is not None and len(keys) != n:
            raise ValueError("pywd internal error: one key per position")
        index = index_array(positions, n, self.n)
        try:
            s0 = self.signature(index[0], ops)
            k0 = keys[0] if keys is not None else None
            for j in range(n):
                if self.signature(index[j], ops) != s0:
                    break
                if keys is not None:
                    k = keys[j]
                    if k is not k0 and k != k0:
                        break
            else:
                return [(self.codes_of(s0, ops), keys[0] if keys is not None else None,
                         positions)]
            runs = {}
            for j in range(n):
                key = keys[j] if keys is not None else None
                runs.setdefault((self.signature(index[j], ops), key), []).append(index[j])
            return [(self.codes_of(sig, ops), key, run) for (sig, key), run in runs.items()]
        finally:
            PyMem_Free(index)

    cdef long signature(self, Py_ssize_t i, tuple ops) except -1:
        """The DT_ codes of position i's arrays in the arguments `ops`, 3 bits each (for no
        array, a state that a parameter's shape does not need, its param's: so that
        Adafactor's factored and other params share a call)."""
        cdef long sig = 0
        cdef int q
        cdef int k
        for q in range(len(ops)):
            k = <int>ops[q]
            if self.ptrs[k * self.n + i] == NULL:
                k = 0
            sig |= (<long>(dtype_code(<cnp.ndarray>self.array(k, i)) & 7)) << (3 * q)
        return sig

    cdef tuple codes_of(self, long sig, tuple ops):
        return tuple([(sig >> (3 * q)) & 7 for q in range(len(ops))])

    cdef int allocate(self, Py_ssize_t n) except -1:
        self.n = n
        if n <= SMALL_CALL:
            self.ptrs, self.sizes = self.small_ptrs, self.small_sizes
            return 0
        self.ptrs = <void **>PyMem_Malloc(self.max_ops * n * sizeof(void *))
        self.sizes = <int64_t *>PyMem_Malloc(n * sizeof(int64_t))
        if self.ptrs == NULL or self.sizes == NULL:
            raise MemoryError()
        return 0

    cdef int check(self, object obj, Py_ssize_t i, bint written) except -1:
        cdef int k = self.nops
        cdef cnp.ndarray a, ref
        if not cnp.PyArray_Check(obj):
            raise TypeError(f"{self.where(k, i)}: expected a numpy.ndarray, "
                            f"got {type(obj).__name__}")
        a = <cnp.ndarray>obj
        self.check_dtype(a, i)
        if not cnp.PyArray_ISNOTSWAPPED(a):
            raise TypeError(f"{self.where(k, i)}: expected native byte order, "
                            f"got dtype {a.dtype.str!r}")
        if not (cnp.PyArray_IS_C_CONTIGUOUS(a) or cnp.PyArray_IS_F_CONTIGUOUS(a)):
            raise ValueError(f"{self.where(k, i)}: must be C- or F-contiguous "
                             f"(pywd updates in place and never copies), got strides "
                             f"{obj.strides} for shape {obj.shape}")
        if not cnp.PyArray_ISALIGNED(a):
            raise ValueError(f"{self.where(k, i)}: data is not aligned to its "
                             f"dtype ({a.dtype}); pass a copy made by numpy")
        if written and not cnp.PyArray_ISWRITEABLE(a):
            raise ValueError(f"{self.where(k, i)}: is read-only, and pywd "
                             f"writes it in place")
        if k > 0:
            ref = <cnp.ndarray>self.array(0, i)
            if self.rules[k] != SHAPE_PARAM:
                check_factor(a, ref, self.rules[k], self.where(k, i), self.where(0, i))
            elif not is_like(a, ref):
                raise_unlike(a, ref, self.where(k, i), self.where(0, i))
        else:
            self.sizes[i] = cnp.PyArray_SIZE(a)
            self.total += self.sizes[i]
        self.ptrs[k * self.n + i] = cnp.PyArray_DATA(a)
        return 0

    cdef int check_dtype(self, cnp.ndarray a, Py_ssize_t i) except -1:
        """Array i of the argument being added: float32 or float64 (and, where the kernels
        take them, bfloat16 or float16, which compute in float32); every array of a position
        computes in its parameter's precision; in a call (not mixed) each argument has one
        dtype throughout its list."""
        cdef int k = self.nops, code = dtype_code(a), ref
        if code == DT_OTHER and k > 0:
            ref_where = self.where(0, i) if self.mixed else self.where(0, 0)
            raise TypeError(f"{self.where(k, i)}: expected {self.array(0, i).dtype} like "
                            f"{ref_where}, got {a.dtype}"
                            + (Q8_HINT if a.dtype == np.uint8 and self.allow_16bit else
                               convert_hint(self.written[k], self.array(0, i).dtype)))
        if code == DT_Q8 and (k == 0 or not self.allow_16bit):
            raise TypeError(f"{self.where(k, i)}: 8-bit quantised storage is for optimiser "
                            f"state" + ("" if k else ", not for params"))
        if code == DT_OTHER or (not self.allow_16bit and (code == DT_BF16 or code == DT_F16)):
            kinds = "float32, float64, bfloat16 or float16" if self.allow_16bit else \
                "float32 or float64"
            raise TypeError(f"{self.where(k, i)}: expected {kinds}, got {a.dtype}"
                            + ("" if self.allow_16bit or code == DT_OTHER else
                               f" ({self.no_16bit or NO_16BIT})"))
        if self.mixed:
            if k == 0:
                return 0
            ref = dtype_code(<cnp.ndarray>self.array(0, i))
            if code == DT_Q8 and ref == DT_F64:
                raise TypeError(Q8_F64.format(self.where(k, i), self.where(0, i)))
            if (code == DT_F64) != (ref == DT_F64) or (code != ref and not self.allow_16bit):
                raise TypeError(f"{self.where(k, i)}: expected {self.array(0, i).dtype} like "
                                f"{self.where(0, i)}, got {a.dtype}"
                                + convert_hint(self.written[k], self.array(0, i).dtype))
            return 0
        if k == 0 and i == 0:
            self.typenum = cnp.NPY_DOUBLE if code == DT_F64 else cnp.NPY_FLOAT
        else:
            ref = self.codes[0]
            if code == DT_Q8 and ref == DT_F64:
                raise TypeError(Q8_F64.format(self.where(k, i), self.where(0, 0)))
            if (code == DT_F64) != (ref == DT_F64) or (code != ref and not self.allow_16bit):
                raise TypeError(f"{self.where(k, i)}: expected {DTYPE_NAMES[ref]} like "
                                f"{self.where(0, 0)}, got {a.dtype}"
                                + convert_hint(self.written[k], DTYPE_NAMES[ref]))
        if self.codes[k] == DT_UNSET:      # its first array (an optional one may be None)
            self.codes[k] = code
            self.lowp = self.lowp or reduced(code)
        elif code != self.codes[k]:
            raise TypeError(f"{self.where(k, i)}: expected {DTYPE_NAMES[self.codes[k]]} like "
                            f"{self.where(k, 0)}, got {a.dtype} (one dtype per argument "
                            f"of a call)"
                            + convert_hint(self.written[k], DTYPE_NAMES[self.codes[k]]))
        return 0

    cdef int check_overlap(self) except -1:
        """No array that the call writes may share a byte with any other array of the call:
        a grad that is its param, a param listed twice, a buffer that views a weight would
        be read after being written. Arrays that are only read (grads) may share memory with
        each other: one gradient array for two parameters is fine. See _overlap.pxi."""
        cdef uint64_t first, second
        cdef uint64_t small[SMALL_CALL * MAX_OPS]
        cdef uint64_t *nbytes = small
        cdef Py_ssize_t i
        cdef int found, k
        if self.n == 0:
            return 0
        if self.n > SMALL_CALL:
            nbytes = <uint64_t *>PyMem_Malloc(self.n * self.nops * sizeof(uint64_t))
            if nbytes == NULL:
                raise MemoryError()
        try:
            for k in range(self.nops):   # bytes per slot: dtypes (and, for a factor of
                for i in range(self.n):  # Adafactor's, sizes) may differ by argument
                    if self.ptrs[k * self.n + i] != NULL and self.rules[k] != SHAPE_PARAM:
                        nbytes[k * self.n + i] = cnp.PyArray_NBYTES(
                            <cnp.ndarray>self.array(k, i))
                        continue
                    nbytes[k * self.n + i] = self.sizes[i] * (
                        cnp.PyArray_ITEMSIZE(<cnp.ndarray>self.array(k, i))
                        if self.mixed and self.ptrs[k * self.n + i] != NULL
                        else code_itemsize(self.codes[k]))
            found = find_overlap(self.ptrs, self.n, self.nops, nbytes, self.written,
                                 &first, &second)
        finally:
            if nbytes != small:
                PyMem_Free(nbytes)
        if found:
            self.raise_overlap(first & ((1 << OP_BITS) - 1), first >> OP_BITS,
                               second & ((1 << OP_BITS) - 1), second >> OP_BITS)
        return 0

    cdef int raise_overlap(self, int op_a, Py_ssize_t a, int op_b, Py_ssize_t b) except -1:
        if (op_b, b) < (op_a, a):
            op_a, a, op_b, b = op_b, b, op_a, a
        raise ValueError(
            f"{self.where(op_a, a)} and {self.where(op_b, b)} overlap in memory: "
            f"an array the call writes must not share memory with any other (a grad is not "
            f"its param, no array twice; only gradients may share)")


cdef bint all_arrays(tuple seq, bint optional):
    """Every entry an ndarray (or None, if optional): nothing to convert."""
    cdef Py_ssize_t i
    for i in range(len(seq)):
        if not (cnp.PyArray_Check(seq[i]) or (optional and seq[i] is None)):
            return False
    return True


cdef bint is_array_like(object obj):
    """Speaks one of NumPy's array protocols (a torch tensor, an object with
    __array_interface__, a buffer such as array.array or memoryview)."""
    return (hasattr(obj, "__array__") or has_memory_protocol(obj) or
            hasattr(obj, "__dlpack__"))


cdef bint has_memory_protocol(object obj):
    """Describes its own memory to NumPy (data pointer and layout): the buffer protocol,
    __array_interface__ or __array_struct__. NumPy's view of such an object is that memory."""
    return (PyObject_CheckBuffer(obj) or hasattr(obj, "__array_interface__") or
            hasattr(obj, "__array_struct__"))


cdef object as_view(object obj, str where):
    """`obj` as an ndarray sharing its memory, or an error: pywd updates in place, so only
    objects whose memory NumPy can prove is theirs are accepted (ndarrays and subclasses,
    the buffer protocol, __array_interface__/__array_struct__, DLPack). An object that offers
    only __array__ (which may return a copy, or a view of one) is refused, never updated as a
    silent copy."""
    if not is_array_like(obj) or isinstance(obj, (str, bytes)):
        raise TypeError(f"{where}: expected a numpy.ndarray, got {type(obj).__name__}")
    if has_memory_protocol(obj):
        try:
            a = np.asarray(obj)
        except Exception as err:
            raise TypeError(f"{where}: a {type(obj).__name__} that NumPy cannot view as an "
                            f"array in place: {err}") from None
    elif hasattr(obj, "__dlpack__"):
        if getattr(obj, "requires_grad", False) is True:
            raise TypeError(f"{where}: a {type(obj).__name__} that requires grad, which NumPy "
                            f"cannot view in place: pass p.detach(), which shares its memory")
        try:
            a = np.from_dlpack(obj)
        except Exception as err:
            raise TypeError(f"{where}: a {type(obj).__name__} that NumPy cannot view as an "
                            f"array in place (DLPack): {err}") from None
    else:
        raise TypeError(f"{where}: a {type(obj).__name__} offers only __array__, which may "
                        f"return a copy, and pywd works in place: pass a numpy array, or an "
                        f"object with the buffer protocol, __array_interface__ or __dlpack__")
    if a.base is None or a.flags.owndata:
        raise TypeError(f"{where}: NumPy can only copy this {type(obj).__name__}, and pywd "
                        f"works in place: pass an array that shares its memory")
    return a


def _as_view(obj, where="tensor"):
    """For init and the optimisers: an ndarray itself, or an ndarray view that shares
    `obj`'s memory (see as_view); anything else is a TypeError naming `where`."""
    if cnp.PyArray_Check(obj):
        return obj
    return as_view(obj, where)


cdef Py_ssize_t *index_array(object positions, Py_ssize_t n, Py_ssize_t limit) except NULL:
    """positions (a range or a list of ints, each in [0, limit)) as a C array to free."""
    cdef Py_ssize_t *index = <Py_ssize_t *>PyMem_Malloc((n if n else 1) * sizeof(Py_ssize_t))
    cdef Py_ssize_t j, start, step
    if index == NULL:
        raise MemoryError()
    try:
        if type(positions) is range:
            start, step = positions.start, positions.step
            for j in range(n):
                index[j] = start + j * step
        else:
            for j in range(n):
                index[j] = positions[j]
        for j in range(n):
            if not 0 <= index[j] < limit:
                raise ValueError(f"pywd internal error: position {index[j]} of {limit}")
    except BaseException:
        PyMem_Free(index)
        raise
    return index


NO_16BIT = "16-bit storage is for the optimisers' updates"


cdef _Batch new_batch(int max_ops, bint mixed=False, bint allow_16bit=False):
    cdef _Batch b
    if max_ops > MAX_OPS:         # the per-argument fields are arrays of MAX_OPS entries
        raise RuntimeError(f"pywd internal error: {max_ops} array arguments, at most "
                           f"{MAX_OPS}")
    b = _Batch.__new__(_Batch)
    b.max_ops = max_ops
    b.mixed = mixed
    b.allow_16bit = allow_16bit
    b.keep = []
    return b


cdef bint is_like(cnp.ndarray a, cnp.ndarray ref):
    """Same shape as ref, and the same element order in memory (C vs F), so that element k
    of one is element k of the other when both are walked as flat buffers."""
    cdef int nd = cnp.PyArray_NDIM(a)
    if nd != cnp.PyArray_NDIM(ref):
        return False
    cdef cnp.npy_intp *dims = cnp.PyArray_DIMS(a)
    cdef cnp.npy_intp *ref_dims = cnp.PyArray_DIMS(ref)
    cdef int d
    for d in range(nd):     # (0-d arrays have NULL dims: never read)
        if dims[d] != ref_dims[d]:
            return False
    return ((cnp.PyArray_IS_C_CONTIGUOUS(a) and cnp.PyArray_IS_C_CONTIGUOUS(ref)) or
            (cnp.PyArray_IS_F_CONTIGUOUS(a) and cnp.PyArray_IS_F_CONTIGUOUS(ref)))


cdef enum:
    SHAPE_PARAM = 0    # an argument's arrays are shaped as their params
    SHAPE_ROWS = 1     # Adafactor's row factor: the param's shape with its last axis 1
    SHAPE_COLS = 2     # its column factor: with its second-to-last axis 1

SHAPE_RULES = {None: SHAPE_PARAM, "rows": SHAPE_ROWS, "cols": SHAPE_COLS}


def _factor_shape(shape, rule):
    """Adafactor's factor of a parameter of `shape` (2 or more dims): its shape with the last
    axis 1 ("rows": one value per row) or the second-to-last axis 1 ("cols")."""
    shape = list(shape)
    shape[len(shape) - (1 if rule == "rows" else 2)] = 1
    return tuple(shape)


cdef int check_factor(cnp.ndarray a, cnp.ndarray ref, int rule, str where,
                      str ref_where) except -1:
    cdef str kind = "rows" if rule == SHAPE_ROWS else "cols"
    if cnp.PyArray_NDIM(ref) < 2:
        raise ValueError(f"{where}: a factor of {ref_where}, which has "
                         f"{cnp.PyArray_NDIM(ref)} dims (factors are for 2 or more)")
    expected = _factor_shape((<object>ref).shape, kind)
    if (<object>a).shape != expected:
        raise ValueError(f"{where}: shape {(<object>a).shape}, expected {expected} (the "
                         f"shape of {ref_where} with its "
                         f"{'last' if rule == SHAPE_ROWS else 'second-to-last'} axis 1)")
    if not cnp.PyArray_IS_C_CONTIGUOUS(a):
        raise ValueError(f"{where}: must be C-contiguous, got strides {(<object>a).strides}")
    return 0


cdef int raise_unlike(cnp.ndarray a, cnp.ndarray ref, str where, str ref_where) except -1:
    cdef object shape = (<object>a).shape, ref_shape = (<object>ref).shape
    if shape != ref_shape:
        raise ValueError(f"{where}: shape {shape} does not match {ref_where} shape {ref_shape}")
    raise ValueError(f"{where}: memory order ({order(a)}) differs from {ref_where} "
                     f"({order(ref)}); pass both in the same order (a gradient converts with "
                     f"np.{'ascontiguousarray' if order(ref) == 'C' else 'asfortranarray'}(g); "
                     f"a converted parameter or state array is a copy, to be used from then on)")


cdef str convert_hint(bint written, object dtype):
    """How to fix a dtype mismatch: a gradient (only read) converts as it is passed; a
    written array converted would be a copy, so it must be replaced by it."""
    if written:
        return f" (make it {dtype} where it is created: pywd updates it in place)"
    return f" (convert it as you pass it: g.astype(np.{dtype}))"


cdef str order(cnp.ndarray a):
    return "C" if cnp.PyArray_IS_C_CONTIGUOUS(a) else "F"


def _check_arrays(params, name="params", lowp=False):
    """Validation alone (optimisers' add_param_group, init): params as the kernels require
    them (float32 or float64 per position, or with `lowp` bfloat16 and float16 too;
    contiguous, aligned, writeable, non-overlapping)."""
    cdef _Batch b = new_batch(1, True, lowp)
    b.add(params, name, True)
    b.check_overlap()


# The one C call of a public function: `kernel` runs over every array of the batch, without the
# GIL when the batch is big enough for that to pay.
ctypedef void (*batch_kernel)(const void *hyper, _Batch b) noexcept nogil


cdef inline int run(batch_kernel kernel, const void *hyper, _Batch b) except -1:
    if b.n == 0:
        return 0
    if b.release_gil():
        with nogil:
            kernel(hyper, b)
    else:
        kernel(hyper, b)
    return 0


cdef inline void **arg(_Batch b, int k) noexcept nogil:
    """The pointer array of argument k (NULL if the call did not take that argument)."""
    return b.ptrs + k * b.n if k < b.nops else NULL
