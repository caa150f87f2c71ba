# 8-bit block-quantised optimiser state (csrc/q8.h): bitsandbytes' blockwise format. A
# QuantizedState is the codes (a uint8 array shaped as its parameter, so every check and
# list rule of the other arrays applies to it) carrying its blocks' scales and its map.
Q8_BLOCK = 256

if pywd_q8_init() != 0:
    raise ImportError("pywd internal error: the 8-bit state's tables could not be made")

Q8_HINT = (" (8-bit optimiser state is a pywd.QuantizedState, made by "
           "pywd.quantized_zeros_like or pywd.quantize)")


# centered RMSprop's variance, square_avg - grad_avg**2, goes below 0 (and its square root to
# NaN) when both are stored in 8 bits: their errors do not cancel (bitsandbytes refuses it too)
CENTERED_8BIT = ("centered RMSprop cannot keep square_avgs or grad_avgs in 8 bits: the "
                 "variance square_avg - grad_avg**2 goes below 0 when both are quantised; "
                 "use bfloat16 or float32 state, or centered=False")


def any_quantized(arrays):
    """Whether `arrays` (an array, a list/tuple of them, or None) holds a QuantizedState."""
    if type(arrays) is list or type(arrays) is tuple:
        return any(isinstance(a, QuantizedState) for a in arrays)
    return isinstance(arrays, QuantizedState)


def _q8_blocks(size):
    """The blocks of a state of `size` elements (the last may be shorter)."""
    return -(-size // Q8_BLOCK)


class QuantizedState(np.ndarray):
    """Optimiser state stored in 8 bits, in bitsandbytes' blockwise format: this array holds
    a uint8 code per element (shaped as its parameter) and carries ``absmax``, one float32
    scale per block of 256 elements from the start (the last may be shorter), and which map
    the codes index (``signed``: bitsandbytes' signed dynamic map, for state that changes
    sign; else the unsigned one, for non-negative state such as second moments). An
    element's value is ``map[code] * absmax[block]`` (:meth:`dequantize`); a kernel that
    writes the state stores each block with its new absmax and the nearest code. Pass it
    wherever an optimiser takes a state array (float32 params, element-wise optimisers); a
    state of N elements takes N + 4 * ceil(N / 256) bytes (a float32 one 4 N).

    Make one with :func:`pywd.quantized_zeros_like` or :func:`pywd.quantize`
    (pywd/quantized.py).

    NumPy equivalent: the float32 state array it replaces (``np.zeros_like(params)``).
    torch: no 8-bit state of its own; bitsandbytes keeps the same as ``state1`` (codes),
    ``absmax1`` and ``qmap1`` of its 8-bit optimisers, on CUDA and CPU tensors. Views, slices
    and arithmetic give plain uint8 arrays of codes (without the scales they are not state);
    ``copy()`` and pickling keep the scales.
    """

    def __array_finalize__(self, obj):
        self._absmax = None
        self._signed = True

    @property
    def absmax(self):
        """The blocks' scales: float32, ceil(size / 256) of them (updated in place)."""
        return self._absmax

    signed = property(lambda self: self._signed, doc="Whether the codes index the signed "
                      "dynamic map (else the unsigned one).")

    @property
    def codes(self):
        """The codes as a plain uint8 array (a view)."""
        return self.view(np.ndarray)

    @property
    def qmap(self):
        """The map the codes index: 256 float32 values, ascending (a copy)."""
        return _q8_map(self._signed)

    @staticmethod
    def maps(is_signed):
        """The signed (True) or unsigned (False) map: 256 float32 values (a copy)."""
        return _q8_map(is_signed)

    @property
    def state_nbytes(self):
        """Bytes held: the codes and the scales."""
        return self.size + 4 * self._absmax.size

    def dequantize(self):
        """The state's float32 values, shaped (and ordered) as the codes."""
        check_q8(self, "state", False)
        out = np.empty_like(self.view(np.ndarray), np.float32, order="A")   # its order
        q8_convert(self, out, False)
        return out

    def copy(self, order="K"):
        return _quantized(self.view(np.ndarray).copy(order), self._absmax.copy(), self._signed)

    def __copy__(self):
        return self.copy()

    def __deepcopy__(self, memo):
        return self.copy()

    def __reduce__(self):
        return (_quantized, (self.view(np.ndarray).copy(), self._absmax.copy(), self._signed))

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        inputs = tuple(x.view(np.ndarray) if isinstance(x, QuantizedState) else x
                       for x in inputs)
        if "out" in kwargs:
            kwargs["out"] = tuple(x.view(np.ndarray) if isinstance(x, QuantizedState) else x
                                  for x in kwargs["out"])
        return getattr(ufunc, method)(*inputs, **kwargs)

    def __array_wrap__(self, array, context=None, return_scalar=False):
        # reductions and other functions: plain arrays of codes
        array = array.view(np.ndarray)
        return array[()] if return_scalar else array

    def __getitem__(self, index):
        return self.view(np.ndarray)[index]

    def __repr__(self):
        return (f"QuantizedState(shape={self.shape}, signed={self._signed}, "
                f"blocks={self._absmax.size})")


def _quantized(codes, absmax, is_signed):
    """A QuantizedState of these codes (uint8), scales (float32) and map."""
    state = codes.view(QuantizedState)
    state._absmax, state._signed = absmax, bool(is_signed)
    return state


def _q8_map(is_signed):
    """The 256 values of the signed or unsigned map, as the kernels have them (a copy)."""
    cdef const float *values = pywd_q8_map_values(pywd_q8_map_of(1 if is_signed else 0))
    return np.array(<float[:256]>values, dtype=np.float32)


def _q8_check(state, where):
    """Refuses a QuantizedState without proper scales (see check_q8), naming it `where`."""
    check_q8(state, where, False)


def _q8_encode(state, cnp.ndarray values):
    """float32 values of the state's shape and order into the state (codes and scales)."""
    q8_convert(state, values, True)


cdef int q8_convert(object state, cnp.ndarray values, bint encode) except -1:
    """Between a QuantizedState and float32 values of its shape and order."""
    cdef cnp.ndarray codes = <cnp.ndarray>state.view(np.ndarray)
    cdef cnp.ndarray absmax = <cnp.ndarray>state._absmax
    cdef const pywd_q8_map *m = pywd_q8_map_of(1 if state._signed else 0)
    cdef int64_t n = cnp.PyArray_SIZE(codes)
    if encode:
        pywd_q8_quantize(m, <const float *>cnp.PyArray_DATA(values), n,
                         <unsigned char *>cnp.PyArray_DATA(codes),
                         <float *>cnp.PyArray_DATA(absmax))
    else:
        pywd_q8_dequantize(m, <const unsigned char *>cnp.PyArray_DATA(codes),
                           <const float *>cnp.PyArray_DATA(absmax), n,
                           <float *>cnp.PyArray_DATA(values))
    return 0


cdef int check_q8(object state, str where, bint written) except -1:
    """A QuantizedState whose scales are a float32 array of its block count (not a view, or
    a result of arithmetic on one, which have none)."""
    absmax = state._absmax
    if absmax is None:
        raise ValueError(f"{where}: a view or a slice of a QuantizedState has no block "
                         f"scales of its own: pass the whole state")
    cdef cnp.ndarray a = <cnp.ndarray>absmax if cnp.PyArray_Check(absmax) else None
    if (a is None or cnp.PyArray_TYPE(a) != cnp.NPY_FLOAT or cnp.PyArray_NDIM(a) != 1 or
            not cnp.PyArray_IS_C_CONTIGUOUS(a) or not cnp.PyArray_ISALIGNED(a) or
            not cnp.PyArray_ISNOTSWAPPED(a)):
        raise ValueError(f"{where}: its absmax must be a contiguous float32 vector, got "
                         f"{absmax!r:.80}")
    blocks = _q8_blocks(state.size)
    if cnp.PyArray_SIZE(a) != blocks:
        raise ValueError(f"{where}: {cnp.PyArray_SIZE(a)} block scales for "
                         f"{state.size} elements; blocks of {Q8_BLOCK} need {blocks}")
    if written and not cnp.PyArray_ISWRITEABLE(a):
        raise ValueError(f"{where}: its absmax is read-only, and pywd writes it in place")
    return 0


cdef int setup_q8_slot(pywd_lowp *lp, _Batch b, int q, int slot, bint unsigned_ok) except -1:
    """Argument q of the batch (8-bit: QuantizedStates) as the kernel's state slot `slot`:
    its map (one per argument) and its tensors' scales, checked."""
    cdef str name = <str>b.names[q]
    cdef Py_ssize_t i
    cdef cnp.ndarray ptrs = np.empty(b.n, np.uintp)
    cdef size_t *addresses = <size_t *>cnp.PyArray_DATA(ptrs)
    signed = None
    for i in range(b.n):
        state = b.array(q, i)
        check_q8(state, b.where(q, i), b.written[q])
        if signed is None:
            signed = state._signed
        elif state._signed != signed:
            raise ValueError(f"{b.where(q, i)}: every 8-bit state of an argument uses one "
                             f"map; {b.where(q, 0)} is {'signed' if signed else 'unsigned'}")
        addresses[i] = <size_t>cnp.PyArray_DATA(<cnp.ndarray>state._absmax)
    if signed is False and not unsigned_ok:
        raise ValueError(f"{name}: state that changes sign needs the signed map "
                         f"(quantized_zeros_like(..., signed=True)); the unsigned one "
                         f"holds non-negative state only")
    b.keep.append(ptrs)                  # the batch owns the pointer table
    lp.absmax[slot] = <float **>addresses
    lp.qmap[slot] = pywd_q8_map_of(1 if signed else 0)
    lp.sizes = b.sizes
    lp.q8 = 1
    return 0
