"""Audio for hosts: read, write, features, mel_to_audio."""
import numpy as np
import pytest

import disent
from disent import audio

SR = 16000


def tone(seconds=0.25, f=440.0):
    t = np.arange(int(seconds * SR)) / SR
    return (0.5 * np.sin(2 * np.pi * f * t)).astype(np.float32)


def test_write_read_roundtrip(tmp_path):
    x = tone()
    for name, fmt, tol in (("a.wav", None, 1e-4), ("b.wav", "wav_float", 1e-7), ("c.flac", None, 1e-4)):
        p = tmp_path / name
        if fmt:
            audio.write(p, x, SR, format=fmt)
        else:
            audio.write(p, x, SR)
        y, rate = audio.read(p)
        assert rate == SR and y.dtype == np.float32 and y.shape == x.shape
        assert np.max(np.abs(y - x)) < tol
    y, rate = audio.read(tmp_path / "a.wav", sample_rate=8000)
    assert rate == 8000 and abs(y.size - x.size // 2) <= 2


def test_read_write_errors(tmp_path):
    with pytest.raises(disent.FileIOError):
        audio.read(tmp_path / "missing.wav")
    (tmp_path / "bad.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunkjunk")
    with pytest.raises(disent.DisentError, match="bad.wav"):
        audio.read(tmp_path / "bad.wav")
    with pytest.raises(disent.NumericError):
        audio.write(tmp_path / "n.wav", np.array([0, np.nan], np.float32), SR)
    with pytest.raises(disent.OptionError):
        audio.write(tmp_path / "o.wav", tone(), SR, format="mp3")


def test_features_and_inversion():
    x = tone(0.5)
    F = audio.features(x, SR, n_mels=32, hop_length=256)
    assert F.shape == (1 + x.size // 256, 32)
    assert np.isfinite(F).all()
    # the same bag as a dataset is accepted (dataset-only keys ignored)
    G = audio.features(x, SR, {"n_mels": 32, "hop_length": 256, "frames": 8, "cache": ""})
    np.testing.assert_array_equal(F, G)
    y = audio.mel_to_audio(F, n_mels=32, hop_length=256, gl_iter=4)
    assert y.shape == ((F.shape[0] - 1) * 256,) and np.isfinite(y).all()
    # the set-up-once inverter gives the same samples, without allocating per call
    with audio.MelInverter(F.shape[0], 32, hop_length=256, gl_iter=4) as inv:
        before = disent.allocation_count()
        yi = inv(F)
        assert disent.allocation_count() == before
        np.testing.assert_array_equal(yi, y)
        with pytest.raises(disent.ShapeError):
            inv(np.zeros((F.shape[0] + 1, 32), np.float32))
    with pytest.raises(disent.ShapeError):
        audio.features(np.zeros(0, np.float32), SR)
    with pytest.raises(disent.OptionError):
        audio.features(x, SR, bogus=1)
    with pytest.raises(disent.ShapeError, match="frames, n_mels"):
        audio.mel_to_audio(F.ravel())
    with pytest.raises(disent.NumericError):
        audio.mel_to_audio(np.full((4, 32), np.nan, np.float32), n_mels=32)
