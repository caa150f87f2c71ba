# Validation shared by every entry point: scalars, decay modes, and _Batch, which checks the
# arrays of one call (one array or a list per argument) and collects their data pointers.
# Every check runs before any kernel does, so a failure leaves every array untouched.
import numbers

import numpy as np

from cpython.mem cimport PyMem_Free, PyMem_Malloc
from libc.math cimport INFINITY, isfinite
from libc.stdlib cimport qsort
from libc.string cimport memcmp

DECAY_MODES = ("l2", "decoupled", "independent", "l1")


cdef double as_real(object value, str name) except? -1.0:
    """`value` as a C double, refusing what is not a real number (str, None, complex)."""
    if type(value) is float:
        return <double>value
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
    raise ValueError(f"decay must be one of {DECAY_MODES}, got {decay!r}")


cdef int check_decay_factor(int decay, double lr, double weight_decay) except -1:
    """Multiplicative decay must not flip or amplify weights: its factor lies in [0, 1]."""
    if decay == PYWD_DECAY_DECOUPLED and lr * weight_decay > 1.0:
        raise ValueError(
            f"decay='decoupled' multiplies weights by 1 - lr*weight_decay, which must be >= 0; "
            f"got lr={lr!r}, weight_decay={weight_decay!r}")
    if decay == PYWD_DECAY_INDEPENDENT and weight_decay > 1.0:
        raise ValueError(
            f"decay='independent' multiplies weights by 1 - weight_decay, which must be >= 0; "
            f"got weight_decay={weight_decay!r}")
    return 0


cdef str label(str name, Py_ssize_t i, bint listed):
    return f"{name}[{i}]" if listed else name


DEF SMALL_CALL = 8   # arrays per call checked without allocating

cdef struct Extent:
    size_t start, end      # bytes [start, end) of one array
    int op                 # argument position within the call
    Py_ssize_t index       # list index


cdef int by_start(const void *a, const void *b) noexcept nogil:
    cdef size_t x = (<const Extent *>a).start, y = (<const Extent *>b).start
    return (x > y) - (x < y)


cdef class _Batch:
    """The arrays of one call: argument k of the call holds n arrays (one array counts as a
    list of one). After the checks, ptrs[k*n + i] is array i of argument k and sizes[i] its
    element count, ready for the C kernel."""
    cdef Py_ssize_t n
    cdef int nops, max_ops, typenum
    cdef bint mixed        # dtype may differ between list positions (optimisers' checks)
    cdef list seqs, names, listed
    cdef void **ptrs
    cdef int64_t *sizes

    def __dealloc__(self):
        PyMem_Free(self.ptrs)
        PyMem_Free(self.sizes)

    cdef int add(self, object obj, str name, bint written, bint optional=False) except -1:
        """Checks argument `name` (one array or a list/tuple) against the arguments before it.
        With `optional`, a None in the list stands for no array (its pointer is NULL)."""
        cdef bint listed
        cdef Py_ssize_t i
        cdef object seq
        if cnp.PyArray_Check(obj):
            seq, listed = (obj,), False
        elif type(obj) is list or type(obj) is tuple:
            seq, listed = obj, True
        else:
            raise TypeError(f"{name} must be a numpy.ndarray or a list/tuple of them, "
                            f"got {type(obj).__name__}")
        if self.nops == 0:
            self.n = len(seq)
            self.ptrs = <void **>PyMem_Malloc(max(1, self.max_ops * self.n) * sizeof(void *))
            self.sizes = <int64_t *>PyMem_Malloc(max(1, self.n) * sizeof(int64_t))
            if self.ptrs == NULL or self.sizes == NULL:
                raise MemoryError()
            if self.n > 0 and not self.mixed:
                self.typenum = first_dtype(seq[0], label(name, 0, listed))
        elif len(seq) != self.n:
            raise ValueError(f"{name} has {len(seq)} arrays but {self.names[0]} has {self.n}: "
                             f"every argument needs one array per parameter")
        self.seqs.append(seq)
        self.names.append(name)
        self.listed.append(listed)
        for i in range(self.n):
            if optional and seq[i] is None:
                self.ptrs[self.nops * self.n + i] = NULL
            else:
                self.check(seq[i], i, written)
        self.nops += 1
        return 0

    cdef int check(self, object obj, Py_ssize_t i, bint written) except -1:
        cdef int k = self.nops
        cdef str name = self.names[k]
        cdef cnp.ndarray a, ref
        if not cnp.PyArray_Check(obj):
            raise TypeError(f"{label(name, i, self.listed[k])}: expected a numpy.ndarray, "
                            f"got {type(obj).__name__}")
        a = <cnp.ndarray>obj
        if self.mixed and k == 0:
            first_dtype(a, label(name, i, self.listed[k]))
        elif self.mixed and cnp.PyArray_TYPE(a) != cnp.PyArray_TYPE(<cnp.ndarray>self.seqs[0][i]):
            raise TypeError(f"{label(name, i, self.listed[k])}: expected "
                            f"{self.seqs[0][i].dtype} like {label(self.names[0], i, self.listed[0])}, "
                            f"got {a.dtype}")
        elif not self.mixed and cnp.PyArray_TYPE(a) != self.typenum:
            raise TypeError(f"{label(name, i, self.listed[k])}: expected "
                            f"{cnp.PyArray_DescrFromType(self.typenum)} like "
                            f"{label(self.names[0], 0, self.listed[0])}, got {a.dtype}")
        if not cnp.PyArray_ISNOTSWAPPED(a):
            raise TypeError(f"{label(name, i, self.listed[k])}: expected native byte order, "
                            f"got dtype {a.dtype.str!r}")
        if not (cnp.PyArray_IS_C_CONTIGUOUS(a) or cnp.PyArray_IS_F_CONTIGUOUS(a)):
            raise ValueError(f"{label(name, i, self.listed[k])}: must be C- or F-contiguous "
                             f"(pywd updates in place and never copies), got strides "
                             f"{obj.strides} for shape {obj.shape}")
        if not cnp.PyArray_ISALIGNED(a):
            raise ValueError(f"{label(name, i, self.listed[k])}: data is not aligned to its "
                             f"dtype ({a.dtype}); pass a copy made by numpy")
        if written and not cnp.PyArray_ISWRITEABLE(a):
            raise ValueError(f"{label(name, i, self.listed[k])}: is read-only, and pywd "
                             f"writes it in place")
        if k > 0:
            ref = <cnp.ndarray>self.seqs[0][i]
            if not is_like(a, ref):
                raise_unlike(a, ref, label(name, i, self.listed[k]),
                             label(self.names[0], i, self.listed[0]))
        else:
            self.sizes[i] = cnp.PyArray_SIZE(a)
        self.ptrs[k * self.n + i] = cnp.PyArray_DATA(a)
        return 0

    cdef int check_overlap(self) except -1:
        """No two arrays of the call may share a byte: a grad that is its param, a param
        listed twice, a buffer that views a weight would all be read after being written."""
        cdef Py_ssize_t m = 0, i, k
        cdef size_t nbytes
        cdef Extent *ext
        cdef Extent widest
        cdef Extent small[SMALL_CALL]
        if self.n == 0:
            return 0
        if self.nops * self.n <= SMALL_CALL:
            ext = small
        else:
            ext = <Extent *>PyMem_Malloc(self.nops * self.n * sizeof(Extent))
            if ext == NULL:
                raise MemoryError()
        try:
            for i in range(self.n):
                nbytes = self.sizes[i] * cnp.PyArray_ITEMSIZE(<cnp.ndarray>self.seqs[0][i])
                for k in range(self.nops):
                    if nbytes > 0 and self.ptrs[k * self.n + i] != NULL:
                        ext[m].start = <size_t>self.ptrs[k * self.n + i]
                        ext[m].end = ext[m].start + nbytes
                        ext[m].op, ext[m].index = k, i
                        m += 1
            if m < 2:
                return 0
            qsort(ext, m, sizeof(Extent), by_start)
            widest = ext[0]
            for i in range(1, m):
                if ext[i].start < widest.end:
                    self.raise_overlap(widest, ext[i])
                if ext[i].end > widest.end:
                    widest = ext[i]
        finally:
            if ext != small:
                PyMem_Free(ext)
        return 0

    cdef int raise_overlap(self, Extent a, Extent b) except -1:
        if (b.op, b.index) < (a.op, a.index):
            a, b = b, a
        raise ValueError(
            f"{label(self.names[a.op], a.index, self.listed[a.op])} and "
            f"{label(self.names[b.op], b.index, self.listed[b.op])} overlap in memory: the "
            f"arrays of one call must be distinct (a grad is not its param, no array twice)")


cdef _Batch new_batch(int max_ops, bint mixed=False):
    cdef _Batch b = _Batch.__new__(_Batch)
    b.max_ops = max_ops
    b.mixed = mixed
    b.seqs, b.names, b.listed = [], [], []
    return b


cdef int first_dtype(object obj, str where) except -1:
    """The call's dtype, from its first array: float32 or float64."""
    cdef int t
    if not cnp.PyArray_Check(obj):
        raise TypeError(f"{where}: expected a numpy.ndarray, got {type(obj).__name__}")
    t = cnp.PyArray_TYPE(<cnp.ndarray>obj)
    if t != cnp.NPY_FLOAT and t != cnp.NPY_DOUBLE:
        raise TypeError(f"{where}: expected float32 or float64, got {obj.dtype}")
    return t


cdef bint is_like(cnp.ndarray a, cnp.ndarray ref):
    """Same shape as ref, and the same element order in memory (C vs F), so that element k
    of one is element k of the other when both are walked as flat buffers."""
    cdef int nd = cnp.PyArray_NDIM(a)
    if nd != cnp.PyArray_NDIM(ref) or memcmp(cnp.PyArray_DIMS(a), cnp.PyArray_DIMS(ref),
                                             nd * sizeof(cnp.npy_intp)) != 0:
        return False
    return ((cnp.PyArray_IS_C_CONTIGUOUS(a) and cnp.PyArray_IS_C_CONTIGUOUS(ref)) or
            (cnp.PyArray_IS_F_CONTIGUOUS(a) and cnp.PyArray_IS_F_CONTIGUOUS(ref)))


cdef int raise_unlike(cnp.ndarray a, cnp.ndarray ref, str where, str ref_where) except -1:
    cdef object shape = (<object>a).shape, ref_shape = (<object>ref).shape
    if shape != ref_shape:
        raise ValueError(f"{where}: shape {shape} does not match {ref_where} shape {ref_shape}")
    raise ValueError(f"{where}: memory order ({order(a)}) differs from {ref_where} "
                     f"({order(ref)}); pass both in the same order")


cdef str order(cnp.ndarray a):
    return "C" if cnp.PyArray_IS_C_CONTIGUOUS(a) else "F"


def _check_arrays(params, grads=None):
    """Validation alone, for the optimisers, which check a whole step (every group, every
    dtype) before its first kernel call: params as the kernels require them (float32 or
    float64 per position, contiguous, aligned, writeable, non-overlapping), and grads, if
    given, like their params; a None grad is skipped."""
    cdef _Batch b = new_batch(2, True)
    b.add(params, "params", True)
    if grads is not None:
        b.add(grads, "grads", False, True)
    b.check_overlap()
