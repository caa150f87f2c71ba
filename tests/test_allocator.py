"""pywd.empty, zeros, empty_like, zeros_like: NumPy's results in memory pywd
places (64-byte aligned; from 2 MB up a huge-page-advised mapping of its own), owned by the
array, freed with it, and used for every array pywd allocates. No timings here: the speed
these placements buy is measured by bench/placement.py and the bench."""
import gc
import mmap
import os
import pickle
import threading

import numpy as np
import pytest

import pywd
from pywd import memory, optim

BIG = 3 << 20                  # bytes: above the 2 MB threshold
LINUX = os.path.exists("/proc/self/smaps")


def root(array):
    """The object at the end of an array's base chain."""
    while isinstance(array, np.ndarray) and array.base is not None:
        array = array.base
    return array.obj if isinstance(array, memoryview) else array


def from_pywd(array):
    """Whether pywd's allocator made `array`: its memory is a mapping of its own (big) or a
    uint8 block 64 bytes longer than it (small), and it starts on a 64-byte boundary."""
    base = root(array)
    own = isinstance(base, mmap.mmap) or (isinstance(base, np.ndarray) and base.dtype == np.uint8
                                          and base.nbytes == array.nbytes + memory.ALIGN)
    return own and array.ctypes.data % memory.ALIGN == 0


@pytest.mark.parametrize("nbytes", [8, 1000, 4096, (2 << 20) - 8, 2 << 20, BIG, 17 << 20])
@pytest.mark.parametrize("make", [pywd.empty, pywd.zeros])
def test_arrays_are_numpys_and_64_byte_aligned(make, nbytes):
    a = make(nbytes // 8, np.float64)
    assert type(a) is np.ndarray and a.shape == (nbytes // 8,) and a.dtype == np.float64
    assert a.flags.c_contiguous and a.flags.writeable and from_pywd(a)
    assert a.ctypes.data % 64 == 0
    if make is pywd.zeros:
        assert not a.any()
    a[...] = 1.5                                       # every byte is ours to write
    assert a.sum() == 1.5 * a.size


def test_big_arrays_have_a_mapping_of_their_own_and_small_ones_do_not():
    big, small = pywd.empty(BIG, np.uint8), pywd.empty(1 << 20, np.uint8)
    assert isinstance(root(big), mmap.mmap) and isinstance(root(small), np.ndarray)
    assert not np.shares_memory(big, pywd.empty(BIG, np.uint8))


@pytest.mark.parametrize("shape, order", [((3, 4), "C"), ((3, 4), "F"), ((600, 700), "F"),
                                          ((2, 3, 4), "C"), (5, "C"), ((), "C"), ((0, 3), "F")])
def test_shape_dtype_and_order_follow_numpy(shape, order):
    for dtype in (np.float32, np.float64, np.int16, np.complex64):
        a, ref = pywd.zeros(shape, dtype, order), np.zeros(shape, dtype, order)
        assert (a.shape, a.dtype, a.strides) == (ref.shape, ref.dtype, ref.strides)
        assert a.flags.f_contiguous == ref.flags.f_contiguous


@pytest.mark.parametrize("prototype", [
    np.ones((5, 6), np.float32), np.ones((5, 6), order="F"), np.ones((4, 5, 6))[:, ::2],
    np.ones((4, 5, 6)).transpose(2, 0, 1), np.ones((700, 800), np.float32).T,
    np.ones(10)[::3], [[1.0, 2.0], [3.0, 4.0]]])
@pytest.mark.parametrize("order", ["K", "A", "C", "F"])
def test_like_functions_lay_out_as_numpy_does(prototype, order):
    for ours, theirs in ((pywd.empty_like, np.empty_like), (pywd.zeros_like, np.zeros_like)):
        a, ref = ours(prototype, order=order), theirs(prototype, order=order)
        assert (a.shape, a.dtype, a.strides) == (ref.shape, ref.dtype, ref.strides)
    assert not pywd.zeros_like(prototype, order=order).any()
    assert pywd.empty_like(prototype, dtype=np.int8).dtype == np.int8
    assert pywd.zeros_like(prototype, shape=(2, 7)).shape == (2, 7)


SUBARRAYS = [np.dtype((np.float32, (3,))), np.dtype((np.float64, (2, 3))),
             np.dtype((np.int16, ()))]


@pytest.mark.parametrize("dtype", SUBARRAYS, ids=str)
@pytest.mark.parametrize("shape, order", [(4, "C"), ((2, 4), "F"), ((0, 3), "C"),
                                          ((700, 800), "C"), ((), "F")])
def test_a_subarray_dtype_appends_its_shape_as_numpy_does(dtype, shape, order):
    """A subarray dtype, (np.float32, (3,)), gives shape (..., 3) of float32, laid out as
    NumPy lays it out (the subarray's axes innermost in C order, in F order outermost)."""
    for ours, theirs in ((pywd.zeros, np.zeros), (pywd.empty, np.empty)):
        a, ref = ours(shape, dtype, order), theirs(shape, dtype, order)
        assert (a.shape, a.dtype, a.strides) == (ref.shape, ref.dtype, ref.strides)
    assert not pywd.zeros(shape, dtype, order).any()


@pytest.mark.parametrize("prototype", [
    np.ones((5, 6)), np.ones((5, 6), order="F"), np.ones((4, 5, 6)).transpose(2, 0, 1),
    np.ones(10)[::3], np.ones(())], ids=["C", "F", "transposed", "strided", "0-d"])
def test_the_like_functions_follow_numpy_in_every_order_shape_and_dtype(prototype):
    """Subarray dtypes and shape= too: NumPy's "K" keeps the prototype's order of axes only
    for a shape with as many axes, "A" is F for any F-ordered prototype."""
    for order in ("K", "A", "C", "F"):
        for shape in (None, (2, 7), (2, 7, 3), (3,), ()):
            for dtype in (None, np.int8, *SUBARRAYS):
                for ours, theirs in ((pywd.empty_like, np.empty_like),
                                     (pywd.zeros_like, np.zeros_like)):
                    a = ours(prototype, dtype, order, shape=shape)
                    ref = theirs(prototype, dtype, order, shape=shape)
                    assert (a.shape, a.dtype, a.strides) == (ref.shape, ref.dtype, ref.strides), (
                        order, shape, dtype)


def test_bad_arguments_are_refused():
    with pytest.raises(TypeError, match=r"hold numbers, not Python objects"):
        pywd.empty(3, object)
    with pytest.raises(ValueError, match=r"order must be 'C' or 'F', got 'K'"):
        pywd.zeros(3, order="K")
    with pytest.raises(ValueError, match=r"shape must be ints >= 0, got \(2, -1\)"):
        pywd.empty((2, -1))
    with pytest.raises(ValueError, match=r"order must be 'K', 'A', 'C' or 'F'"):
        pywd.empty_like(np.ones(3), order="X")


def test_an_allocation_the_system_refuses_is_a_memory_error():
    with pytest.raises(MemoryError):
        pywd.empty(1 << 62, np.uint8)


def test_arrays_pickle_save_and_view_as_any_ndarray(tmp_path):
    a = pywd.zeros((1024, 1024), np.float32)            # 4 MB: the mapped path
    a[3, 5] = 7.0
    copy = pickle.loads(pickle.dumps(a))
    assert type(copy) is np.ndarray and copy[3, 5] == 7.0 and not np.shares_memory(a, copy)
    np.save(tmp_path / "a.npy", a)
    np.savez(tmp_path / "a.npz", a=a)
    assert np.load(tmp_path / "a.npy")[3, 5] == 7.0 == np.load(tmp_path / "a.npz")["a"][3, 5]
    view = a[2:, ::2]
    view[1, 2] = 1.0
    assert a[3, 4] == 1.0 and np.shares_memory(view, a)


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not LINUX, reason="Linux: RSS from /proc/self/statm")
@pytest.mark.skipif("libasan" in os.environ.get("LD_PRELOAD", ""),
                    reason="AddressSanitizer keeps freed memory in quarantine")
def test_memory_is_returned_when_the_last_view_dies_and_nothing_leaks():
    gc.collect()
    before = rss_bytes()
    big = pywd.empty(256 << 20, np.uint8)
    big[...] = 1                                        # touch: 256 MB resident
    view = big[10:20]
    del big
    assert rss_bytes() - before > 200 << 20             # the view keeps it alive
    del view
    gc.collect()
    assert rss_bytes() - before < 32 << 20              # unmapped with its last view
    for _ in range(10_000):
        pywd.zeros(100, np.float32)[0] = 1.0
    for _ in range(1_000):
        pywd.zeros(BIG, np.uint8)[::4096] = 1            # touched, mapped and unmapped
    gc.collect()
    assert rss_bytes() - before < 32 << 20


@pytest.mark.skipif(memory.thp_mode() not in ("always", "madvise") or not LINUX,
                    reason="transparent huge pages are off here")
def test_big_arrays_get_huge_pages_where_thp_allows_and_not_under_pywd_hugepages_0(
        monkeypatch):
    a = pywd.zeros(32 << 20, np.uint8)
    a[...] = 1
    assert memory.huge_page_bytes(a) >= 2 << 20
    monkeypatch.setenv("PYWD_HUGEPAGES", "0")
    b = pywd.zeros(32 << 20, np.uint8)
    b[...] = 1
    if memory.thp_mode() == "madvise":                  # "always" gives them regardless
        assert memory.huge_page_bytes(b) == 0


def test_pywd_hugepages_0_gives_the_same_bytes(monkeypatch):
    rng = np.random.default_rng(0)
    w0, g = rng.standard_normal(1 << 20), rng.standard_normal(1 << 20)
    results = []
    for setting in ("1", "0"):
        monkeypatch.setenv("PYWD_HUGEPAGES", setting)
        w = pywd.empty_like(w0)
        w[...] = w0
        opt = optim.AdamW([w], lr=1e-2)
        for _ in range(3):
            opt.step([g])
        results.append(w.tobytes() + opt.state[0]["exp_avg_sq"].tobytes())
    assert results[0] == results[1]


def test_optimizer_state_flat_params_and_loaded_state_come_from_the_allocator():
    w, small = np.ones(BIG // 4, np.float32), np.ones(7)
    opt = optim.Adam([w, small], lr=0.1, amsgrad=True)
    opt.step([np.ones_like(w), np.ones_like(small)])
    for i in (0, 1):
        for name in ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"):
            assert from_pywd(opt.state[i][name]), (i, name)
    twin = optim.Adam([w.copy(), small.copy()], lr=0.1, amsgrad=True)
    twin.load_state_dict(opt.state_dict())
    assert all(from_pywd(twin.state[i]["exp_avg"]) for i in (0, 1))
    rms = optim.Adagrad([w], initial_accumulator_value=0.5)
    rms.step([np.ones_like(w)])
    assert from_pywd(rms.state[0]["sum"]) and rms.state[0]["sum"][0] == 1.5
    flat = pywd.FlatParams([(1024, 1024), (3,)])
    assert from_pywd(flat.buffer) and from_pywd(flat.zeros_like().buffer)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_writes_its_own_copy():
    a = pywd.zeros(BIG, np.uint8)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:                                        # child: write, report, leave
        a[...] = 7
        os.write(write, bytes([int(a[12345])]))
        os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read, 1) == bytes([7]) and not a.any()   # private, as NumPy's memory


def test_threads_allocate_side_by_side():
    arrays, errors = [], []

    def work():
        try:
            for _ in range(20):
                arrays.append(pywd.zeros(BIG // 8))
        except Exception as err:                       # pragma: no cover - reported below
            errors.append(err)
    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(arrays) == 80
    assert len({a.ctypes.data for a in arrays}) == 80 and all(from_pywd(a) for a in arrays)
