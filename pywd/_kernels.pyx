"""pywd's compiled core: the Cython glue between the Python API and the C kernels in csrc/.

Every public function here validates everything (scalars, every array of every list, memory
overlap) before touching anything, then makes ONE C call over the whole list without the GIL.
The C kernels cannot fail. Layout: _validate.pxi (checks), _sgd.pxi (update functions),
_runtime.pxi (threads, build configuration, bandwidth probes).
"""
cimport numpy as cnp
from libc.stdint cimport int64_t

cnp.import_array()

cdef extern from "pywd.h" nogil:
    enum:
        PYWD_DECAY_NONE
        PYWD_DECAY_L2
        PYWD_DECAY_DECOUPLED
        PYWD_DECAY_INDEPENDENT
        PYWD_DECAY_L1

    ctypedef struct pywd_sgd_hyper:
        double lr, momentum, dampening, weight_decay
        int decay, nesterov, maximize, first_step

    void pywd_sgd_f32(const pywd_sgd_hyper *h, int64_t n, float **params,
                      const float **grads, float **bufs, const int64_t *sizes)
    void pywd_sgd_f64(const pywd_sgd_hyper *h, int64_t n, double **params,
                      const double **grads, double **bufs, const int64_t *sizes)
    void pywd_decay_f32(double lr, double weight_decay, int decay, int64_t n, float **params,
                        const int64_t *sizes)
    void pywd_decay_f64(double lr, double weight_decay, int decay, int64_t n, double **params,
                        const int64_t *sizes)
    void pywd_probe_copy_f32(float *dst, const float *src, int64_t n)
    void pywd_probe_rmw_f32(float *w, const float *g, float s, int64_t n)
    int pywd_openmp_enabled()
    int pywd_get_num_threads()
    void pywd_set_num_threads(int n)
    const char *pywd_compile_flags()
    const char *pywd_isa()

include "_validate.pxi"
include "_sgd.pxi"
include "_runtime.pxi"
