# Fills for pywd.init: one C call per array, split over threads, thread-count independent.
# The Python layer (pywd/init.py, pywd/_generator.py) checks the scalars; these check the array.

FILL_KINDS = {"constant": PYWD_FILL_CONSTANT, "uniform": PYWD_FILL_UNIFORM,
              "normal": PYWD_FILL_NORMAL, "trunc_normal": PYWD_FILL_TRUNC_NORMAL}


def _fill(tensor, str kind, uint64_t seed, uint64_t position, uint64_t offset, double a,
          double b=0.0, double c=0.0, double d=0.0):
    """Fills `tensor` (C-contiguous unless kind is "constant") in place: element i is element
    offset + i of the virtual tensor that the generator (seed, position) defines."""
    cdef pywd_fill_hyper h
    cdef _Batch batch
    if not cnp.PyArray_Check(tensor):
        raise TypeError(f"tensor must be a numpy.ndarray, got {type(tensor).__name__}")
    batch = new_batch(1)
    batch.add(tensor, "tensor", True)
    if kind != "constant" and not cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray>tensor):
        raise ValueError("tensor must be C-contiguous for a random fill")
    h.kind = FILL_KINDS[kind]
    h.seed, h.position, h.offset = seed, position, offset
    h.a, h.b, h.c, h.d = a, b, c, d
    run(fill_kernel, &h, batch)


cdef void fill_kernel(const void *hyper, _Batch b) noexcept nogil:
    cdef const pywd_fill_hyper *h = <const pywd_fill_hyper *>hyper
    if b.typenum == cnp.NPY_FLOAT:
        pywd_fill_f32(h, <float *>b.ptrs[0], b.sizes[0])
    else:
        pywd_fill_f64(h, <double *>b.ptrs[0], b.sizes[0])


def _philox(counter, key):
    """Philox4x32-10 of a 4-word counter under a 2-word key: the 4 output words."""
    cdef uint32_t c[4]
    cdef uint32_t k[2]
    cdef uint32_t out[4]
    cdef int j
    for j in range(4):
        c[j] = counter[j]
    for j in range(2):
        k[j] = key[j]
    pywd_philox_words(c, k, out)
    return tuple(out[j] for j in range(4))


def _rounding_bits(seed, step, tensor, slot, start, n):
    """The stochastic rounding's 16 random bits of elements start .. start + n - 1 of
    argument `slot` of tensor `tensor` at `step`, as the kernels draw them (csrc/lowp.h;
    pywd.reference.rounding_bits is their twin): a uint16 array."""
    cdef cnp.ndarray out = np.empty(n, np.uint16)
    cdef uint64_t s = seed, t = step
    cdef uint32_t i = tensor
    cdef int k = slot
    cdef int64_t first = start, count = n
    with nogil:
        pywd_rounding_bits(s, t, i, k, first, count, <uint16_t *>cnp.PyArray_DATA(out))
    return out
