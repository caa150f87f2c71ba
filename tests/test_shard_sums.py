"""The kernels' exchange of per-tensor sums for sharded parameters (pywd_shard_sums, which
pywd.torch uses for DTensors), in one process: two optimisers each hold one slice of every
parameter and step in two threads, their reducers adding each other's sums; together they
must take the step that one optimiser takes on the whole parameters (the trust ratios,
caution's kept fraction and norm control's norms are the whole tensors'). The spawned
torch checks (test_torch_distributed.py) run the same through torch.distributed."""
import threading

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from pywd import optim

CASES = [
    ("Lamb", dict(lr=1e-2, weight_decay=0.1)),
    ("Lamb", dict(lr=1e-2, weight_decay=0.1, trust_clip=True, decay="l2")),
    ("Lamb", dict(lr=1e-2, weight_decay=0.0, always_adapt=True)),
    ("LARS", dict(lr=5e-2, momentum=0.9, weight_decay=1e-3)),
    ("LARS", dict(lr=5e-2, momentum=0.9, weight_decay=1e-3, decay="l2", trust_clip=True)),
    ("AdamW", dict(lr=1e-2, weight_decay=0.1, caution=True)),
    ("SGD", dict(lr=5e-2, momentum=0.9, weight_decay=0.1, decay="decoupled", caution=True)),
    ("AdamW", dict(lr=5e-2, weight_decay=0.5, norm_target=1.5)),
    ("Lion", dict(lr=1e-3, weight_decay=0.5, norm_target=0.5, caution=True)),
]


class Exchange:
    """Two slices' reducers: each waits for the other's sums and takes their total, added
    in slice order (as pywd.torch adds processes in rank order)."""

    def __init__(self):
        self.barrier = threading.Barrier(2, timeout=60)
        self.sent = [None, None]
        self.calls = 0

    def reducer(self, k):
        def reduce(sums):
            self.sent[k] = [rows.copy() for _, rows in sums]
            self.barrier.wait()
            for (_, rows), first, second in zip(sums, self.sent[0], self.sent[1]):
                rows[...] = first + second
            self.calls += 1
            self.barrier.wait()
        return reduce


def run_sharded(cls, options, params, grads_per_step, cut):
    """The parameters sliced at row `cut` of each, stepped by two optimisers in threads."""
    slices = [[p[:c].copy() for p, c in zip(params, cut)],
              [p[c:].copy() for p, c in zip(params, cut)]]
    exchange = Exchange()
    opts = [cls(s, **options) for s in slices]
    for k, opt in enumerate(opts):
        opt._shard_reducer = exchange.reducer(k)
    for grads in grads_per_step:
        halves = [[g[:c] for g, c in zip(grads, cut)], [g[c:] for g, c in zip(grads, cut)]]
        errors = []

        def step(k):
            try:
                opts[k].step(halves[k])
            except BaseException as err:        # noqa: BLE001  (re-raised below)
                errors.append(err)
                exchange.barrier.abort()
        threads = [threading.Thread(target=step, args=(k,)) for k in (0, 1)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
    assert exchange.calls == 2 * len(grads_per_step)     # every step exchanged
    return [np.concatenate([a, b]) for a, b in zip(*slices)]


def whole_and_sliced(name, options, params, grads, cut):
    """(the sliced run's parameters, the whole run's) of optim.<name> over `grads`."""
    cls = getattr(optim, name)
    whole = [p.copy() for p in params]
    ref = cls(whole, **options)
    for g in grads:
        ref.step(g)
    return run_sharded(cls, options, params, grads, cut), whole


def draw(rng, shapes, dtype, steps):
    params = [rng.standard_normal(s).astype(dtype) for s in shapes]
    grads = [[rng.standard_normal(s).astype(dtype) for s in shapes] for _ in range(steps)]
    return params, grads


@pytest.mark.parametrize("name, options", CASES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sliced_steps_are_the_whole_tensors_step(name, options, dtype):
    rng = np.random.default_rng(0)
    shapes = [(7, 5), (3,), (4, 2)]
    params, grads = draw(rng, shapes, dtype, 6)
    if name == "AdamW" and "caution" in options:     # some elements kept, some not
        grads = [[g * np.sign(rng.standard_normal(g.shape)).astype(dtype) for g in gs]
                 for gs in grads]
    got, whole = whole_and_sliced(name, options, params, grads, cut=[4, 0, 1])  # an empty slice
    tol = dict(rtol=1e-12, atol=1e-13) if dtype == np.float64 else dict(rtol=2e-5, atol=2e-6)
    for a, b in zip(got, whole):
        np.testing.assert_allclose(a, b, **tol)


@pytest.mark.parametrize("name, options", CASES)
def test_bfloat16_slices(name, options):
    """16-bit storage (rounded to nearest, so that slices and whole round alike): the sums
    of the widened values, exchanged; within a bfloat16 rounding of the whole step."""
    ml_dtypes = pytest.importorskip("ml_dtypes")
    bf16 = np.dtype(ml_dtypes.bfloat16)
    rng = np.random.default_rng(2)
    params, grads = draw(rng, [(6, 4), (5,)], np.float32, 4)
    params = [p.astype(bf16) for p in params]
    options = dict(options, rounding="nearest")
    got, whole = whole_and_sliced(name, options, params, grads, cut=[2, 3])
    for a, b in zip(got, whole):
        np.testing.assert_allclose(a.astype(np.float32), b.astype(np.float32), rtol=8e-3,
                                   atol=1e-6)


@settings(deadline=None, max_examples=25)
@given(case=st.sampled_from(CASES), rows=st.lists(st.integers(1, 9), min_size=1, max_size=3),
       cuts=st.lists(st.floats(0, 1), min_size=3, max_size=3), seed=st.integers(0, 2**16))
def test_any_cut_of_any_shapes(case, rows, cuts, seed):
    name, options = case
    rng = np.random.default_rng(seed)
    shapes = [(r, 3) for r in rows]
    params, grads = draw(rng, shapes, np.float64, 3)
    cut = [int(round(c * r)) for c, r in zip(cuts, rows)]
    got, whole = whole_and_sliced(name, options, params, grads, cut)
    for a, b in zip(got, whole):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)


def test_without_the_exchange_the_slices_step_apart():
    """The check above can fail: each slice's own trust ratio is not the tensor's."""
    rng = np.random.default_rng(1)
    params, grads = draw(rng, [(8, 4)], np.float64, 2)
    whole = [p.copy() for p in params]
    ref = optim.Lamb(whole, lr=1e-2, weight_decay=0.1)
    halves = [[params[0][:3].copy()], [params[0][3:].copy()]]
    apart = [optim.Lamb(h, lr=1e-2, weight_decay=0.1) for h in halves]
    for g in grads:
        ref.step(g)
        apart[0].step([g[0][:3]])
        apart[1].step([g[0][3:]])
    joined = np.concatenate([halves[0][0], halves[1][0]])
    assert np.abs(joined - whole[0]).max() > 1e-6
