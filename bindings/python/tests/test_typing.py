"""The package as a typed, documented library: py.typed, type hints on every
public function and method, a docstring on each (with the shapes of the
arrays it takes or returns), context managers for every handle, and
__version__."""
import inspect
import os
import re
import subprocess
import sys
import typing

import numpy as np
import pytest

import disent
from disent import audio, evaluation, metrics, stream

PKG = os.path.dirname(disent.__file__)
HANDLES = [disent.Model, disent.Options, disent.Session, disent.Encoding, disent.Optimizer, disent.Dataset,
           disent.Stream, disent.Classifier]
MODULES = [disent.core, audio, evaluation, metrics, stream]
SHAPE = re.compile(r"shape|\((n|rows|frames|dim|num_items|k|classes|n_classes|\*obs_shape|[a-z_]+,\)?)\b|\(n,")


def public_callables():
    seen = set()
    for mod in MODULES:
        for name, obj in vars(mod).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != mod.__name__:
                continue
            if inspect.isfunction(obj) and obj not in seen:
                seen.add(obj)
                yield "%s.%s" % (mod.__name__, name), obj
            elif inspect.isclass(obj) and not issubclass(obj, (BaseException, tuple)):
                for mname, m in vars(obj).items():
                    if mname.startswith("_") and mname != "__init__":
                        continue
                    f = m.fget if isinstance(m, property) else getattr(m, "__func__", m)
                    if inspect.isfunction(f) and f not in seen:
                        seen.add(f)
                        yield "%s.%s.%s" % (mod.__name__, name, mname), f


def test_py_typed_is_shipped():
    assert os.path.isfile(os.path.join(PKG, "py.typed"))
    text = open(os.path.join(os.path.dirname(PKG), "pyproject.toml")).read()
    assert 'disent = ["py.typed"]' in text


def test_every_public_function_has_type_hints():
    missing = []
    n = 0
    for qual, f in public_callables():
        n += 1
        hints = typing.get_type_hints(f)  # resolves every annotation (no stale names)
        sig = inspect.signature(f)
        for p in sig.parameters.values():
            if p.name in ("self", "cls"):
                continue
            if p.name not in hints:
                missing.append("%s(%s)" % (qual, p.name))
        if "return" not in hints:
            missing.append("%s -> ?" % qual)
    assert n > 100
    assert not missing, "without type hints: %s" % ", ".join(missing)


def test_every_public_function_has_a_docstring_with_shapes():
    undocumented, shapeless = [], []
    for qual, f in public_callables():
        doc = inspect.getdoc(f)
        if qual.endswith("__init__"):
            continue  # the class docstring documents construction
        if not doc:
            undocumented.append(qual)
            continue
        hints = typing.get_type_hints(f)
        if any("ndarray" in str(t) for t in hints.values()) and not SHAPE.search(doc):
            shapeless.append(qual)
    assert not undocumented, "no docstring: %s" % ", ".join(undocumented)
    assert not shapeless, "arrays without shapes in the docstring: %s" % ", ".join(shapeless)
    for cls in HANDLES:
        assert inspect.getdoc(cls), cls


def test_every_handle_is_a_context_manager(tmp_path):
    made = []
    with disent.Options(a=1) as o:
        made.append(o)
    with disent.Model("ml-vae", input_dim=4, hidden=[4], style_dim=2, content_dim=2) as m:
        made.append(m)
        with m.session(4) as s, m.encoding(4) as e, m.optimizer() as opt:
            made += [s, e, opt]
            assert not s.closed and not e.closed and not opt.closed
        with disent.Dataset(np.zeros((4, 4), np.float32)) as d:
            made.append(d)
    with disent.Model("ts-dsae", frames=6, n_mels=8, v_dim=2, z_dim=2, hidden=[5], local_encoder="lstm",
                      local_context=0, z_norm="none") as sm:
        with disent.Stream(sm, 16000, 64, target=np.zeros(2, np.float32)) as st:
            made.append(st)
    with disent.Classifier("centroid") as c:
        made.append(c)
    assert {type(h) for h in made} == set(HANDLES)
    for h in made:
        assert h.closed, type(h).__name__
    with pytest.raises(disent.ClosedError):
        made[1].encode(np.zeros((1, 4), np.float32))


def test_version():
    v = disent.__version__
    assert re.fullmatch(r"\d+\.\d+\.\d+", v)
    text = open(os.path.join(os.path.dirname(PKG), "pyproject.toml")).read()
    assert 'version = "%s"' % v in text  # the package metadata's version
    assert disent.version().split(".")[:2] == v.split(".")[:2]  # and the library it binds
    assert disent.version_number() // 100 == int(v.split(".")[0]) * 100 + int(v.split(".")[1])


USER_CODE = """
import numpy as np
import disent
from disent import audio

def train(path: str) -> float:
    with disent.Model("ml-vae", input_dim=4, hidden=[4]) as m:
        e: disent.Encoding = m.encode(np.zeros((2, 4), np.float32))
        x: np.ndarray = m.decode(e)
        y, rate = audio.read(path, mono=False)
        f = audio.features(y[:, 0], rate, model=None, n_mels=8)
        return float(x.sum() + f.sum())
"""


def test_mypy_checks_the_package_and_its_users(tmp_path):
    """mypy (Debian python3-mypy, scripts/setup-deps.sh) finds no error in the
    package, accepts correct user code and flags a wrong argument type."""
    pkg_root = os.path.dirname(PKG)
    good = tmp_path / "good.py"
    good.write_text(USER_CODE)
    bad = tmp_path / "bad.py"
    bad.write_text(USER_CODE + "\ntrain(3.5)\ndisent.Model.load(path=1.5)\n")
    env = dict(os.environ, MYPYPATH=pkg_root)
    base = [sys.executable, "-m", "mypy", "--no-incremental", "--ignore-missing-imports", "--cache-dir",
            str(tmp_path / "cache")]
    # one run (mypy is the slow part): the package and the good script clean, the two bad calls flagged
    r = subprocess.run(base + [os.path.join(pkg_root, "disent"), str(good), str(bad)], env=env, capture_output=True,
                       text=True)
    assert r.returncode == 1, r.stdout + r.stderr
    errors = [line for line in r.stdout.splitlines() if ": error:" in line]
    assert len(errors) == 2 and all("bad.py:" in e for e in errors), r.stdout
    assert 'to "train" has incompatible type "float"' in r.stdout, r.stdout
    assert 'to "load" of "Model" has incompatible type "float"' in r.stdout, r.stdout
