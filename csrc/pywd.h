/* pywd's C API: everything pywd/_kernels.pyx calls. No Python, no NumPy headers.
 *
 * Multi-tensor calling convention: a call updates n tensors; position k of every pointer
 * array is tensor k, with sizes[k] elements. The caller (the Cython glue) has checked that
 * the arrays are contiguous, aligned, of one dtype, of equal size per tensor and
 * non-overlapping, so these functions cannot fail. */
#ifndef PYWD_H
#define PYWD_H

#include <stdint.h>

#include "optim/list.h"

/* How weight decay acts (docs/design.md's table). PYWD_DECAY_NONE when weight_decay == 0. */
enum pywd_decay_mode {
    PYWD_DECAY_NONE = 0,
    PYWD_DECAY_L2 = 1,          /* g += wd*w before the optimiser sees g            */
    PYWD_DECAY_DECOUPLED = 2,   /* w *= 1 - lr*wd                                   */
    PYWD_DECAY_INDEPENDENT = 3, /* w *= 1 - wd*lr/max_lr                            */
    PYWD_DECAY_L1 = 4,          /* w = sign(w')*max(|w'| - lr*wd, 0), proximal step */
    PYWD_DECAY_CORRECTED = 5    /* w *= 1 - wd*lr^2/max_lr (AdamC)                  */
};

/* Per-tensor sums across the shards of sharded tensors (pywd.torch's DTensor parameters:
 * each process holds a slice of a tensor, but a trust ratio, caution's kept fraction or norm
 * control's norm are the whole tensor's). The caller runs a call twice: with
 * PYWD_SHARDS_OUT it only computes its per-tensor sums into `sums` and returns, changing
 * nothing; the caller adds every shard's sums; with PYWD_SHARDS_IN the call takes them from
 * `sums` instead of computing them, and updates. Every exchanged value is a sum over a
 * tensor's elements, so shards add: row t of `sums` (PYWD_SHARD_SUMS doubles) is tensor t's
 * LAMB (|w|^2, |r|^2), LARS (|w|^2, |g|^2, |w - w0|^2), or the element-wise driver's caution
 * (elements kept, elements) and norm control (slot 2: |w|^2). */
#define PYWD_SHARD_SUMS 3
enum pywd_shards_mode { PYWD_SHARDS_OUT = 1, PYWD_SHARDS_IN = 2 };
typedef struct {
    int mode;     /* enum pywd_shards_mode */
    double *sums; /* n x PYWD_SHARD_SUMS */
} pywd_shard_sums;

/* Weight decay, one struct in every optimiser's hyper-parameters. lr is the step's (for
 * Adagrad, its decayed rate); max_lr <= 0 means max_lr = lr. cautious: the multiplicative
 * modes leave an element undecayed where the update it gets (the term subtracted from w)
 * and w have opposite signs (Chen et al. 2025). */
typedef struct {
    int mode; /* enum pywd_decay_mode */
    double weight_decay, max_lr;
    int cautious;
    /* NULL, or per tensor the anchor w0 that decay pulls toward (of the params' dtype,
     * read only): every mode then acts on w - w0 (decay_to) */
    const void *const *anchors;
    /* caution (timm's; Liang et al. 2024, the cautious optimisers): the update is kept only
     * where it has the gradient's sign and scaled per tensor by 1 / max(the kept fraction,
     * 1e-3). An option of the update, not of the decay, carried here because every
     * element-wise optimiser has this struct; caution_scales: n doubles of workspace, the
     * per-tensor scales (csrc/optim/driver.h) */
    int caution;
    double *caution_scales;
    /* NULL, or per tensor PYWD_STEP_SUMS doubles the step fills with its statistics'
     * sums (csrc/optim/driver.h; element-wise optimisers) */
    double *stats;
    /* NULL, or per tensor the norm its multiplicative decay pulls it toward (weight norm
     * control, Loshchilov 2023's AdamWN): the decay's rate is then, per tensor,
     * rate * (1 - target / |w|), |w| the tensor's norm before the step, summed in a first
     * pass (pywd_norm_rate); norm_rates: n doubles of workspace for those rates. Not with
     * an anchor (the Python glue refuses it). */
    const double *norm_targets;
    double *norm_rates;
    /* NULL, or the exchange of a sharded call's per-tensor sums (pywd_shard_sums). An option
     * of the call, carried here for the same reason as caution. */
    const pywd_shard_sums *shards;
} pywd_decay;

/* Storage dtypes of a float32 kernel's arrays (lowp.h): bfloat16 and float16 are widened to
 * float32, computed on as float32, and rounded back once per stored value. */
/* (4: 8-bit block-quantised state, csrc/q8.h; 3 is float64 in the Cython glue's codes) */
enum pywd_dtype { PYWD_DTYPE_F32 = 0, PYWD_DTYPE_BF16 = 1, PYWD_DTYPE_F16 = 2, PYWD_DTYPE_Q8 = 4 };
struct pywd_q8_map;
enum pywd_rounding { PYWD_ROUND_NEAREST = 0, PYWD_ROUND_STOCHASTIC = 1 };

/* Array slots of a kernel: 0 params, 1 grads, 2.. its state in its C argument order, and
 * PYWD_LOWP_ARGS - 1 the decay_to anchors. */
#define PYWD_LOWP_ARGS 6
#define PYWD_SLOT_COUNT 5 /* the slots an element-wise entry point takes: all but the anchors */

typedef struct {
    int dtype[PYWD_LOWP_ARGS]; /* enum pywd_dtype, per slot */
    int rounding;              /* enum pywd_rounding, for every 16-bit array written */
    uint64_t seed, step;       /* stochastic rounding's key and step (lowp.h) */
    const int64_t *ids;        /* per tensor, its index in the random bits; NULL: position */
    /* NULL, or per tensor a Kahan compensation like its (16-bit) params: the params are then
     * rounded to nearest with the compensation carrying what rounding lost (lowp.h) */
    void *const *compensation;
    /* 8-bit state (csrc/q8.h): per slot, its map and per tensor its blocks' scales (NULL for
     * a slot that is not 8-bit); the tensors' sizes; q8: some slot is 8-bit (threads then
     * split tensors on block boundaries) */
    const struct pywd_q8_map *qmap[PYWD_LOWP_ARGS];
    float *const *absmax[PYWD_LOWP_ARGS];
    const int64_t *sizes;
    int q8;
} pywd_lowp;

/* Every optimiser's hyper-parameters start with grad_mult: each gradient element is multiplied
 * by it (rounded to the array's dtype) before anything else, for loss scaling and gradient
 * clipping (pywd's grad_scale= and max_grad_norm=); 1 leaves gradients as they are. */
typedef struct {
    double grad_mult;
    double lr, momentum, dampening;
    pywd_decay decay;
    int nesterov;   /* u = g + momentum*buf instead of u = buf */
    int maximize;   /* ascend: g = -g */
    int first_step; /* buf = g (torch's first momentum step) instead of momentum*buf + (1-d)*g */
    const pywd_lowp *lowp; /* NULL: every array of the kernel's dtype; else (f32 only) */
} pywd_sgd_hyper;

/* SGD family; bufs is NULL when momentum == 0. */

/* Adam (Kingma & Ba 2015) with torch's AMSGrad; AdamW is decay = PYWD_DECAY_DECOUPLED.
 * step >= 1 is the step being taken (bias corrections use it); max_exp_avg_sqs is NULL
 * unless amsgrad. */
typedef struct {
    double grad_mult;
    double lr, beta1, beta2, eps;
    pywd_decay decay;
    int64_t step;
    int amsgrad, maximize;
    const pywd_lowp *lowp; /* NULL: every array of the kernel's dtype; else (f32 only) */
} pywd_adam_hyper;


/* RMSprop (Hinton; torch's variant): momentum_buffers NULL unless momentum > 0, grad_avgs
 * NULL unless centered. */
typedef struct {
    double grad_mult;
    double lr, alpha, eps, momentum;
    pywd_decay decay;
    int centered, maximize;
    const pywd_lowp *lowp; /* NULL: every array of the kernel's dtype; else (f32 only) */
} pywd_rmsprop_hyper;


/* Adagrad (Duchi et al. 2011; torch's variant): the step's learning rate is
 * lr / (1 + (step - 1)*lr_decay), and decay uses that rate. */
typedef struct {
    double grad_mult;
    double lr, lr_decay, eps;
    pywd_decay decay;
    int64_t step;
    int maximize;
    const pywd_lowp *lowp; /* NULL: every array of the kernel's dtype; else (f32 only) */
} pywd_adagrad_hyper;


/* Lion (Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms"). */
typedef struct {
    double grad_mult;
    double lr, beta1, beta2;
    pywd_decay decay;
    int maximize;
    const pywd_lowp *lowp; /* NULL: every array of the kernel's dtype; else (f32 only) */
} pywd_lion_hyper;


/* Adamax (Kingma & Ba 2015, section 7.1; torch's variant): step >= 1 is the step being
 * taken (the bias correction of the first moment uses it). */
typedef struct {
    double grad_mult;
    double lr, beta1, beta2, eps;
    pywd_decay decay;
    int64_t step;
    int maximize;
    const pywd_lowp *lowp; /* NULL: every array of the kernel's dtype; else (f32 only) */
} pywd_adamax_hyper;


/* RAdam (Liu et al. 2020; torch's variant): step >= 1 is the step being taken (its bias
 * corrections and the rectification switch at rho_t > 5 use it). */
typedef struct {
    double grad_mult;
    double lr, beta1, beta2, eps;
    pywd_decay decay;
    int64_t step;
    int maximize;
    const pywd_lowp *lowp; /* NULL: every array of the kernel's dtype; else (f32 only) */
} pywd_radam_hyper;


/* NAdam (Dozat 2016; torch's variant, with its momentum schedule): step >= 1 is the step
 * being taken; mu_product the product of the momentum schedule's mu over the steps before it
 * (torch's state "mu_product" before the step: 1 at the first). */
typedef struct {
    double grad_mult;
    double lr, beta1, beta2, eps, momentum_decay, mu_product;
    pywd_decay decay;
    int64_t step;
    int maximize;
    const pywd_lowp *lowp; /* NULL: every array of the kernel's dtype; else (f32 only) */
} pywd_nadam_hyper;


/* AdEMAMix (Pagliardini et al. 2024): Adam plus a slow EMA of the gradient (state slot 4),
 * weighted by alpha; beta3 and alpha are this step's values (after their warm-ups); step >= 1
 * is the step being taken. */
typedef struct {
    double grad_mult;
    double lr, beta1, beta2, beta3, alpha, eps;
    pywd_decay decay;
    int64_t step;
    int maximize;
    const pywd_lowp *lowp; /* NULL: every array of the kernel's dtype; else (f32 only) */
} pywd_ademamix_hyper;


/* Rprop (Riedmiller & Braun 1993; torch's variant, without backtracking): lr only sets the
 * decay's factor and threshold (the step sizes are state, started at lr by the caller). */
typedef struct {
    double grad_mult;
    double lr, etaminus, etaplus, step_size_min, step_size_max;
    pywd_decay decay;
    int maximize;
    const pywd_lowp *lowp; /* NULL: every array of the kernel's dtype; else (f32 only) */
} pywd_rprop_hyper;


/* ASGD (averaged SGD, torch's variant): eta and mu are this step's (the caller's schedule);
 * eta is also the decay modes' lr. */
typedef struct {
    double grad_mult;
    double eta, mu, lambd;
    pywd_decay decay;
    int maximize;
    const pywd_lowp *lowp; /* NULL: every array of the kernel's dtype; else (f32 only) */
} pywd_asgd_hyper;


/* LAMB (You et al. 2020; timm's Lamb): step >= 1 is the step being taken; decay mode
 * DECOUPLED acts inside the trust ratio (LAMB's rule), the others as everywhere. The per-tensor
 * trust ratios need `workspace`: room for 2 doubles per tensor, the caller's. */
typedef struct {
    double grad_mult;
    double lr, beta1, beta2, eps;
    pywd_decay decay;
    int64_t step;
    int bias_correction, trust_clip, always_adapt, maximize;
    double *workspace;
    const pywd_lowp *lowp; /* NULL: every array of the kernel's dtype; else (f32 only) */
} pywd_lamb_hyper;

void pywd_lamb_f32(const pywd_lamb_hyper *h, int64_t n, float *const *params,
                   const float *const *grads, float *const *exp_avgs,
                   float *const *exp_avg_sqs, const int64_t *sizes);
void pywd_lamb_f64(const pywd_lamb_hyper *h, int64_t n, double *const *params,
                   const double *const *grads, double *const *exp_avgs,
                   double *const *exp_avg_sqs, const int64_t *sizes);

/* LARS (You et al. 2017; timm's Lars with LARC clipping): SGD's momentum after the per-tensor
 * trust ratio; bufs NULL when momentum == 0. `workspace`: room for 3 doubles per tensor, the
 * caller's. */
typedef struct {
    double grad_mult;
    double lr, momentum, dampening, trust_coeff, eps;
    pywd_decay decay;
    int nesterov, first_step, trust_clip, always_adapt, maximize;
    double *workspace;
    const pywd_lowp *lowp; /* NULL: every array of the kernel's dtype; else (f32 only) */
} pywd_lars_hyper;

void pywd_lars_f32(const pywd_lars_hyper *h, int64_t n, float *const *params,
                   const float *const *grads, float *const *bufs, const int64_t *sizes);
void pywd_lars_f64(const pywd_lars_hyper *h, int64_t n, double *const *params,
                   const double *const *grads, double *const *bufs, const int64_t *sizes);

/* Adadelta (Zeiler 2012; torch's variant). */
typedef struct {
    double grad_mult;
    double lr, rho, eps;
    pywd_decay decay;
    int maximize;
    const pywd_lowp *lowp; /* NULL: every array of the kernel's dtype; else (f32 only) */
} pywd_adadelta_hyper;


/* Schedule-free AdamW and SGD (Defazio et al. 2024; the schedulefree package's variant): the
 * params hold y; zs the z sequence; adaptive 0 for SGD (then beta1 is its momentum and
 * beta2, eps and step unused). lr is the step's (warmup applied) and also the decay's;
 * average_weight c in [0, 1] the weight of z in this step's average (the package's ckp1). */
typedef struct {
    double grad_mult;
    double lr, beta1, beta2, eps, average_weight;
    pywd_decay decay;
    int64_t step;
    int adaptive; /* 1: AdamW (exp_avg_sqs in slot 3), 0: SGD */
    int maximize;
    const pywd_lowp *lowp; /* NULL: every array of the kernel's dtype; else (f32 only) */
} pywd_schedulefree_hyper;


/* Muon (Jordan et al. 2024; torch.optim.Muon's variant), the element-wise halves around the
 * caller's Newton-Schulz orthogonalisation. momentum: bufs and the orthogonalisation's input
 * `updates` from the gradients (decay "l2" adds its term here); apply: the params from the
 * orthogonalised `updates`, w -= step_size*o, with the other decay modes at lr (torch decays
 * with the unadjusted lr, steps with the adjusted one, step_size). */
typedef struct {
    double grad_mult;
    double lr, step_size, momentum;
    pywd_decay decay;
    int nesterov, maximize;
    const pywd_lowp *lowp; /* NULL: every array of the kernel's dtype; else (f32 only) */
} pywd_muon_hyper;
typedef pywd_muon_hyper pywd_muon_momentum_hyper; /* slots: params (read), grads, bufs, updates */
typedef pywd_muon_hyper pywd_muon_apply_hyper;    /* slots: params, -, updates (read) */

/* The bare decay step (no gradient): l2 is the SGD step of the penalty, w -= lr*(wd*w);
 * cautious has no update to compare with and is ignored. */
typedef struct {
    double grad_mult; /* unused: no gradient */
    double lr;
    pywd_decay decay;
    int maximize; /* unused */
    const pywd_lowp *lowp;
} pywd_decay_hyper;

/* The element-wise optimisers' entry points (csrc/optim/list.h): pywd_<name>_f32/_f64(h, n,
 * slots, sizes), slots[k] the per-tensor pointers (float * or double *) of slot k (0 params, 1 grads, 2..4 the
 * optimiser's state in the order its hyper-parameters' comment gives; NULL for a slot the
 * call has not). The decay_to anchors come in h->decay. */
#define PYWD_DECLARE_OPTIMISER(opt)                                                           \
    void pywd_##opt##_f32(const pywd_##opt##_hyper *h, int64_t n, void **const *slots,         \
                          const int64_t *sizes);                                               \
    void pywd_##opt##_f64(const pywd_##opt##_hyper *h, int64_t n, void **const *slots,         \
                          const int64_t *sizes);
PYWD_ELEMENTWISE_OPTIMISERS(PYWD_DECLARE_OPTIMISER)


/* Adafactor (Shazeer & Stern 2018; torch.optim.Adafactor's step), one call for a list that
 * mixes factored tensors (2 or more dims: row_vars[t] and col_vars[t] given, variances[t]
 * NULL) and the others (a full variance like the param; row_vars[t], col_vars[t] NULL).
 * A factored tensor is a batch of matrices: matrix[3t], matrix[3t + 1] are its rows and
 * columns in memory order (its last two axes, or a 2-D F-ordered array's two axes swapped:
 * then matrix[3t + 2] is 1 and row_vars[t] holds one value per memory column), its factors
 * torch's shapes (one value per row, per column, per matrix); the others have 0, 0, 0.
 * workspace: pywd_adafactor_workspace(...) bytes, 8-byte aligned, for the call's partial
 * sums (blocked so that no result depends on the thread count). */
typedef struct {
    double grad_mult;
    double lr, beta_weight, eps1, eps2, rho, d; /* beta_weight = step**beta2_decay */
    pywd_decay decay;
    int maximize;
    const int64_t *matrix; /* 3 per tensor, as above */
    void *workspace;
} pywd_adafactor_hyper;

int64_t pywd_adafactor_workspace(int64_t n, const int64_t *sizes, const int64_t *matrix);
void pywd_adafactor_f32(const pywd_adafactor_hyper *h, int64_t n, float *const *params,
                        const float *const *grads, float *const *row_vars,
                        float *const *col_vars, float *const *variances, const int64_t *sizes);
void pywd_adafactor_f64(const pywd_adafactor_hyper *h, int64_t n, double *const *params,
                        const double *const *grads, double *const *row_vars,
                        double *const *col_vars, double *const *variances,
                        const int64_t *sizes);

/* Fills (pywd.init): element e of a virtual tensor is a function of (seed, position, e); this
 * array holds elements [offset, offset + n). a, b, c, d: uniform low, high; normal mean, std;
 * truncated normal mean, std, lower bound, upper bound; constant value. */
enum pywd_fill_kind {
    PYWD_FILL_CONSTANT = 0,
    PYWD_FILL_UNIFORM = 1,
    PYWD_FILL_NORMAL = 2,
    PYWD_FILL_TRUNC_NORMAL = 3
};

typedef struct {
    int kind;
    uint64_t seed, position, offset;
    double a, b, c, d;
} pywd_fill_hyper;

void pywd_fill_f32(const pywd_fill_hyper *h, float *dst, int64_t n);
void pywd_fill_f64(const pywd_fill_hyper *h, double *dst, int64_t n);

/* Philox4x32-10 block for counter (c0..c3) and key (k0, k1), for tests against Random123. */
void pywd_philox_words(const uint32_t counter[4], const uint32_t key[2], uint32_t out[4]);
/* The stochastic rounding's 16 random bits of elements [start, start + n) of buffer k of the
 * tensor numbered id at `step` (csrc/lowp.h), as the kernels draw them: for tests and for
 * testing the stream. */
void pywd_rounding_bits(uint64_t seed, uint64_t step, uint32_t id, int k, int64_t start,
                        int64_t n, uint16_t *out);


/* Adds the sum of (scale*x)^2 over every element of n tensors to *acc, in double. The sum is
 * taken in fixed blocks and a fixed order, so it gives the same bytes whatever the number of
 * threads or the ISA, and chaining calls (acc carried over) equals one call over the joined
 * list. scale (a power of two) keeps the squares of huge float64 values finite. */
void pywd_sumsq_f32(int64_t n, const float *const *x, const int64_t *sizes, double scale,
                    double *acc);
void pywd_sumsq_f64(int64_t n, const double *const *x, const int64_t *sizes, double scale,
                    double *acc);
/* The same for 16-bit tensors (dtype: enum pywd_dtype), each element widened exactly. */
void pywd_sumsq_16(int dtype, int64_t n, const uint16_t *const *x, const int64_t *sizes,
                   double scale, double *acc);

/* Memory-bandwidth probes for the bench command, split over threads like every kernel:
 * copy moves 8 bytes per float element (read src, write dst), rmw 12 (w += s*g). */
void pywd_probe_copy_f32(float *dst, const float *src, int64_t n);
void pywd_probe_rmw_f32(float *w, const float *g, float s, int64_t n);

/* Threads: the OpenMP team size, honouring OMP_NUM_THREADS and threadpoolctl. */
int pywd_openmp_enabled(void);
int pywd_get_num_threads(void);
void pywd_set_num_threads(int n);
const char *pywd_compile_flags(void);
/* "avx512", "avx2" or "baseline": the kernels' unit, chosen once per process (PYWD_ISA may
 * ask for a narrower one); and the widest this CPU and OS run. */
const char *pywd_isa(void);
const char *pywd_isa_supported(void);
int pywd_isa_built(int level); /* 0 baseline, 1 AVX2, 2 AVX-512: whether that unit was built */
/* Makes the 8-bit state's tables (csrc/q8.c): once, before any kernel; 0, or -1 on failure. */
int pywd_q8_init(void);
const struct pywd_q8_map *pywd_q8_map_of(int is_signed);
/* n float32 values as 8-bit state (codes and their blocks' scales), and back (csrc/q8.h) */
void pywd_q8_quantize(const struct pywd_q8_map *m, const float *src, int64_t n,
                      unsigned char *codes, float *absmax);
void pywd_q8_dequantize(const struct pywd_q8_map *m, const unsigned char *codes,
                        const float *absmax, int64_t n, float *dst);
const float *pywd_q8_map_values(const struct pywd_q8_map *m);
/* 1 when the AVX-512 unit runs and rounds to bfloat16 with AVX512-BF16's instruction */
int pywd_avx512bf16(void);
/* 1 when the AVX-512 unit runs and reads 8-bit state's map with AVX512-VBMI (csrc/q8.h) */
int pywd_avx512vbmi(void);

#endif
