"""The library's own .npy reader/writer and PNG writer, called through ctypes,
cross-checked against numpy's own .npy code and the PNG signature."""
import ctypes

import numpy as np
import pytest

import disent
from disent import _lib

C = _lib.C
size_t4 = ctypes.c_size_t * 4


def test_npy_write_then_numpy_reads_it_and_the_library_reads_numpys(tmp_path):
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4) / 7
    path = str(tmp_path / "a.npy").encode()
    shape = size_t4(2, 3, 4, 0)
    C.dsn_npy_write(path, x.ctypes.data_as(ctypes.c_void_p), shape, 3, 0)
    np.testing.assert_array_equal(np.load(tmp_path / "a.npy"), x)

    # numpy writes float64; the library converts it to float32 on read
    np.save(tmp_path / "b.npy", x.astype(np.float64) * 2)
    out = np.zeros(24, np.float32)
    got, ndim, isint = size_t4(), ctypes.c_int(), ctypes.c_int()
    C.dsn_npy_read(out.ctypes.data_as(ctypes.c_void_p), out.size, got, 4, ctypes.byref(ndim), ctypes.byref(isint),
                   str(tmp_path / "b.npy").encode(), 0)
    assert ndim.value == 3 and list(got)[:3] == [2, 3, 4] and isint.value == 0
    np.testing.assert_array_equal(out.reshape(2, 3, 4), x * 2)

    # too little room: refused, output untouched
    small = np.full(5, -1.0, np.float32)
    with pytest.raises(disent.InvalidArgumentError):
        C.dsn_npy_read(small.ctypes.data_as(ctypes.c_void_p), small.size, got, 4, None, None,
                       str(tmp_path / "b.npy").encode(), 0)
    assert (small == -1).all()
    (tmp_path / "bad.npy").write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(disent.FormatError):
        C.dsn_npy_read(None, 0, got, 4, None, None, str(tmp_path / "bad.npy").encode(), 0)


def test_png_writer(tmp_path):
    px = (np.arange(6 * 4 * 3) % 256).astype(np.uint8)
    path = tmp_path / "img.png"
    C.dsn_image_save_png(str(path).encode(), px.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8)), 6, 4, 3)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and b"IHDR" in data[:16] and data.endswith(b"IEND\xaeB`\x82")
    with pytest.raises(disent.InvalidArgumentError):
        C.dsn_image_save_png(str(path).encode(), px.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8)), 6, 4, 2)
