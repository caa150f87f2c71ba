/* OpenMP glue: optional (a serial build is correct), and it honours the standard knobs.
 * The team size is omp_get_max_threads() of the calling thread, which OMP_NUM_THREADS,
 * omp_set_num_threads (pywd.set_num_threads) and threadpoolctl all set. */
#define _POSIX_C_SOURCE 200809L /* pthread_atfork under -std=c99 */

#include "common.h"
#include "pywd.h"

#ifdef _OPENMP
#include <omp.h>
#endif

/* Fork safety. GNU libgomp is not fork-safe: a child forked after the parent ran a parallel
 * region hangs in its first parallel region (multiprocessing's "fork" start method does
 * exactly this). So pywd remembers whether it has started a team, and a child forked after
 * that runs every kernel serially: same bytes, no hang. */
#if defined(_OPENMP) && !defined(_WIN32)
#include <pthread.h>
#define PYWD_FORK_GUARD 1
static volatile int team_started = 0, forked_after_team = 0;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static void mark_child(void) { forked_after_team = team_started; }
static void register_atfork(void) { pthread_atfork(0, 0, mark_child); }
#else
#define PYWD_FORK_GUARD 0
#endif

#ifndef PYWD_COMPILE_FLAGS
#define PYWD_COMPILE_FLAGS "unknown"
#endif

int pywd_openmp_enabled(void)
{
#ifdef _OPENMP
    return 1;
#else
    return 0;
#endif
}

int pywd_get_num_threads(void)
{
#if PYWD_FORK_GUARD
    if (forked_after_team) return 1;
#endif
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

void pywd_set_num_threads(int n)
{
#ifdef _OPENMP
    omp_set_num_threads(n);
#else
    (void)n;
#endif
}

const char *pywd_compile_flags(void) { return PYWD_COMPILE_FLAGS; }

int pywd_team_size(int64_t total)
{
    int64_t by_work = total / PYWD_GRAIN;
    int limit = pywd_get_num_threads();
    if (by_work < 1) return 1;
    return by_work < limit ? (int)by_work : limit;
}

#ifdef _OPENMP
/* First element of slice k of `total` when cut into `parts`; slices start on multiples of
 * 16 elements (a 64-byte cache line of floats) so that threads do not share lines. */
static int64_t slice_start(int64_t total, int parts, int k)
{
    int64_t per = (total + parts - 1) / parts;
    int64_t start;
    per = (per + 15) & ~(int64_t)15;
    start = per * k;
    return start < total ? start : total;
}
#endif

static void run_slice(int64_t n, const int64_t *sizes, pywd_span_fn fn, const void *ctx,
                      int64_t lo, int64_t hi)
{
    int64_t t, offset = 0;
    for (t = 0; t < n && offset < hi; offset += sizes[t], t++) {
        int64_t begin = lo > offset ? lo - offset : 0;
        int64_t end = hi < offset + sizes[t] ? hi - offset : sizes[t];
        if (begin < end) fn(ctx, t, begin, end);
    }
}

/* Team size for `total` elements; a team of more than one is about to start, so the fork
 * guard is armed first. */
static int start_team(int64_t total)
{
    int team = pywd_team_size(total);
#if PYWD_FORK_GUARD
    if (team > 1) {
        pthread_once(&atfork_once, register_atfork);
        team_started = 1;
    }
#endif
    return team;
}

void pywd_run_spans(int64_t n, const int64_t *sizes, pywd_span_fn fn, const void *ctx)
{
    int64_t t, total = 0;
    int team;
    for (t = 0; t < n; t++) total += sizes[t];
    team = start_team(total);
    if (team <= 1) {
        run_slice(n, sizes, fn, ctx, 0, total);
        return;
    }
#ifdef _OPENMP
#pragma omp parallel num_threads(team)
    {
        int parts = omp_get_num_threads(), k = omp_get_thread_num();
        run_slice(n, sizes, fn, ctx, slice_start(total, parts, k), slice_start(total, parts, k + 1));
    }
#endif
}

void pywd_run_blocks(int64_t nblocks, int64_t total, pywd_blocks_fn fn, const void *ctx)
{
    int team = start_team(total);
    if (team <= 1 || nblocks < team) {
        fn(ctx, 0, nblocks);
        return;
    }
#ifdef _OPENMP
#pragma omp parallel num_threads(team)
    {
        int64_t parts = omp_get_num_threads(), k = omp_get_thread_num();
        fn(ctx, nblocks * k / parts, nblocks * (k + 1) / parts);
    }
#endif
}
