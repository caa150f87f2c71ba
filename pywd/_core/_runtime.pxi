# Threads, build configuration and the bandwidth probes of the bench command.

def get_num_threads():
    """The number of threads a large call uses: OpenMP's limit for the calling thread.

    It honours ``OMP_NUM_THREADS``, :func:`set_num_threads` and ``threadpoolctl``
    (all three set the same OpenMP setting). Small calls run on one thread whatever it says.
    Returns 1 in a build without OpenMP, and in a process forked after pywd ran threads
    (GNU OpenMP would hang there, so such a child runs serially: same results).

    NumPy has no equivalent (``threadpoolctl.threadpool_info()`` for its BLAS). torch:
    ``torch.get_num_threads()``.
    """
    return pywd_get_num_threads()


def set_num_threads(n):
    """Sets the number of threads large calls use (``omp_set_num_threads``).

    Like ``threadpoolctl.threadpool_limits``, it applies to the calling Python thread
    (OpenMP keeps the setting per thread). Results never depend on it: every kernel gives the
    same bytes with any number of threads. No effect in a build without OpenMP.

    NumPy equivalent: ``threadpoolctl.threadpool_limits(n)``. torch: ``torch.set_num_threads(n)``.
    """
    if type(n) is bool or not isinstance(n, numbers.Integral):
        raise TypeError(f"n must be an int, got {type(n).__name__} {n!r}")
    if not 1 <= n <= 1 << 20:
        raise ValueError(f"n must be an int >= 1, got {n!r}")
    pywd_set_num_threads(n)


def _openmp_enabled():
    return bool(pywd_openmp_enabled())


def _isa():
    """The kernels' unit: "avx512", "avx2" or "baseline"."""
    return pywd_isa().decode()


def _isa_supported():
    """The widest unit built that this CPU and OS run (PYWD_ISA may have asked for a
    narrower one)."""
    return pywd_isa_supported().decode()


def _isa_units():
    """The units PYWD_ISA can choose: built, and run by this CPU and OS, narrowest first."""
    names = ("baseline", "avx2", "avx512")
    widest = names.index(_isa_supported())
    return tuple(name for k, name in enumerate(names[:widest + 1]) if pywd_isa_built(k))


def _avx512bf16():
    """Whether the AVX-512 unit runs and rounds to bfloat16 with AVX512-BF16's instruction."""
    return bool(pywd_avx512bf16())


def _avx512vbmi():
    """Whether the AVX-512 unit runs and decodes 8-bit state with AVX512-VBMI's byte permutes."""
    return bool(pywd_avx512vbmi())


def _compile_flags():
    return pywd_compile_flags().decode()


def _probe(kind, dst, src):
    """One pass of the bandwidth probe over float32 arrays: kind "copy" (dst = src) or "rmw"
    (dst += 0.5*src), split over threads like the kernels. For the bench command only."""
    cdef _Batch b = new_batch(2)
    cdef float *d
    cdef const float *s
    cdef int64_t n
    b.add(dst, "dst", True)
    b.add(src, "src", False)
    b.check_overlap()
    if b.n != 1 or b.typenum != cnp.NPY_FLOAT:
        raise TypeError("the probe takes one float32 array per argument")
    d, s, n = <float *>b.ptrs[0], <const float *>b.ptrs[1], b.sizes[0]
    if kind == "copy":
        with nogil:
            pywd_probe_copy_f32(d, s, n)
    elif kind == "rmw":
        with nogil:
            pywd_probe_rmw_f32(d, s, 0.5, n)
    else:
        raise ValueError(f"kind must be 'copy' or 'rmw', got {kind!r}")
