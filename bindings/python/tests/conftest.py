"""Shared fixtures. The package is imported from this source tree (so the
tests run in place, without pip install); the library comes from
$DISENT_LIBRARY or the lookup order of disent._lib."""
import os
import sys

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import disent  # noqa: E402

OBS = 16


def small_model(**kw):
    opts = dict(input_dim=OBS, hidden=[16], style_dim=3, content_dim=2, seed=7)
    opts.update(kw)
    return disent.Model("ml-vae", **opts)


@pytest.fixture
def model():
    with small_model() as m:
        yield m


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def grouped_data(rng, n=96, group=4, d=OBS):
    """Binary observations in groups: a group pattern plus per-item noise."""
    groups = np.arange(n, dtype=np.int32) // group
    base = rng.random((n // group + 1, d)) > 0.5
    flip = rng.random((n, d)) < 0.1
    x = (base[groups] ^ flip).astype(np.float32)
    return x, groups


@pytest.fixture
def data(rng):
    return grouped_data(rng)


def tool(name):
    """Path of a libdisent tool built next to the library in use, or None."""
    lib_dir = os.path.dirname(disent.LIBRARY_PATH) if os.sep in disent.LIBRARY_PATH else None
    if lib_dir:
        p = os.path.join(lib_dir, "tools", name)
        if os.access(p, os.X_OK):
            return p
    return None


# ---- every bound C function must be called by the suite ----------------------
# Each entry of the FUNCTIONS table is wrapped to record that it was called;
# when the whole suite runs, the session fails if one never was.
from disent import _lib  # noqa: E402

CALLED = set()


def _counting(name, f):
    def wrapper(*args):
        CALLED.add(name)
        return f(*args)
    wrapper.__wrapped__ = f
    wrapper.__name__ = name
    return wrapper


for _name in _lib.FUNCTIONS:
    setattr(_lib.C, _name, _counting(_name, getattr(_lib.C, _name)))


def pytest_sessionfinish(session, exitstatus):
    cfg = session.config
    files = {os.path.basename(str(item.fspath)) for item in session.items}
    everything = {f for f in os.listdir(HERE) if f.startswith("test_") and f.endswith(".py")}
    if cfg.getoption("keyword") or cfg.getoption("markexpr") or files != everything or exitstatus != 0:
        return  # a partial run: nothing to conclude
    uncalled = sorted(set(_lib.FUNCTIONS) - CALLED - set(_lib.MISSING))
    if uncalled:
        tr = cfg.pluginmanager.get_plugin("terminalreporter")
        if tr is not None:
            tr.write_line("C functions bound but never called by the tests: %s" % ", ".join(uncalled), red=True)
        session.exitstatus = 1
