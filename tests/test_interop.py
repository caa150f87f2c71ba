"""Objects that are not ndarrays: whatever NumPy can view writeably without a copy is updated
in place through that view (memory-mapped arrays, __array_interface__ and buffer-protocol
objects, CPU torch tensors); whatever would need a copy is refused, never silently copied."""
import array

import numpy as np
import pytest

import pywd
from pywd import init, optim


class Interface:
    """A foreign array: it shares `data`'s memory through __array_interface__ only."""

    def __init__(self, data):
        self._data = data
        self.__array_interface__ = data.__array_interface__


class CopyingArray:
    """__array__ that hands out a fresh array each time: updating it would be lost."""

    def __array__(self, dtype=None, copy=None):
        return np.ones(4)


class ViewOfCopy:
    """__array__ that returns a view of a fresh copy: it owns no data, yet an
    update through it is lost all the same."""

    def __init__(self):
        self.data = np.ones(4)

    def __array__(self, dtype=None, copy=None):
        return self.data.copy()[:]


class DLPackOnly:
    """Shares `data`'s memory through DLPack alone (as a CPU torch tensor does)."""

    def __init__(self, data):
        self._data = data

    def __dlpack__(self, **kwargs):
        return self._data.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self._data.__dlpack_device__()


def test_memmap_is_updated_in_place(tmp_path):
    path = tmp_path / "w.dat"
    w = np.memmap(path, dtype=np.float32, mode="w+", shape=(1000,))
    w[:] = 1.0
    pywd.sgd(w, np.full(1000, 2.0, np.float32), lr=0.25)
    w.flush()
    assert (np.fromfile(path, np.float32) == 0.5).all()
    opt = optim.SGD([w], lr=0.25)
    opt.step([np.ones(1000, np.float32)])
    assert (w == 0.25).all()


def test_array_interface_objects_are_updated_in_place():
    data, grad = np.ones(6), np.full(6, 2.0)
    pywd.sgd(Interface(data), Interface(grad), lr=0.25)
    assert (data == 0.5).all()
    m, v = np.zeros(6), np.zeros(6)
    pywd.adamw([Interface(data)], [grad], [Interface(m)], [v], step=1, lr=0.1)
    assert (m != 0).all() and (v != 0).all()
    init.constant_(Interface(data), 3.0)
    assert (data == 3.0).all()


def test_buffer_protocol_objects_are_updated_in_place():
    w, g = array.array("f", [1.0] * 8), array.array("f", [2.0] * 8)
    pywd.sgd(w, g, lr=0.25)
    assert list(w) == [0.5] * 8
    raw = bytearray(np.ones(4).tobytes())
    pywd.decay(memoryview(raw).cast("d"), lr=0.5, weight_decay=0.5)
    assert (np.frombuffer(raw) == 0.75).all()


def test_dlpack_objects_are_updated_in_place():
    data, m = np.ones(6), np.zeros(6)
    pywd.sgd(DLPackOnly(data), np.full(6, 2.0), [DLPackOnly(m)], lr=0.25, momentum=0.5)
    assert (data == 0.5).all() and (m == 2.0).all()
    init.constant_(DLPackOnly(data), 3.0)
    assert (data == 3.0).all()


def test_an_update_through_a_view_of_a_copy_is_refused_not_lost():
    obj = ViewOfCopy()
    with pytest.raises(TypeError, match=r"offers only __array__"):
        pywd.sgd(obj, np.ones(4), lr=0.5)
    with pytest.raises(TypeError, match=r"offers only __array__"):
        optim.SGD([obj], lr=0.5)
    assert (obj.data == 1.0).all()


def test_read_only_foreign_memory_is_refused():
    data = np.ones(4)
    data.flags.writeable = False
    with pytest.raises(ValueError, match=r"params: is read-only"):
        pywd.sgd(Interface(data), np.ones(4), lr=0.1)
    with pytest.raises(ValueError, match=r"params: is read-only"):
        pywd.sgd(memoryview(b"\0" * 32).cast("d"), np.ones(4), lr=0.1)
    pywd.sgd(np.ones(4), Interface(data), lr=0.1)     # a read-only gradient is fine


@pytest.mark.parametrize("obj, pattern", [
    ([1.0, 2.0, 3.0, 4.0], r"expected a numpy.ndarray, got list"),
    (CopyingArray(), r"a CopyingArray offers only __array__, which may return a copy"),
    (ViewOfCopy(), r"a ViewOfCopy offers only __array__, which may return a copy"),
    ("1234", r"expected a numpy.ndarray, got str"),
])
def test_anything_that_needs_a_copy_is_refused(obj, pattern):
    w = np.ones(4)
    with pytest.raises(TypeError, match=r"params\[1\]: " + pattern):
        pywd.sgd([w, obj], [np.ones(4), np.ones(4)], lr=0.1)
    assert (w == 1.0).all()
    with pytest.raises(TypeError, match=pattern):
        init.normal_(obj)
    with pytest.raises(TypeError, match=pattern):
        optim.SGD([w, obj])


def test_torch_tensors_are_updated_in_place():
    torch = pytest.importorskip("torch")
    w, g = torch.ones(1000), torch.full((1000,), 2.0)
    m, v = torch.zeros(1000), torch.zeros(1000)
    assert pywd.adamw(w, g, m, v, step=1, lr=0.1, weight_decay=0.0)
    assert torch.allclose(w, torch.full((1000,), 0.9))
    assert init.normal_(w, rng=0) is w and w.std() > 0.5          # filled, returned
    params = [torch.zeros(3, 4, dtype=torch.float64), torch.zeros(5, dtype=torch.float64)]
    opt = optim.SGD(params, lr=0.5, momentum=0.9)
    opt.step([torch.ones(3, 4, dtype=torch.float64), np.ones(5)])
    assert (params[0] == -0.5).all() and (params[1] == -0.5).all()


def test_torch_tensors_that_numpy_cannot_view_writeably_are_refused():
    torch = pytest.importorskip("torch")
    needs_grad = torch.ones(4, requires_grad=True)
    with pytest.raises(TypeError, match=r"params: a Tensor that requires grad, which NumPy "
                                        r"cannot view in place: pass p.detach\(\)"):
        pywd.sgd(needs_grad, torch.ones(4), lr=0.1)
    pywd.sgd(needs_grad.detach(), torch.ones(4), lr=0.5)      # detach() shares the memory
    assert (needs_grad == 0.5).all()
    with pytest.raises(TypeError, match=r"params: expected float32, float64, bfloat16 or "
                                        r"float16, got int32"):
        pywd.sgd(torch.ones(4, dtype=torch.int32), torch.ones(4, dtype=torch.int32), lr=0.1)
    with pytest.raises(ValueError, match=r"params: must be C- or F-contiguous"):
        pywd.sgd(torch.ones(4, 4)[:, ::2], torch.ones(4, 2), lr=0.1)


def test_initialisers_fill_torch_parameters_in_place():
    """torch's initialisers write into Parameters under no_grad; so do
    pywd's, through the detached view (the same memory). Optimisers still refuse them and
    say what to pass."""
    torch = pytest.importorskip("torch")
    layer = torch.nn.Linear(128, 64)
    weight = layer.weight
    assert init.kaiming_normal_(weight, nonlinearity="relu", rng=0) is weight
    assert weight.requires_grad and layer.weight is weight
    expected = init.kaiming_normal_(np.empty((64, 128), np.float32), nonlinearity="relu", rng=0)
    assert weight.detach().numpy().tobytes() == expected.tobytes()
    init.zeros_(layer.bias)
    assert (layer.bias == 0).all()
    with pytest.raises(TypeError, match=r"pass p.detach\(\), which shares its memory"):
        optim.SGD(layer.parameters(), lr=0.1)
