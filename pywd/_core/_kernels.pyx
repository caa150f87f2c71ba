"""pywd's compiled core: the Cython glue between the Python API and the C kernels in csrc/.

Every public function here validates everything (scalars, every array of every list, memory
overlap) before touching anything, then makes ONE C call over the whole list, without the GIL
when the work is big enough to matter. The C kernels cannot fail. Layout: _validate.pxi
(checks, and the call itself), _elementwise.pxi (generated at build time from the table of
optimisers, pywd/_optimisers.py: the element-wise kernels' calls), _overlap.pxi (no
written array shares memory), _grads.pxi
(nonfinite=, grad_scale=, max_grad_norm=: the gradient pass before an update), _lists.pxi
(list loops for the optimisers' bookkeeping), one .pxi per kernel family (_sgd, _adam,
_rmsprop, _adagrad, _lion, _adamax, _radam, _adadelta, _nadam, _rprop, _asgd, _lamb,
_lars, _schedulefree, _muon, _adafactor, _fill),
_runtime.pxi (threads, build configuration, bandwidth probes), _lowp.pxi and _q8.pxi (16-bit
and 8-bit storage).
"""
cimport numpy as cnp
from cpython.dict cimport PyDict_DelItem
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from libc.stdint cimport int64_t, uint16_t, uint32_t, uint64_t

cnp.import_array()

cdef extern from "pywd.h" nogil:
    enum:
        PYWD_DECAY_NONE
        PYWD_DECAY_L2
        PYWD_DECAY_DECOUPLED
        PYWD_DECAY_INDEPENDENT
        PYWD_DECAY_L1
        PYWD_DECAY_CORRECTED

    enum:
        PYWD_SHARD_SUMS
        PYWD_SHARDS_OUT
        PYWD_SHARDS_IN

    ctypedef struct pywd_shard_sums:
        int mode
        double *sums

    ctypedef struct pywd_decay:
        int mode
        double weight_decay, max_lr
        int cautious
        const void *const *anchors
        int caution
        double *caution_scales
        double *stats
        const double *norm_targets
        double *norm_rates
        const pywd_shard_sums *shards

    enum:
        PYWD_ROUND_NEAREST
        PYWD_ROUND_STOCHASTIC
        PYWD_LOWP_ARGS
        PYWD_SLOT_COUNT

    cdef struct pywd_q8_map:
        pass

    ctypedef struct pywd_lowp:
        int dtype[6]
        int rounding
        uint64_t seed, step
        const int64_t *ids
        void **compensation
        const pywd_q8_map *qmap[6]
        float **absmax[6]
        const int64_t *sizes
        int q8

    int pywd_q8_init()
    const pywd_q8_map *pywd_q8_map_of(int is_signed)
    void pywd_q8_quantize(const pywd_q8_map *m, const float *src, int64_t n, unsigned char *codes,
                          float *absmax)
    void pywd_q8_dequantize(const pywd_q8_map *m, const unsigned char *codes,
                            const float *absmax, int64_t n, float *dst)
    const float *pywd_q8_map_values(const pywd_q8_map *m)

    ctypedef struct pywd_lamb_hyper:
        double grad_mult
        double lr, beta1, beta2, eps
        pywd_decay decay
        int64_t step
        int bias_correction, trust_clip, always_adapt, maximize
        double *workspace
        const pywd_lowp *lowp

    void pywd_lamb_f32(const pywd_lamb_hyper *h, int64_t n, float **params,
                       const float **grads, float **exp_avgs, float **exp_avg_sqs,
                       const int64_t *sizes)
    void pywd_lamb_f64(const pywd_lamb_hyper *h, int64_t n, double **params,
                       const double **grads, double **exp_avgs, double **exp_avg_sqs,
                       const int64_t *sizes)

    ctypedef struct pywd_lars_hyper:
        double grad_mult
        double lr, momentum, dampening, trust_coeff, eps
        pywd_decay decay
        int nesterov, first_step, trust_clip, always_adapt, maximize
        double *workspace
        const pywd_lowp *lowp

    void pywd_lars_f32(const pywd_lars_hyper *h, int64_t n, float **params,
                       const float **grads, float **bufs, const int64_t *sizes)
    void pywd_lars_f64(const pywd_lars_hyper *h, int64_t n, double **params,
                       const double **grads, double **bufs, const int64_t *sizes)

    ctypedef struct pywd_adafactor_hyper:
        double grad_mult
        double lr, beta_weight, eps1, eps2, rho, d
        pywd_decay decay
        int maximize
        const int64_t *matrix
        void *workspace

    int64_t pywd_adafactor_workspace(int64_t n, const int64_t *sizes, const int64_t *matrix)
    void pywd_adafactor_f32(const pywd_adafactor_hyper *h, int64_t n, float **params,
                            const float **grads, float **row_vars, float **col_vars,
                            float **variances, const int64_t *sizes)
    void pywd_adafactor_f64(const pywd_adafactor_hyper *h, int64_t n, double **params,
                            const double **grads, double **row_vars, double **col_vars,
                            double **variances, const int64_t *sizes)

    enum:
        PYWD_FILL_CONSTANT
        PYWD_FILL_UNIFORM
        PYWD_FILL_NORMAL
        PYWD_FILL_TRUNC_NORMAL

    ctypedef struct pywd_fill_hyper:
        int kind
        uint64_t seed, position, offset
        double a, b, c, d

    void pywd_fill_f32(const pywd_fill_hyper *h, float *dst, int64_t n)
    void pywd_fill_f64(const pywd_fill_hyper *h, double *dst, int64_t n)
    void pywd_philox_words(const uint32_t counter[4], const uint32_t key[2], uint32_t out[4])
    void pywd_rounding_bits(uint64_t seed, uint64_t step, uint32_t id, int k, int64_t start,
                            int64_t n, uint16_t *out) nogil

    void pywd_sumsq_f32(int64_t n, const float **x, const int64_t *sizes, double scale,
                        double *acc)
    void pywd_sumsq_f64(int64_t n, const double **x, const int64_t *sizes, double scale,
                        double *acc)
    void pywd_sumsq_16(int dtype, int64_t n, const uint16_t **x, const int64_t *sizes,
                       double scale, double *acc)
    void pywd_probe_copy_f32(float *dst, const float *src, int64_t n)
    void pywd_probe_rmw_f32(float *w, const float *g, float s, int64_t n)
    int pywd_openmp_enabled()
    int pywd_get_num_threads()
    void pywd_set_num_threads(int n)
    const char *pywd_compile_flags()
    const char *pywd_isa()
    const char *pywd_isa_supported()
    int pywd_isa_built(int level)
    int pywd_avx512bf16()
    int pywd_avx512vbmi()

include "_overlap.pxi"
include "_validate.pxi"
include "_grads.pxi"
include "_lowp.pxi"
include "_q8.pxi"
include "_lists.pxi"
include "_elementwise.pxi"     # generated: pywd/_core/_elementwise.pxi.tp
include "_sgd.pxi"
include "_adam.pxi"
include "_rmsprop.pxi"
include "_adagrad.pxi"
include "_lion.pxi"
include "_adamax.pxi"
include "_radam.pxi"
include "_adadelta.pxi"
include "_nadam.pxi"
include "_rprop.pxi"
include "_asgd.pxi"
include "_lamb.pxi"
include "_lars.pxi"
include "_schedulefree.pxi"
include "_muon.pxi"
include "_adafactor.pxi"
include "_ademamix.pxi"
include "_fill.pxi"
include "_runtime.pxi"


# The gradient and decay options read the same in every optimiser's docstring: one text each,
# put in place of the "{grad_options}" or "{decay_options}" line with that line's indentation.
import re as _re
import textwrap as _textwrap
# (every update of the table but sgdw, whose docstring points to sgd's, and the bare decay)
for _update in [globals()[_name] for _name in UPDATE_NAMES if _name not in ("sgdw", "decay")]:
    for _name, _text in (("grad_options", GRAD_OPTIONS_DOC), ("decay_options", DECAY_OPTIONS_DOC),
                         # (the optimisers with caution take norm_target too)
                         ("caution_option", CAUTION_DOC + NORM_TARGET_DOC),
                         ("stats_option", STATS_DOC),
                         ("lowp_options", LOWP_OPTIONS_DOC)):
        _update.__doc__ = _re.sub(
            r"^( *)\{" + _name + r"\}\n",
            lambda m: _textwrap.indent(_textwrap.dedent(_text), m.group(1)),
            _update.__doc__, flags=_re.M)
    # the grad options end with the Returns section: moved after the last parameter (the
    # 16-bit options and others come after them), before Raises
    _returns = _re.search(r"\n\n( *)Returns\n\1-+\n.*?\n(?=\1\S[^\n]* :|\n)",
                          _update.__doc__, flags=_re.S)
    if _returns and f"\n\n{_returns.group(1)}Raises\n" in _update.__doc__:
        _raises = f"\n\n{_returns.group(1)}Raises\n"
        _update.__doc__ = _update.__doc__.replace(_returns.group(0), "\n", 1).replace(
            _raises, _returns.group(0).rstrip("\n") + _raises, 1)
del _update, _name, _text, _re, _textwrap, _returns, _raises
