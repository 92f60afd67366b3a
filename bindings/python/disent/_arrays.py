"""numpy <-> C buffers: explicit conversions, shape checks, raw pointers."""

import numpy as np

from . import errors
from ._lib import f32_p, i32_p

_INT32_MIN, _INT32_MAX = -(1 << 31), (1 << 31) - 1


def shape_error(msg):
    return errors.ShapeError(msg, errors.E_SHAPE, None)


def as_f32(x, name):
    """x as a C-contiguous float32 array: the same object (no copy) when it is
    one already, otherwise an explicit converted copy. Non-numeric dtypes are
    refused with TypeError."""
    a = x if isinstance(x, np.ndarray) else np.asarray(x)
    if a.dtype.kind not in "fiub":
        raise TypeError("%s: expected a numeric array (float32 preferred), got dtype %s" % (name, a.dtype))
    if a.dtype == np.float32 and a.flags.c_contiguous:
        return a
    return np.ascontiguousarray(a, dtype=np.float32)


def as_i32(x, name):
    """x as a C-contiguous int32 array; integer dtypes only (no silent rounding
    of floats), values must fit in int32."""
    a = x if isinstance(x, np.ndarray) else np.asarray(x)
    if a.size == 0 and a.dtype.kind == "f":  # np.asarray([]) is float64
        a = a.astype(np.int32)
    if a.dtype.kind not in "iub":
        raise TypeError("%s: expected integers, got dtype %s" % (name, a.dtype))
    if a.dtype.kind in "iu" and a.dtype.itemsize > 4 and a.size:
        lo, hi = int(a.min()), int(a.max())
        if lo < _INT32_MIN or hi > _INT32_MAX:
            raise OverflowError("%s: values must fit in int32 (got range %d..%d)" % (name, lo, hi))
    if a.dtype == np.int32 and a.flags.c_contiguous:
        return a
    return np.ascontiguousarray(a, dtype=np.int32)


def fptr(a):
    """float * into a float32 array (None -> NULL)."""
    return None if a is None else a.ctypes.data_as(f32_p)


def iptr(a):
    """int32_t * into an int32 array (None -> NULL)."""
    return None if a is None else a.ctypes.data_as(i32_p)


def batch(x, obs_shape, obs_size, name):
    """Check that x is a batch of observations: shape (n, *obs_shape) or
    (n, obs_size). Returns (float32 C-contiguous array, n)."""
    a = as_f32(x, name)
    obs_shape = tuple(obs_shape)
    if a.ndim >= 1 and a.shape[1:] in (obs_shape, (obs_size,)):
        if a.shape[0] == 0:
            raise shape_error("%s: empty batch (0 observations)" % name)
        return a, a.shape[0]
    want = "(n, %s)" % ", ".join(str(d) for d in obs_shape)
    if obs_shape != (obs_size,):
        want += " or (n, %d)" % obs_size
    hint = ""
    if a.shape in (obs_shape, (obs_size,)):
        hint = "; for one observation use x[None]"
    raise shape_error("%s: expected a batch of observations of shape %s, got shape %s%s"
                      % (name, want, a.shape, hint))


def groups(g, n, name="groups"):
    """Optional group ids: None, or n integers."""
    if g is None:
        return None
    a = as_i32(g, name)
    if a.shape != (n,):
        raise shape_error("%s: expected shape (%d,) (one id per observation), got %s" % (name, n, a.shape))
    return a
