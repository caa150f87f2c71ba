"""pywd.distributed under MPI: run as ``mpiexec -n N python tests/mpi_checks.py`` (N = 2, 3;
tests/test_distributed.py and .ci/run do). Every rank runs every check; rank 0 prints
"ALL OK" when all passed on all ranks. A failure raises (mpiexec then exits non-zero).

Tolerances (sharded against one process on the mean gradient, K steps): float64 within 1e-12
relative (plus 1e-14 absolute, for weights near 0); float32 within 1e-5 relative (1e-6
absolute). The only difference is the order in which MPI sums the ranks' gradients: with 2
ranks a sum is exact in any order, so float32 agrees to the bit there; with 3 it may differ
by an ulp of the mean gradient per step.
"""
import io
import sys

import numpy as np
from mpi4py import MPI

import pywd
from pywd import init, optim
from pywd.distributed import ShardedOptimizer, init_sharded_, shard_bounds

comm = MPI.COMM_WORLD
RANK, RANKS = comm.Get_rank(), comm.Get_size()
SHAPES = [(7, 3), (5,), (2, 2, 2), (1,)]          # 35 elements: uneven over 2 and 3 ranks
STEPS = 4
TOL = {np.float64: dict(rtol=1e-12, atol=1e-14), np.float32: dict(rtol=1e-5, atol=1e-6)}

OPTIMISERS = [
    (optim.SGD, dict(lr=0.1, momentum=0.9, weight_decay=0.01)),               # l2
    (optim.SGDW, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1)),
    (optim.AdamW, dict(lr=0.01, weight_decay=0.1)),                            # decoupled
    (optim.Adam, dict(lr=0.01, weight_decay=0.01, amsgrad=True, decay="l1")),
    (optim.RMSprop, dict(lr=0.01, momentum=0.5, centered=True, decay="independent",
                         weight_decay=0.01)),
    (optim.Adagrad, dict(lr=0.1, lr_decay=0.01, weight_decay=0.01)),
    (optim.Lion, dict(lr=0.01, weight_decay=0.1)),
]


def initial(dtype, shapes=SHAPES):
    rng = np.random.default_rng(0)                 # the same on every rank
    return [rng.standard_normal(s).astype(dtype) for s in shapes]


def grads_of(rank, step, dtype, shapes=SHAPES):
    rng = np.random.default_rng(1000 * step + rank)
    return [rng.standard_normal(s).astype(dtype) for s in shapes]


def mean_grads(step, dtype, shapes=SHAPES):
    per_rank = [grads_of(r, step, dtype, shapes) for r in range(RANKS)]
    return [sum(gs[i] for gs in per_rank) / dtype(RANKS) for i in range(len(shapes))]


def one_process(cls, hyper, dtype, steps, shapes=SHAPES, start=0):
    params = initial(dtype, shapes)
    opt = cls(params, **hyper)
    for step in range(start, start + steps):
        opt.step(mean_grads(step, dtype, shapes))
    return params, opt


def assert_close(actual, expected, dtype, what):
    for a, e in zip(actual, expected):
        np.testing.assert_allclose(a, e, err_msg=what, **TOL[dtype])


def check_sharded_equals_one_process():
    for dtype in (np.float64, np.float32):
        for cls, hyper in OPTIMISERS:
            if dtype == np.float32 and cls not in (optim.SGD, optim.AdamW):
                continue                  # Lion's sign() would magnify a 1-ulp difference
            params = initial(dtype)
            sharded = ShardedOptimizer(cls, params, **hyper)
            for step in range(STEPS):
                sharded.step(grads_of(RANK, step, dtype))
            expected, _ = one_process(cls, hyper, dtype, STEPS)
            assert_close(params, expected, dtype, f"{cls.__name__} {dtype.__name__}")
            assert sharded.state_bytes() <= 4 * (sharded.hi - sharded.lo) * dtype().itemsize


def check_flat_params_and_empty_shards():
    flat = pywd.FlatParams(SHAPES, np.float64)
    for view, a in zip(flat.views, initial(np.float64)):
        view[...] = a
    sharded = ShardedOptimizer(optim.AdamW, flat, lr=0.01)
    grads = flat.zeros_like()
    for step in range(STEPS):
        for view, g in zip(grads.views, grads_of(RANK, step, np.float64)):
            view[...] = g
        sharded.step(grads)
    expected, _ = one_process(optim.AdamW, dict(lr=0.01), np.float64, STEPS)
    assert_close(flat.views, expected, np.float64, "FlatParams")
    # a model smaller than the number of ranks: the last ranks' shards are empty
    tiny = [(RANKS - 1,)]
    params = initial(np.float64, tiny)
    sharded = ShardedOptimizer(optim.SGD, params, lr=0.1, momentum=0.9)
    assert (sharded.hi - sharded.lo) == (0 if RANK == RANKS - 1 else 1)
    for step in range(STEPS):
        sharded.step(grads_of(RANK, step, np.float64, tiny))
    expected, _ = one_process(optim.SGD, dict(lr=0.1, momentum=0.9), np.float64, STEPS, tiny)
    assert_close(params, expected, np.float64, "empty shard")


def check_state_reloads_on_fewer_ranks():
    """K steps on all ranks, the gathered state saved as .npz, reloaded on RANKS - 1 ranks,
    K more steps: equal to 2K steps in one process."""
    hyper = dict(lr=0.01, weight_decay=0.1, amsgrad=True)
    params = initial(np.float64)
    sharded = ShardedOptimizer(optim.AdamW, params, **hyper)
    for step in range(STEPS):
        sharded.step(grads_of(RANK, step, np.float64))
    full = sharded.gather_state_dict(root=0)
    saved = None
    if RANK == 0:
        buf = io.BytesIO()
        np.savez(buf, **full)
        saved = buf.getvalue()
    saved = comm.bcast(saved, root=0)
    fewer = comm.Split(0 if RANK < RANKS - 1 else MPI.UNDEFINED, RANK)
    expected, _ = one_process(optim.AdamW, hyper, np.float64, 2 * STEPS)
    if fewer != MPI.COMM_NULL:
        resumed = ShardedOptimizer(optim.AdamW, [p.copy() for p in params], comm=fewer, **hyper)
        resumed.load_state_dict(np.load(io.BytesIO(saved)))
        for step in range(STEPS, 2 * STEPS):
            # the departed rank's gradient is averaged in by hand: the same mean gradient
            local = grads_of(RANK, step, np.float64)
            if RANK == 0:
                local = [g + o for g, o in zip(local, grads_of(RANKS - 1, step, np.float64))]
            resumed.step([g * (fewer.Get_size() / RANKS) for g in local])
        assert_close(resumed._arrays, expected, np.float64, "reloaded on fewer ranks")
        fewer.Free()


def check_errors_reach_every_rank():
    params = initial(np.float64)
    mine = params if RANK != 1 else params[:-1]      # rank 1 has another layout
    try:
        ShardedOptimizer(optim.SGD, mine, lr=0.1)
        raise AssertionError("a mismatched layout was accepted")
    except ValueError as err:
        assert "layout (dtype, shapes) must be the same on every rank" in str(err), err
    sharded = ShardedOptimizer(optim.SGD, params, lr=0.1)
    before = [p.copy() for p in params]
    grads = grads_of(RANK, 0, np.float64)
    if RANK == RANKS - 1:
        grads[0] = grads[0][:-1]                     # a bad gradient on one rank only
    try:
        sharded.step(grads)
        raise AssertionError("a bad gradient was accepted")
    except ValueError as err:
        assert f"rank {RANKS - 1}: grads[0]" in str(err), err
    assert all((p == b).all() for p, b in zip(params, before))
    try:
        init_sharded_(init.normal_, np.empty(10), rng=RANK)       # seeds differ
        raise AssertionError("different seeds were accepted")
    except ValueError as err:
        assert "must be the same on every rank" in str(err), err


def raises_everywhere(call, pattern, what):
    """`call` must raise a ValueError matching `pattern` on this rank (on every rank: each
    runs this), and must not leave any rank waiting (the run is time-boxed)."""
    try:
        call()
    except ValueError as err:
        assert pattern in str(err), (what, err)
        return
    raise AssertionError(f"{what} was accepted")


def check_rank_local_mistakes_raise_on_every_rank():
    """Whatever one rank refuses, or that differs between ranks, is agreed before
    any collective; nothing changes and the optimiser still works afterwards."""
    params = initial(np.float64)
    sharded = ShardedOptimizer(optim.SGD, params, lr=0.1, momentum=0.9)
    before = [p.copy() for p in params]
    grads = grads_of(RANK, 0, np.float64)
    group = sharded.optimizer.param_groups[0]
    if RANK == 1:
        group["lr"] = -1.0
    raises_everywhere(lambda: sharded.step(grads), "rank 1: lr must be a finite number",
                      "a bad lr on one rank")
    group["lr"] = 0.1 if RANK != 1 else 0.2
    raises_everywhere(lambda: sharded.step(grads), "hyper-parameters must be the same",
                      "lr differing by rank")
    group["lr"] = 0.1
    raises_everywhere(
        lambda: sharded.step(grads, nonfinite="skip" if RANK == 0 else "propagate"),
        "must be the same on every rank", "options differing by rank")
    raises_everywhere(lambda: sharded.step(grads, max_grad_norm=1.0 if RANK else None),
                      "must be the same on every rank", "clipping on some ranks")
    if RANK == 0:
        sharded.optimizer.state[0] = {"momentum_buffer": np.zeros(3)}   # a corrupt state
    raises_everywhere(lambda: sharded.step(grads), "rank 0: momentum_buffer[0]: shape (3,)",
                      "a corrupt state on one rank")
    sharded.optimizer.state.clear()
    assert all((p == b).all() for p, b in zip(params, before))
    assert sharded.step(grads)                     # still in step on every rank
    w = np.zeros((6, 4))
    raises_everywhere(lambda: init_sharded_(init.normal_, w, std=1.0 if RANK == 0 else -1.0,
                                            rng=0),
                      "std must be a finite number >= 0", "a bad std on one rank")
    raises_everywhere(lambda: init_sharded_(init.normal_, w, std=1.0 + RANK, rng=0),
                      "arguments and rng (seed, position) must be the same",
                      "std differing by rank")
    raises_everywhere(lambda: init_sharded_(init.dirac_, np.zeros((4, 4, 3)),
                                            groups=3 if RANK else 1),
                      "dirac_ needs the output channels", "dirac_ groups on one rank")
    assert (w == 0).all()
    for fill, tensor, kwargs in [(init.zeros_, np.ones((5, 3)), {}),
                                 (init.constant_, np.ones(7), dict(val=2.5)),
                                 (init.eye_, np.ones((4, 6)), dict(gain=3.0)),
                                 (init.dirac_, np.ones((4, 2, 3)), dict(groups=2))]:
        expected = fill(tensor.copy(), **kwargs)
        assert init_sharded_(fill, tensor, **kwargs).tobytes() == expected.tobytes()


def check_list_params_are_the_parameters():
    """What the user does to the arrays between steps is what the next step
    starts from (a snapshot made at construction used to be written back over it)."""
    params = initial(np.float64)
    twins = [p.copy() for p in params]
    sharded = ShardedOptimizer(optim.SGD, params, lr=0.1)
    plain = optim.SGD(twins, lr=0.1)
    for p, t in zip(params, twins):
        p[...] = 1.0
        t[...] = 1.0
    for step in range(2):
        sharded.step(grads_of(RANK, step, np.float64))
        plain.step(mean_grads(step, np.float64))
    assert_close(params, twins, np.float64, "list params changed by the user")


def check_grad_options_act_on_the_mean_gradient():
    """grad_scale and max_grad_norm as the one-process optimiser applies them to the mean
    gradient; a NaN on one rank skips (or refuses) the step on every rank."""
    hyper = dict(lr=0.01, weight_decay=0.1)
    params, one = initial(np.float64), initial(np.float64)
    sharded, plain = ShardedOptimizer(optim.AdamW, params, **hyper), optim.AdamW(one, **hyper)
    for step in range(STEPS):
        ours = sharded.step([g * 100 for g in grads_of(RANK, step, np.float64)],
                            grad_scale=4.0, max_grad_norm=1.0, nonfinite="skip")
        scaled = [[g * 100 for g in grads_of(r, step, np.float64)] for r in range(RANKS)]
        mean = [sum(gs[i] for gs in scaled) / RANKS for i in range(len(SHAPES))]
        theirs = plain.step(mean, grad_scale=4.0, max_grad_norm=1.0)
        assert ours.applied and theirs.grad_norm > 1.0                  # clipping happened
        assert abs(ours.grad_norm - theirs.grad_norm) <= 1e-12 * theirs.grad_norm
    assert_close(params, one, np.float64, "clipped")
    before = [p.copy() for p in params]
    grads = grads_of(RANK, STEPS, np.float64)
    if RANK == RANKS - 1:
        grads[1][0] = np.nan
    result = sharded.step(grads, nonfinite="skip")
    assert not result and sharded.optimizer.skipped_steps == 1
    try:
        sharded.step(grads, nonfinite="raise")
        raise AssertionError("a NaN gradient was accepted")
    except FloatingPointError as err:
        assert "non-finite" in str(err), err
    assert all((p == b).all() for p, b in zip(params, before))
    small = [p.astype(np.float32) for p in initial(np.float64)]
    before32 = [p.copy() for p in small]
    sharded32 = ShardedOptimizer(optim.SGD, small, lr=1e-12)
    huge = [np.zeros(s, np.float32) for s in SHAPES]
    if RANK == RANKS - 1:
        huge[0][-1, -1] = 1e30        # finite, but inf once divided by grad_scale in float32
    assert not sharded32.step(huge, grad_scale=1e-10, nonfinite="skip")
    assert all((p == b).all() for p, b in zip(small, before32))
    try:
        sharded.step(grads_of(RANK, 0, np.float64), nonfinite="maybe" if RANK == 0 else "skip")
        raise AssertionError("a bad option was accepted")
    except ValueError as err:
        assert "rank 0: nonfinite must be one of" in str(err), err


def check_schedule_free_shards_and_swaps_like_one_process():
    """Schedule-free steps per element; train()/eval() swap every shard and gather."""
    for cls, hyper in ((optim.AdamWScheduleFree, dict(lr=0.01, warmup_steps=2,
                                                      weight_decay=0.01)),
                       (optim.SGDScheduleFree, dict(lr=0.1, weight_decay=0.01))):
        params = initial(np.float64)
        sharded = ShardedOptimizer(cls, params, **hyper)
        alone = initial(np.float64)
        opt = cls(alone, **hyper)
        for step in range(STEPS):
            sharded.step(grads_of(RANK, step, np.float64))
            opt.step(mean_grads(step, np.float64))
        for mode in ("eval", "train"):
            getattr(sharded, mode)()
            getattr(opt, mode)()
            assert_close(params, alone, np.float64, f"{cls.__name__} after {mode}()")
            if mode == "eval":       # a step in eval mode: refused on every rank, before any
                before = [p.copy() for p in params]                     # communication
                try:
                    sharded.step(grads_of(RANK, STEPS, np.float64))
                except RuntimeError as err:
                    assert "is in eval mode" in str(err), err
                else:
                    raise AssertionError("a step in eval mode was not refused")
                assert_close(params, before, np.float64, "a refused step")
    try:
        ShardedOptimizer(optim.AdamW, initial(np.float64), lr=0.01).eval()
    except TypeError as err:
        assert "AdamW has no eval()" in str(err), err
    else:
        raise AssertionError("AdamW's eval() was not refused")


def check_sharded_init_equals_one_process():
    for fill, shape, dtype, kwargs in [
            (init.normal_, (1001,), np.float32, dict(std=0.02)),
            (init.uniform_, (33, 7), np.float64, dict(a=-1.0, b=1.0)),
            (init.trunc_normal_, (5, 9), np.float32, dict(std=0.5)),
            (init.kaiming_normal_, (64, 3, 3, 3), np.float32, dict(nonlinearity="relu")),
            (init.xavier_uniform_, (17, 31), np.float64, {}),
            (init.lecun_normal_, (40, 11), np.float32, {}),
            (init.variance_scaling_, (13, 8), np.float64, dict(scale=2.0)),
            (init.orthogonal_, (12, 7), np.float64, {}),             # computed whole
            (init.normal_, (RANKS - 1,), np.float64, {})]:            # an empty shard
        gen = pywd.Generator(11, position=5)
        sharded = init_sharded_(fill, np.empty(shape, dtype), rng=gen, **kwargs)
        whole_gen = pywd.Generator(11, position=5)
        whole = fill(np.empty(shape, dtype), rng=whole_gen, **kwargs)
        assert sharded.tobytes() == whole.tobytes(), fill.__name__
        assert gen.position == whole_gen.position, fill.__name__   # the next fill agrees too
    lo, hi = shard_bounds(1001, RANKS)[RANK]
    assert hi - lo in (1001 // RANKS, 1001 // RANKS + 1)


def check_8_bit_state_shards_on_its_blocks():
    """AdamW with 8-bit state: each rank's shard starts on a 256-element block of the flat
    parameters, so the blocks and their scales are those of one process stepping the flat
    parameters as one array: the same weights (bit for bit on 2 ranks, where the mean
    gradient is too; within float32's tolerance on 3)."""
    shapes, hyper = [(100, 90), (10_993,), (7,)], dict(lr=0.01, weight_decay=0.1,
                                                       state_dtype="8bit")
    params = initial(np.float32, shapes)
    sharded = ShardedOptimizer(optim.AdamW, params, **hyper)
    assert sharded.lo % 256 == 0 and sharded.hi - sharded.lo >= 4096    # 8-bit, aligned
    for step in range(STEPS):
        sharded.step(grads_of(RANK, step, np.float32, shapes))
    flat = np.concatenate([p.ravel() for p in initial(np.float32, shapes)])
    one = optim.AdamW([flat], **hyper)
    for step in range(STEPS):
        one.step([np.concatenate([g.ravel() for g in mean_grads(step, np.float32, shapes)])])
    assert isinstance(sharded.optimizer.state[0]["exp_avg"], pywd.QuantizedState)
    got = np.concatenate([p.ravel() for p in params])
    if RANKS == 2:
        np.testing.assert_array_equal(got, flat)
    else:
        assert_close([got], [flat], np.float32, "8-bit AdamW")


def main():
    checks = [check_sharded_equals_one_process, check_flat_params_and_empty_shards,
              check_state_reloads_on_fewer_ranks, check_errors_reach_every_rank,
              check_grad_options_act_on_the_mean_gradient, check_sharded_init_equals_one_process,
              check_rank_local_mistakes_raise_on_every_rank, check_list_params_are_the_parameters,
              check_schedule_free_shards_and_swaps_like_one_process,
              check_8_bit_state_shards_on_its_blocks]
    for check in checks:
        check()
        comm.Barrier()
        if RANK == 0:
            print(f"ok {check.__name__} on {RANKS} ranks", flush=True)
    if RANK == 0:
        print("ALL OK", flush=True)


if __name__ == "__main__":
    try:
        main()
    except BaseException:
        import traceback
        traceback.print_exc()
        sys.stdout.flush()
        comm.Abort(1)                     # one failing rank must not leave the others waiting
