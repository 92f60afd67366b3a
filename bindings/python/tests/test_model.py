"""Model: create, describe, save/load, damaged files, closed handles."""
import numpy as np
import pytest

import disent
from conftest import OBS, small_model


def test_describe(model):
    assert model.family == "ml-vae"
    assert model.obs_size == OBS and model.obs_shape == (OBS,)
    assert model.num_params > 0
    assert model.parts == (disent.Part("content", 2, disent.Scope.GROUP), disent.Part("style", 3, disent.Scope.ITEM))
    assert model.part_names == ("content", "style")
    opts = model.options
    assert opts["input_dim"] == str(OBS) and opts["hidden"] == "16" and opts["seed"] == "7"
    assert "ml-vae" in repr(model)


def test_create_errors():
    with pytest.raises(disent.InvalidArgumentError, match="unknown model family"):
        disent.Model("nope")
    with pytest.raises(disent.OptionError, match="no_such_key"):
        disent.Model("ml-vae", no_such_key=1)
    with pytest.raises(disent.OptionError, match="style_dim"):
        disent.Model("ml-vae", style_dim=-3)
    with pytest.raises(disent.OptionError):
        disent.Model("ml-vae", activation="bogus")
    # options as a dict and as text
    with disent.Model("ml-vae", {"input_dim": 8, "hidden": [4]}) as m:
        assert m.obs_size == 8
    with disent.Model("ml-vae", "input_dim=8, hidden=4:4") as m:
        assert m.options["hidden"] == "4:4"


def test_same_seed_same_model(rng):
    x = rng.random((5, OBS), dtype=np.float32)
    with small_model() as a, small_model() as b, small_model(seed=8) as c:
        ea, eb, ec = a.encode(x), b.encode(x), c.encode(x)
        assert np.array_equal(ea["style"], eb["style"])
        assert not np.array_equal(ea["style"], ec["style"])


def test_save_load_roundtrip(model, tmp_path, rng):
    x = rng.random((6, OBS), dtype=np.float32)
    p = tmp_path / "m.dsn"
    model.save(p)
    with disent.Model.load(p) as m2:
        assert m2.family == "ml-vae" and m2.num_params == model.num_params
        assert m2.options == model.options
        e1, e2 = model.encode(x), m2.encode(x)
        for part in model.part_names:
            np.testing.assert_array_equal(e1[part], e2[part])
        # an optimizer does not belong to this model
        with m2.optimizer() as opt, pytest.raises(disent.InvalidArgumentError):
            model.save(p, opt)
    # str paths and bytes paths work too
    model.save(str(tmp_path / "m2.dsn"))
    disent.Model.load(str(tmp_path / "m2.dsn").encode()).close()


def test_damaged_files(model, tmp_path):
    p = tmp_path / "m.dsn"
    model.save(p)
    good = p.read_bytes()
    with pytest.raises(disent.FileIOError):
        disent.Model.load(tmp_path / "missing.dsn")
    bad = tmp_path / "bad.dsn"
    for damaged in (good[: len(good) // 2], good[:10], b"", b"not a model file at all" * 10,
                    good[:100] + bytes([good[100] ^ 0xFF]) + good[101:]):
        bad.write_bytes(damaged)
        with pytest.raises((disent.FormatError, disent.FileIOError)) as ei:
            disent.Model.load(bad)
        assert ei.value.function == "dsn_model_load" and ei.value.message
    bad.write_bytes(good[:-1] + bytes([good[-1] ^ 1]))
    with pytest.raises(disent.FormatError):
        disent.Model.load(bad)
    # saving into a folder that does not exist
    with pytest.raises(disent.FileIOError):
        model.save(tmp_path / "no" / "such" / "dir" / "m.dsn")


def test_closed_model_and_dependents(rng):
    m = small_model()
    enc = m.encoding(4)
    sess = m.session(4)
    opt = m.optimizer()
    m.close()
    assert m.closed and enc.closed and sess.closed and opt.closed
    for f in (lambda: m.family, lambda: m.encode(np.zeros((1, OBS), np.float32)), lambda: m.save("x"),
              lambda: enc.num_items, lambda: opt.steps, lambda: sess.encode(np.zeros((1, OBS)))):
        with pytest.raises(disent.ClosedError, match="closed"):
            f()
    m.close()
    assert repr(m) == "Model(closed)" and repr(enc) == "Encoding(closed)"


def test_context_manager_and_finaliser():
    with small_model() as m:
        e = m.encoding(2)
    assert m.closed and e.closed
    m = small_model()
    e = m.encoding(2)
    del m  # the encoding keeps the model alive
    assert not e.model.closed
    e.model.encode(np.zeros((1, OBS), np.float32), out=e)
    del e  # finalisers free both without error


def test_closed_model_cannot_enter():
    m = small_model()
    m.close()
    with pytest.raises(disent.ClosedError):
        with m:
            pass


def test_cycles_and_shutdown_leave_no_error():
    """Objects in reference cycles, and objects still alive at interpreter
    exit, are freed by the finalisers without errors or crashes."""
    import gc
    import os
    import subprocess
    import sys
    m = small_model()
    e = m.encoding(2)
    o = m.optimizer()
    m.cycle = (m, e, o)  # model -> encoding -> model
    del m, e, o
    gc.collect()
    code = ("import numpy as np, disent\n"
            "m = disent.Model('ml-vae', input_dim=8, hidden=[4])\n"
            "e = m.encode(np.zeros((2, 8), np.float32)); o = m.optimizer(); s = m.session(3)\n"
            "d = disent.Dataset(np.zeros((4, 8))); opts = disent.Options(a=1)\n"
            "m.loop = m\n")
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    r = subprocess.run([sys.executable, "-c", code], cwd=here, capture_output=True, text=True)
    assert r.returncode == 0 and r.stderr == "", r.stderr
