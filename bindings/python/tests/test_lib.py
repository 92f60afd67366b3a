"""Library loading, version check, the function table, errors."""
import ctypes
import os
import re
import subprocess
import sys

import pytest

import disent
from disent import _lib, errors

PKG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HEADER = os.path.join(PKG_DIR, "..", "..", "include", "disent.h")


def test_version_matches_bindings():
    n = disent.version_number()
    assert n // 10000 == _lib.VERSION_MAJOR
    assert n // 100 % 100 == _lib.VERSION_MINOR
    assert disent.version() == "%d.%d.%d" % (n // 10000, n // 100 % 100, n % 100)


@pytest.mark.skipif(not os.path.exists(HEADER), reason="not in the source tree")
def test_every_header_function_is_bound():
    """Every DSN_API function of include/disent.h has a line in FUNCTIONS."""
    text = open(HEADER).read()
    declared = set(re.findall(r"DSN_API\b[^;(]*?\b(dsn_\w+)\s*\(", text))
    assert declared, "no declarations parsed"
    unbound = sorted(declared - set(_lib.FUNCTIONS))
    assert not unbound, "declared in disent.h but not bound in disent/_lib.py FUNCTIONS: %s" % unbound
    unknown = sorted(set(_lib.FUNCTIONS) - declared)
    assert not unknown, "bound in disent/_lib.py FUNCTIONS but not declared in disent.h: %s" % unknown


def test_every_bound_function_has_types():
    for name, (restype, argtypes) in _lib.FUNCTIONS.items():
        f = getattr(_lib.C, name)
        f = getattr(f, "__wrapped__", f)  # conftest counts calls through a wrapper
        if name in _lib.MISSING:
            continue
        assert f.argtypes is not None and list(f.argtypes) == list(argtypes), name
        if restype == _lib.STATUS:
            assert f.restype is ctypes.c_int and f.errcheck is _lib._check_status, name
        else:
            assert f.restype is restype, name
    if _lib.MISSING:  # the header is ahead of the library build in use
        pytest.skip("library lacks %s" % _lib.MISSING)


def test_missing_symbol_becomes_stub():
    table = {"dsn_no_such_function_xyz": (ctypes.c_int, ())}
    _lib.bind(table, _lib.LIB, _lib.LIBRARY_PATH)
    try:
        with pytest.raises(disent.UnsupportedError, match="not exported"):
            _lib.C.dsn_no_such_function_xyz()
    finally:
        _lib.MISSING.remove("dsn_no_such_function_xyz")
        del _lib.C.dsn_no_such_function_xyz


def test_status_strings_and_error_classes():
    assert disent.status_string(0)
    assert disent.status_string(99) == "unknown status"
    seen = set()
    for code in range(1, errors.E_INTERNAL + 1):
        cls = errors.ERROR_CLASSES[code]
        assert issubclass(cls, disent.DisentError)
        assert cls.status == code
        e = errors.error_for(code, "msg", "dsn_x")
        assert type(e) is cls and e.status == code and e.function == "dsn_x" and str(e) == "msg"
        seen.add(cls)
    assert len(seen) == errors.E_INTERNAL
    assert type(errors.error_for(42, "m")) is disent.DisentError
    assert issubclass(disent.ShapeError, ValueError)
    assert issubclass(disent.FileIOError, OSError)
    assert issubclass(disent.ClosedError, disent.StateError)


def test_error_carries_last_error_and_clear():
    with pytest.raises(disent.InvalidArgumentError) as ei:
        disent.Model("no-such-family")
    e = ei.value
    assert e.status == errors.E_INVALID
    assert e.function == "dsn_model_create"
    assert "no-such-family" in e.message and "ml-vae" in e.message
    assert disent.last_error() == e.message
    disent.clear_error()
    assert disent.last_error() == ""


def _run(code, **env):
    e = dict(os.environ)
    e.update(env)
    return subprocess.run([sys.executable, "-c", code], cwd=PKG_DIR, env=e, capture_output=True, text=True)


def test_bad_library_path_is_reported():
    r = _run("import disent", DISENT_LIBRARY="/nonexistent/libdisent.so")
    assert r.returncode != 0
    assert "LibraryNotFoundError" in r.stderr and "/nonexistent/libdisent.so" in r.stderr


def test_lookup_lists_what_it_tried(monkeypatch):
    monkeypatch.setattr(_lib, "_candidates", lambda: [("package folder", "/nope/libdisent.so.0"),
                                                       ("system loader", "libdisent-nope.so.0")])
    monkeypatch.delenv("DISENT_LIBRARY", raising=False)
    with pytest.raises(disent.LibraryNotFoundError) as ei:
        _lib._load()
    msg = str(ei.value)
    assert "/nope/libdisent.so.0" in msg and "libdisent-nope.so.0" in msg and "DISENT_LIBRARY" in msg


def test_lookup_order():
    c = _lib._candidates()
    wheres = [w for w, _ in c]
    assert wheres[0] == "package folder"
    assert wheres[-1] == "system loader"
    if "build folder" in wheres:
        assert wheres.index("build folder") < wheres.index("system loader")


def test_version_mismatch_is_refused():
    class F:
        def __init__(self, n):
            n_ = n

            class Fn:
                restype = argtypes = None

                def __call__(self):
                    return n_
            self.dsn_version_number = Fn()

    _lib._check_version(F(_lib.VERSION_MAJOR * 10000 + _lib.VERSION_MINOR * 100 + 7), "x")
    with pytest.raises(disent.VersionMismatchError, match="written for"):
        _lib._check_version(F((_lib.VERSION_MAJOR + 1) * 10000), "x")
    with pytest.raises(disent.VersionMismatchError):
        _lib._check_version(F(_lib.VERSION_MAJOR * 10000 + (_lib.VERSION_MINOR + 1) * 100), "x")


def test_allocation_count_grows():
    a = disent.allocation_count()
    with disent.Options(a=1):
        pass
    assert disent.allocation_count() > a


def test_threads_roundtrip():
    n = disent.get_threads()
    assert n >= 1
    disent.set_threads(2)
    assert disent.get_threads() == 2
    with pytest.raises(disent.InvalidArgumentError, match="threads"):
        disent.set_threads(-1)
    assert disent.get_threads() == 2
    disent.set_threads(n)
    assert disent.get_threads() == n


def test_set_allocator_in_fresh_process():
    """A Python allocator sees every allocation (run in a child: it must be
    installed before any object exists)."""
    code = r"""
import ctypes, disent
libc = ctypes.CDLL(None)
libc.aligned_alloc.restype = ctypes.c_void_p
libc.aligned_alloc.argtypes = [ctypes.c_size_t, ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
live = set(); calls = [0]
def alloc(n):
    calls[0] += 1
    p = libc.aligned_alloc(16, (n + 15) // 16 * 16 or 16)
    live.add(p); return p
def free(p):
    live.discard(p); libc.free(p)
disent.set_allocator(alloc, free)
m = disent.Model("ml-vae", input_dim=8, hidden=[4])
m.close()
disent.set_allocator()
print(calls[0], len(live))
try:
    disent.set_allocator(alloc, None)
except disent.InvalidArgumentError:
    print("ok")
"""
    r = _run(code)
    assert r.returncode == 0, r.stderr
    calls, live, ok = r.stdout.split()
    assert int(calls) > 0 and int(live) == 0 and ok == "ok"


def test_set_allocator_in_process_checks():
    """Restoring the default allocator is harmless while objects live; a
    half-set allocator is refused by the library and by the wrapper."""
    disent.set_allocator()  # dsn_set_allocator(NULL): malloc/free again
    half = _lib.dsn_allocator(_lib.ALLOC_FN(lambda ctx, n: None), _lib.FREE_FN(), None)
    with pytest.raises(disent.InvalidArgumentError, match="both"):
        _lib.C.dsn_set_allocator(ctypes.byref(half))
    with pytest.raises(disent.InvalidArgumentError):
        disent.set_allocator(free=lambda p: None)
    with disent.Options(a=1):
        pass


def test_blas_coretype_hint():
    h = disent.blas_coretype_hint()
    assert h in (None, "SkylakeX", "Haswell")
    assert disent.blas_coretype_hint() == h  # a property of the CPU and the environment
