"""disent.Options over dsn_options_*."""
import pytest

import disent


def test_set_get_count_keys():
    with disent.Options(a=1, b=2.5, flag=True, hidden=[500, 250], name="x") as o:
        assert len(o) == 5
        assert o.keys() == ["a", "b", "flag", "hidden", "name"]
        assert o["a"] == "1" and o["b"] == "2.5" and o["flag"] == "1" and o["hidden"] == "500:250"
        o["a"] = 3
        assert o.get("a") == "3" and len(o) == 5
        assert o.get("zzz") is None and o.get("zzz", "d") == "d"
        assert "a" in o and "zzz" not in o
        with pytest.raises(KeyError):
            o["zzz"]
        assert dict(o.items())["name"] == "x"
        assert list(o) == o.keys()
        assert "hidden" in repr(o)


def test_parse_and_load(tmp_path):
    o = disent.Options()
    o.parse("style_dim=10, content_dim = 4; beta=2 # comment\nhidden=8:8")
    assert o.to_dict() == {"style_dim": "10", "content_dim": "4", "beta": "2", "hidden": "8:8"}
    p = tmp_path / "opts.txt"
    p.write_text("seed = 9\n# c\nlr=1e-3\n")
    o.load(p)
    assert o["seed"] == "9" and o["lr"] == "1e-3"
    with pytest.raises(disent.FileIOError):
        o.load(tmp_path / "missing.txt")
    with pytest.raises(disent.OptionError):
        o.parse("no equals sign here")
    o.close()


def test_bad_keys_and_values():
    o = disent.Options()
    with pytest.raises(disent.OptionError, match="bad key"):
        o.set("Bad Key", 1)
    with pytest.raises(disent.OptionError):
        o.set("k", "x" * 2000)
    with pytest.raises(TypeError):
        o.set("k", object())
    o.close()
    o.close()  # idempotent


def test_of():
    assert disent.Options.of(None) is None
    o = disent.Options(a=1)
    assert disent.Options.of(o) is o
    assert disent.Options.of("a=1, b=2").to_dict() == {"a": "1", "b": "2"}
    assert disent.Options.of({"x.y": 1}, z=2).to_dict() == {"x.y": "1", "z": "2"}


def test_closed_options():
    o = disent.Options()
    o.close()
    assert o.closed
    with pytest.raises(disent.ClosedError):
        o.set("a", 1)
    with pytest.raises(disent.ClosedError):
        len(o)
    assert repr(o) == "Options(closed)"


def test_option_info_lists_keys_with_types_defaults_and_docs():
    keys = {o["key"]: o for o in disent.option_info("ml-vae")}
    assert "content_dim" in keys and "style_dim" in keys
    for o in keys.values():
        assert o["type"] in ("int", "int64", "uint64", "float", "bool", "enum", "string", "ints")
        assert o["doc"], o["key"]
        if o["type"] == "enum":
            assert o["choices"] and o["default"] in o["choices"]
    assert keys["content_dim"]["type"] == "int" and keys["content_dim"]["min"] <= keys["content_dim"]["max"]
    assert any(o["key"] == "lr" for o in disent.option_info("adam"))
    with pytest.raises(disent.InvalidArgumentError):
        disent.option_info("no-such-family")
