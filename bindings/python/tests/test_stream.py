"""Timbre banks and streams from Python (docs/plugin.md)."""
import numpy as np
import pytest

import disent


def small_model():
    # z_norm and local_context need the whole clip: the streamable configuration turns them off
    return disent.Model("ts-dsae", frames=16, n_mels=16, v_dim=4, z_dim=3, hidden=[12], local_encoder="lstm",
                        encoder_lstm=8, dec_hidden=[10], z_norm="none", local_context=0)


AUDIO = {"n_fft": 512, "hop_length": 128, "n_mels": 16}


def test_bank_roundtrip(tmp_path):
    m = small_model()
    disent.bank_add(m, "a", np.arange(4, dtype=np.float32), audio=AUDIO)
    disent.bank_add(m, "b", -np.ones(4, np.float32))
    path = str(tmp_path / "bank.dsn")
    m.save(path)
    m2 = disent.Model.load(path)
    assert disent.bank_names(m2) == ["a", "b"]
    np.testing.assert_array_equal(disent.bank_get(m2, "a"), np.arange(4, dtype=np.float32))
    np.testing.assert_array_equal(disent.bank_get(m2, 1), -np.ones(4, np.float32))
    assert disent.bank_audio(m2)["n_fft"] == "512"
    with pytest.raises(disent.InvalidArgumentError, match="no timbre"):
        disent.bank_get(m2, "tuba")
    disent.bank_remove(m2, "a")
    assert disent.bank_names(m2) == ["b"]
    with pytest.raises(disent.ShapeError):
        disent.bank_add(m2, "c", np.zeros(3, np.float32))


def test_stream_render_and_bypass():
    m = small_model()
    disent.bank_add(m, "a", np.ones(4, np.float32), audio=AUDIO)
    x = (0.3 * np.sin(2 * np.pi * 440 * np.arange(48000) / 48000)).astype(np.float32)
    with disent.Stream(m, 48000, 256, timbre="a") as s:
        assert 0 < s.latency < 0.04 * 48000
        n0 = disent.allocation_count()
        y = s.render(x)
        assert disent.allocation_count() == n0  # render's numpy arrays are Python's, not the library's
        assert y.shape == x.shape and np.isfinite(y).all()
        assert s.counter("frames") > 100 and s.counter("xruns") == 0
        s.reset()
        s.set_mix(0.0)  # bypass: the input, latency removed
        np.testing.assert_array_equal(s.render(x), x)
        with pytest.raises(disent.ShapeError):
            s.process(np.zeros(300, np.float32))
        s.set_target(np.full(4, 0.5, np.float32))  # a static latent given directly
        s.set_mix(1.0)
        assert np.isfinite(s.render(x[:4800])).all()
        with pytest.raises(disent.ShapeError):
            s.set_target(np.zeros(3, np.float32))
        with pytest.raises(disent.InvalidArgumentError):
            s.set_timbre(0, 5, 0.5)
    with pytest.raises(disent.UnsupportedError, match="local_encoder"):
        disent.Stream(disent.Model("ts-dsae", frames=16, n_mels=16, local_encoder="bilstm", z_norm="none",
                                   local_context=0), 48000, 256,
                      target=np.zeros(16, np.float32), options=AUDIO)
