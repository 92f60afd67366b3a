"""Sessions and encodings: encode, decode, swap, copy_item, prepare, sample,
get/set, shape and dtype checks, no allocation after warm-up."""
import numpy as np
import pytest

import disent
from disent import _arrays
from conftest import OBS


def test_encode_decode_shapes(model, data):
    x, g = data
    e = model.encode(x[:8], g[:8])
    assert e.num_items == 8 and len(e) == 8 and e.num_groups == 2 and e.max_items == 8
    assert e["content"].shape == (2, 2) and e["style"].shape == (8, 3)
    assert e.shape("style") == (8, 3)
    assert set(e.parts) == {"content", "style"}
    y = model.decode(e)
    assert y.shape == (8, OBS) and y.dtype == np.float32
    assert np.all((y >= 0) & (y <= 1))  # Bernoulli probabilities
    np.testing.assert_array_equal(model.reconstruct(x[:8], g[:8]), y)
    # no groups: each item alone
    e2 = model.encode(x[:5])
    assert e2.num_groups == 5 and e2["content"].shape == (5, 2)
    assert "5 items" in repr(e2)


def test_fields(model, data):
    x, _ = data
    e = model.encode(x[:4])
    mean, logvar, value = e.get("style", "mean"), e.get("style", "logvar"), e.get("style")
    np.testing.assert_array_equal(mean, value)  # encode sets values to the means
    assert logvar.shape == mean.shape
    with pytest.raises(disent.InvalidArgumentError, match="no field"):
        e.get("style", "variance")
    with pytest.raises(disent.InvalidArgumentError, match="no part"):
        e.get("nope")
    out = np.empty((4, 3), np.float32)
    assert e.get("style", out=out) is out
    with pytest.raises(disent.ShapeError):
        e.get("style", out=np.empty((4, 2), np.float32))
    with pytest.raises(TypeError):
        e.get("style", out=np.empty((4, 3), np.float64))


def test_set(model, data):
    x, _ = data
    e = model.encode(x[:4])
    s = np.arange(12, dtype=np.float64).reshape(4, 3)  # float64: converted explicitly
    e["style"] = s
    np.testing.assert_array_equal(e["style"], s.astype(np.float32))
    e.set("style", np.ones(12, np.float32), field="mean")  # flat also accepted
    np.testing.assert_array_equal(e.get("style", "mean"), np.ones((4, 3), np.float32))
    with pytest.raises(disent.ShapeError, match=r"holds shape \(4, 3\)"):
        e["style"] = np.zeros((3, 3))
    with pytest.raises(disent.NumericError):
        e["style"] = np.full((4, 3), np.nan)
    with pytest.raises(TypeError, match="numeric"):
        e["style"] = np.array([["a"] * 3] * 4)
    with pytest.raises(disent.InvalidArgumentError):
        e.set("nope", np.zeros((4, 3)))


def test_decode_out(model, data):
    x, _ = data
    e = model.encode(x[:3])
    out = np.empty((3, OBS), np.float32)
    assert model.decode(e, out=out) is out
    with pytest.raises(disent.ShapeError):
        model.decode(e, out=np.empty((2, OBS), np.float32))
    with pytest.raises(TypeError):
        model.decode(e, out=np.empty((3, OBS), np.float64))
    with model.encoding(3) as empty, pytest.raises(disent.StateError, match="empty"):
        model.decode(empty)


def test_bad_inputs(model, data):
    x, g = data
    with pytest.raises(disent.ShapeError, match=r"\(n, 16\)"):
        model.encode(np.zeros((4, OBS + 1), np.float32))
    with pytest.raises(disent.ShapeError, match=r"x\[None\]"):
        model.encode(np.zeros(OBS, np.float32))
    with pytest.raises(disent.ShapeError, match="empty"):
        model.encode(np.zeros((0, OBS), np.float32))
    with pytest.raises(TypeError, match="numeric"):
        model.encode(np.zeros((2, OBS), dtype=object))
    with pytest.raises(TypeError, match="numeric"):
        model.encode(np.zeros((2, OBS), dtype=np.complex64))
    with pytest.raises(disent.ShapeError, match="one id per observation"):
        model.encode(x[:4], g[:3])
    with pytest.raises(TypeError, match="integers"):
        model.encode(x[:4], g[:4].astype(np.float64))
    with pytest.raises(OverflowError):
        model.encode(x[:2], np.array([0, 2 ** 40]))
    with pytest.raises(disent.NumericError, match=r"observation 0 .*is infinite"):
        model.encode(np.full((2, OBS), np.inf, np.float32))
    # other dtypes and layouts are converted: same result as float32 C order
    ref = model.encode(x[:4])["style"]
    np.testing.assert_array_equal(model.encode(x[:4].astype(np.float64))["style"], ref)
    np.testing.assert_array_equal(model.encode(np.asfortranarray(x[:4]))["style"], ref)
    np.testing.assert_array_equal(model.encode(x[:4].astype(np.uint8))["style"], ref)
    np.testing.assert_array_equal(model.encode(x[:4].tolist())["style"], ref)
    # groups as a list / int64 are fine
    model.encode(x[:4], [0, 0, 1, 1])
    model.encode(x[:4], np.array([5, 5, 9, 9], np.int64))


def test_zero_copy():
    a = np.zeros((3, 4), np.float32)
    assert _arrays.as_f32(a, "a") is a
    assert _arrays.as_f32(a.T, "a") is not a  # not C-contiguous: converted
    g = np.zeros(3, np.int32)
    assert _arrays.as_i32(g, "g") is g


def test_swap_and_copy_item(model, data):
    x, g = data
    a = model.encode(x[:4], [0, 0, 1, 1])
    b = model.encode(x[4:8], [0, 0, 1, 1])
    ca, cb, sa, sb = a["content"], b["content"], a["style"], b["style"]
    model.swap(a, b, "content")
    np.testing.assert_array_equal(a["content"], cb)
    np.testing.assert_array_equal(b["content"], ca)
    np.testing.assert_array_equal(a["style"], sa)
    a.swap(b, "style")
    np.testing.assert_array_equal(a["style"], sb)
    c = model.encode(x[:3])
    with pytest.raises(disent.ShapeError):
        a.swap(c, "style")
    with pytest.raises(disent.InvalidArgumentError):
        a.swap(b, "nope")
    # copy_item: item 3 of c's style into item 0 of a
    a.copy_item(0, c, 2, "style")
    np.testing.assert_array_equal(a["style"][0], c["style"][2])
    a.copy_item(1, c, 0, "content")  # group-scoped: a's group 0 row gets c's item-0 group row
    np.testing.assert_array_equal(a["content"][0], c["content"][0])
    with pytest.raises(disent.InvalidArgumentError, match="out of range"):
        a.copy_item(9, c, 0, "style")
    with pytest.raises(disent.InvalidArgumentError):
        a.copy_item(-1, c, 0, "style")
    from conftest import small_model
    with small_model() as other:
        o = other.encode(x[:4])
        with pytest.raises(disent.InvalidArgumentError, match="different models"):
            a.swap(o, "style")
        with pytest.raises(disent.InvalidArgumentError):
            a.copy_item(0, o, 0, "style")
        with pytest.raises(disent.InvalidArgumentError, match="another model"):
            model.decode(o)


def test_prepare_and_sample(model):
    e = model.encoding(6)
    e.prepare(6, [0, 0, 0, 1, 1, 1])
    assert e.num_items == 6 and e.num_groups == 2
    assert not e["style"].any() and not e["content"].any()
    e.sample("style", seed=5)
    s1 = e["style"]
    assert s1.any()
    e.sample("style", seed=5)
    np.testing.assert_array_equal(e["style"], s1)  # same seed, same draws
    model.sample(e, "style", seed=6)
    assert not np.array_equal(e["style"], s1)
    assert model.decode(e).shape == (6, OBS)
    with pytest.raises(disent.ShapeError):
        e.prepare(7)
    with pytest.raises(disent.ShapeError):
        e.prepare(0)
    with pytest.raises(disent.InvalidArgumentError):
        e.sample("nope")
    with model.encoding(2) as empty, pytest.raises(disent.StateError):
        model.sample(empty, "style")
    p = model.sample_prior(5, seed=3)
    assert p.num_items == 5 and p["content"].any() and p["style"].any()
    np.testing.assert_array_equal(model.sample_prior(5, seed=3)["style"], p["style"])


def test_sessions(model, data):
    x, g = data
    with model.session(4) as s:
        e = s.encode(x[:4], g[:4])
        y = s.decode(e)
        np.testing.assert_array_equal(y, model.decode(e))
        s.sample(e, "style", 1)
        with pytest.raises(disent.ShapeError, match="session holds 4"):
            s.encode(x[:5])
    e = model.encoding(2)
    with pytest.raises(disent.ShapeError, match="encoding holds 2"):
        model.encode(x[:3], out=e)
    with pytest.raises(disent.InvalidArgumentError):
        model.session(0)
    with pytest.raises(disent.InvalidArgumentError):
        model.encoding(0)
    # the internal session grows as needed
    assert model.encode(x[:90]).num_items == 90


def test_encode_reuse_does_not_allocate(model, data):
    x, g = data
    with model.session(8) as s, model.encoding(8) as e:
        out = np.empty((8, OBS), np.float32)
        for _ in range(2):  # warm-up
            s.encode(x[:8], g[:8], out=e)
            s.decode(e, out=out)
            s.sample(e, "style", 1)
        before = disent.allocation_count()
        for _ in range(5):
            s.encode(x[:8], g[:8], out=e)
            s.decode(e, out=out)
            s.sample(e, "style", 1)
            e.swap(e, "style")
        assert disent.allocation_count() == before


def test_threads(model, data):
    """The model's own session is shared safely; per-thread sessions run in
    parallel (the GIL is released during C calls). Same results either way."""
    import threading
    x, g = data
    ref = model.encode(x[:16], g[:16])["style"]
    results, errs = [], []

    def work(own):
        try:
            s = model.session(16) if own else None
            for _ in range(20):
                e = s.encode(x[:16], g[:16]) if own else model.encode(x[:16], g[:16])
                results.append(np.array_equal(e["style"], ref))
                e.close()
        except BaseException as ex:  # pragma: no cover
            errs.append(ex)

    ts = [threading.Thread(target=work, args=(i % 2 == 0,)) for i in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errs and len(results) == 80 and all(results)
