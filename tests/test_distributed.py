"""pywd.FlatParams, and pywd.distributed: the MPI checks (tests/mpi_checks.py) run under
``mpiexec -n 2`` and ``-n 3`` (time-boxed), and the single-process pieces here."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import pywd
from pywd import optim

CHECKS = Path(__file__).with_name("mpi_checks.py")


def mpiexec():
    pytest.importorskip("mpi4py")
    exe = shutil.which("mpiexec", path=os.pathsep.join([str(Path(sys.executable).parent),
                                                         os.environ.get("PATH", "")]))
    if exe is None:
        pytest.skip("no mpiexec (pip install 'pywd[mpi]')")
    return exe


@pytest.mark.parametrize("ranks", [2, 3])
def test_sharded_optimizer_and_init_under_mpiexec(ranks):
    out = subprocess.run([mpiexec(), "-n", str(ranks), sys.executable, str(CHECKS)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and "ALL OK" in out.stdout, out.stdout + out.stderr


def test_shard_bounds_cover_everything_unevenly():
    from pywd.distributed import shard_bounds
    assert shard_bounds(35, 3) == [(0, 12), (12, 24), (24, 35)]
    assert shard_bounds(2, 3) == [(0, 1), (1, 2), (2, 2)]           # an empty shard
    # on 8-bit state's blocks: every shard starts on a multiple of 256
    assert shard_bounds(1000, 3, 256) == [(0, 512), (512, 768), (768, 1000)]
    assert shard_bounds(100, 2, 256) == [(0, 100), (100, 100)]
    assert shard_bounds(0, 2) == [(0, 0), (0, 0)]


def test_flat_params_views_share_one_buffer():
    flat = pywd.FlatParams([(3, 4), 5, ()], np.float32)
    assert flat.buffer.shape == (18,) and [v.shape for v in flat] == [(3, 4), (5,), ()]
    flat[1][...] = 2.0
    assert (flat.buffer[12:17] == 2.0).all() and flat.offsets == [0, 12, 17]
    assert all(np.shares_memory(v, flat.buffer) for v in flat.views)
    copy = pywd.FlatParams.from_arrays([np.ones((2, 2)), np.zeros(3)])
    assert copy.dtype == np.float64 and copy.buffer.tolist() == [1, 1, 1, 1, 0, 0, 0]


def test_optimizers_take_flat_params_and_update_the_buffer():
    """One list call over the views, or one call over the buffers: the same bytes."""
    rng = np.random.default_rng(0)
    flat = pywd.FlatParams([(4, 3), (3,)], np.float64)
    flat.buffer[...] = rng.standard_normal(flat.buffer.size)
    grads = flat.zeros_like()
    grads.buffer[...] = rng.standard_normal(grads.buffer.size)
    by_hand = flat.buffer.copy()
    m, v = np.zeros_like(by_hand), np.zeros_like(by_hand)
    opt = optim.AdamW(flat, lr=0.01)
    opt.step(grads)
    pywd.adamw(by_hand, grads.buffer, m, v, step=1, lr=0.01)
    assert flat.buffer.tobytes() == by_hand.tobytes()


@pytest.mark.parametrize("shapes, dtype, error", [
    ([(2, -1)], np.float32, ValueError), ([(2.5,)], np.float32, ValueError),
    ([(3,)], np.int32, TypeError)])
def test_flat_params_refuses_bad_layouts(shapes, dtype, error):
    with pytest.raises(error):
        pywd.FlatParams(shapes, dtype)


def test_one_rank_is_the_plain_optimizer():
    MPI = pytest.importorskip("mpi4py.MPI")
    from pywd.distributed import ShardedOptimizer
    rng = np.random.default_rng(1)
    params = [rng.standard_normal((4, 5)), np.asfortranarray(rng.standard_normal((3, 2)))]
    twins = [p.copy(order="K") for p in params]
    sharded = ShardedOptimizer(optim.AdamW, params, comm=MPI.COMM_SELF, lr=0.1)
    plain = optim.AdamW(twins, lr=0.1)
    for _ in range(3):
        grads = [np.asarray(rng.standard_normal(p.shape), order="F" if p.flags.f_contiguous
                            and not p.flags.c_contiguous else "C") for p in params]
        sharded.step(grads)
        plain.step(grads)
    assert [p.tobytes() for p in params] == [t.tobytes() for t in twins]
    assert sharded.state_bytes() == 2 * 26 * 8 and sharded.bytes_communicated() == 0


def test_one_rank_applies_the_gradient_options_like_the_plain_optimizer():
    MPI = pytest.importorskip("mpi4py.MPI")
    from pywd.distributed import ShardedOptimizer
    params, twins = [np.ones((3, 3))], [np.ones((3, 3))]
    sharded = ShardedOptimizer(optim.SGD, params, comm=MPI.COMM_SELF, lr=0.5)
    plain = optim.SGD(twins, lr=0.5)
    grads = [np.full((3, 3), 8.0)]
    assert sharded.step(grads, grad_scale=2.0, max_grad_norm=1.0) == \
        plain.step(grads, grad_scale=2.0, max_grad_norm=1.0)
    assert params[0].tobytes() == twins[0].tobytes()
    grads[0][1, 1] = np.inf
    assert not sharded.step(grads, nonfinite="skip") and sharded.optimizer.skipped_steps == 1
    assert params[0].tobytes() == twins[0].tobytes()


def test_one_rank_keeps_what_the_user_does_to_list_params():
    """A snapshot taken at construction was copied back over the user's arrays."""
    MPI = pytest.importorskip("mpi4py.MPI")
    from pywd.distributed import ShardedOptimizer
    W = np.zeros(3)
    opt = ShardedOptimizer(optim.SGD, [W], comm=MPI.COMM_SELF, lr=0.1)
    W[...] = 1.0
    opt.step([np.zeros(3)])
    assert (W == 1.0).all()
    opt.step([np.ones(3)])
    np.testing.assert_array_equal(W, 0.9)


def test_one_rank_refuses_a_bad_inner_hyper_parameter_before_anything():
    MPI = pytest.importorskip("mpi4py.MPI")
    from pywd.distributed import ShardedOptimizer
    W = np.ones(4)
    opt = ShardedOptimizer(optim.Adam, [W], comm=MPI.COMM_SELF, lr=0.1)
    opt.optimizer.param_groups[0]["lr"] = -1.0
    with pytest.raises(ValueError, match=r"rank 0: lr must be a finite number >= 0"):
        opt.step([np.ones(4)])
    assert (W == 1.0).all() and opt.optimizer.state == {}


def test_one_rank_judges_float32_overflow_after_scaling():
    """The sharded step: 1e30 / 1e-10 is inf in float32."""
    MPI = pytest.importorskip("mpi4py.MPI")
    from pywd.distributed import ShardedOptimizer
    W = np.zeros(4, np.float32)
    opt = ShardedOptimizer(optim.SGD, [W], comm=MPI.COMM_SELF, lr=1e-12)
    g = np.full(4, 1e30, np.float32)
    assert not opt.step([g], grad_scale=1e-10, nonfinite="skip")
    with pytest.raises(FloatingPointError, match=r"overflows float32 once scaled"):
        opt.step([g], grad_scale=1e-10, nonfinite="raise")
    assert (W == 0).all() and opt.optimizer.skipped_steps == 1
    assert opt.step([g], grad_scale=1e-7, nonfinite="skip") and (W < 0).all()


@pytest.mark.parametrize("cls", [optim.Lamb, optim.LARS, optim.Muon, optim.Adafactor])
def test_optimizers_whose_step_needs_whole_tensors_are_refused(cls):
    """ZeRO-1 steps a slice of the flat parameters: LAMB/LARS would take trust ratios of the
    slice, Muon would see no matrix, Adafactor no rows and columns. Refused before any MPI call (mpi4py need not be
    installed)."""
    from pywd import distributed
    with pytest.raises(ValueError, match=rf"ShardedOptimizer cannot shard {cls.__name__}"):
        distributed.ShardedOptimizer(cls, [np.zeros(4)])
    with pytest.raises(TypeError, match="optimizer_cls must be a pywd.optim class"):
        distributed.ShardedOptimizer(pywd.adamw, [np.zeros(4)])
