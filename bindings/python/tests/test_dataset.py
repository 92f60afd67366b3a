"""Datasets: from arrays, npy, IDX, MNIST folder, audio; split, select, get."""
import os
import struct
import subprocess
import wave

import numpy as np
import pytest

import disent
from conftest import tool


def test_from_arrays(rng):
    x = rng.random((10, 4), dtype=np.float32)
    lab = np.arange(10) % 3
    with disent.Dataset(x, labels=lab) as d:
        assert len(d) == 10 and d.obs_size == 4 and d.obs_shape == (4,) and d.num_groups == 3
        xi, li = d[3]
        np.testing.assert_array_equal(xi, x[3])
        assert li == 0 and d.label(4) == 1
        xl, ll = d[-1]
        np.testing.assert_array_equal(xl, x[-1])
        xs, ls = d[2:5]
        np.testing.assert_array_equal(xs, x[2:5])
        np.testing.assert_array_equal(ls, lab[2:5])
        allx, alll = d.arrays()
        np.testing.assert_array_equal(allx, x)
        assert sum(1 for _ in d) == 10
        with pytest.raises(IndexError):
            d[10]
        out = np.empty(4, np.float32)
        assert d.get(0, out=out)[0] is out
        with pytest.raises(disent.ShapeError):
            d.get(0, out=np.empty(3, np.float32))
        assert "10 items" in repr(d)
    d = disent.Dataset.from_arrays(x.astype(np.float64))  # converted, no labels
    assert d[0][1] is None and d.num_groups == 0
    assert d.label(0) is None


def test_from_arrays_multi_dim_and_mask(rng):
    x = rng.random((6, 5, 3), dtype=np.float32)  # sequences [T=5, D=3]
    mask = np.ones((6, 5), np.float32)
    mask[:, 4] = 0
    d = disent.Dataset(x, mask=mask)
    assert d.obs_shape == (5, 3) and d.obs_size == 15
    np.testing.assert_array_equal(d[1][0], x[1])
    with pytest.raises(disent.ShapeError, match="mask"):
        disent.Dataset(x, mask=np.ones((6, 4)))
    d4 = disent.Dataset(rng.random((2, 2, 3, 4)))
    assert d4.obs_shape == (2, 3, 4)


def test_from_arrays_errors(rng):
    with pytest.raises(disent.ShapeError, match="1 to 3 dims"):
        disent.Dataset(np.zeros(5))
    with pytest.raises(disent.ShapeError, match="1 to 3 dims"):
        disent.Dataset(np.zeros((2, 2, 2, 2, 2)))
    with pytest.raises(disent.ShapeError, match="no observations"):
        disent.Dataset(np.zeros((0, 3)))
    with pytest.raises(disent.ShapeError, match="labels"):
        disent.Dataset(np.zeros((4, 3)), labels=[1, 2])
    with pytest.raises(TypeError):
        disent.Dataset(np.zeros((4, 3)), labels=np.zeros(4))
    with pytest.raises(TypeError):
        disent.Dataset(np.array([["a", "b"]]))
    with pytest.raises(disent.NumericError):
        disent.Dataset(np.full((2, 3), np.nan))
    with pytest.raises(disent.DisentError):
        disent.Dataset(np.zeros((2, 3)), labels=[-5, 1])


def test_split_and_select(rng):
    x = rng.random((40, 3), dtype=np.float32)
    lab = np.arange(40) % 4
    d = disent.Dataset(x, lab)
    tr, va = d.split(0.25, seed=1)
    assert len(tr) + len(va) == 40 and len(va) == 10
    tr2, va2 = d.split(0.25, seed=1, stratified=True)
    _, lv = va2.arrays()
    assert sorted(np.bincount(lv).tolist()) == [2, 2, 3, 3] or len(set(np.bincount(lv))) <= 2
    with pytest.raises(disent.DisentError):
        d.split(1.5)
    inside, rest = d.select_labels([0, 1])
    assert len(inside) == 20 and len(rest) == 20
    assert set(inside.arrays()[1]) == {0, 1} and set(rest.arrays()[1]) == {2, 3}
    one, _ = d.select_labels(3)
    assert len(one) == 10
    for h in (tr, va, tr2, va2, inside, rest, one, d):
        h.close()
    with pytest.raises(disent.ClosedError):
        len(d)


def test_from_npy(tmp_path, rng):
    x = rng.random((7, 2, 3)).astype(np.float32)
    lab = np.arange(7, dtype=np.int64)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", lab)
    d = disent.Dataset.from_npy(tmp_path / "x.npy", tmp_path / "y.npy")
    assert len(d) == 7 and d.obs_shape == (2, 3)
    np.testing.assert_array_equal(d.arrays()[0], x)
    np.testing.assert_array_equal(d.arrays()[1], lab)
    np.save(tmp_path / "u8.npy", (x * 255).astype(np.uint8))
    assert len(disent.Dataset.from_npy(str(tmp_path / "u8.npy"))) == 7
    with pytest.raises(disent.FileIOError):
        disent.Dataset.from_npy(tmp_path / "missing.npy")
    raw = (tmp_path / "x.npy").read_bytes()
    (tmp_path / "t.npy").write_bytes(raw[:-20])
    with pytest.raises(disent.FormatError):
        disent.Dataset.from_npy(tmp_path / "t.npy")


def _write_idx(path, arr, code):
    with open(path, "wb") as f:
        f.write(struct.pack(">BBBB", 0, 0, code, arr.ndim))
        f.write(struct.pack(">" + "I" * arr.ndim, *arr.shape))
        f.write(arr.astype(">u1").tobytes())


def test_from_idx_and_mnist(tmp_path, rng):
    imgs = rng.integers(0, 256, (5, 28, 28)).astype(np.uint8)
    labs = np.array([3, 1, 4, 1, 5], np.uint8)
    _write_idx(tmp_path / "train-images-idx3-ubyte", imgs, 0x08)
    _write_idx(tmp_path / "train-labels-idx1-ubyte", labs, 0x08)
    _write_idx(tmp_path / "t10k-images-idx3-ubyte", imgs[:2], 0x08)
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte", labs[:2], 0x08)
    d = disent.Dataset.from_idx(tmp_path / "train-images-idx3-ubyte", tmp_path / "train-labels-idx1-ubyte")
    assert len(d) == 5 and d.obs_size == 784
    x0, l0 = d[0]
    np.testing.assert_allclose(x0.ravel(), imgs[0].ravel() / 255.0, atol=1e-6)
    assert l0 == 3
    assert disent.Dataset.from_idx(tmp_path / "train-images-idx3-ubyte")[0][1] is None
    tr = disent.Dataset.from_mnist(tmp_path)
    te = disent.Dataset.from_mnist(tmp_path, test=True)
    assert len(tr) == 5 and len(te) == 2
    with pytest.raises(disent.FileIOError):
        disent.Dataset.from_mnist(tmp_path / "nope")
    (tmp_path / "bad").write_bytes(b"\x00\x00\x08\x03garbage")
    with pytest.raises(disent.FormatError):
        disent.Dataset.from_idx(tmp_path / "bad")


def _write_wav(path, seconds, freq, sr=16000):
    t = np.arange(int(seconds * sr)) / sr
    pcm = (0.5 * np.sin(2 * np.pi * freq * t) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sr)
        w.writeframes(pcm.tobytes())


@pytest.fixture
def audio_dir(tmp_path):
    d = tmp_path / "audio"
    d.mkdir()
    _write_wav(d / "a.wav", 0.5, 440)
    _write_wav(d / "b.wav", 0.3, 880)
    (d / "manifest.csv").write_text("path,pitch\na.wav,low\nb.wav,high\n")
    return d


def test_from_audio(audio_dir):
    d = disent.Dataset.from_audio(audio_dir, frames=8, n_mels=16, n_fft=256, hop_length=128)
    assert d.obs_shape == (8, 16) and len(d) > 0
    m = disent.Dataset.from_audio(audio_dir / "manifest.csv", {"frames": 8, "n_mels": 16, "n_fft": 256,
                                                               "hop_length": 128, "label": "pitch"})
    assert len(m) == len(d) and m.num_groups == 2
    with pytest.raises(disent.OptionError):
        disent.Dataset.from_audio(audio_dir, no_such_option=1)
    with pytest.raises(disent.DisentError):
        disent.Dataset.from_audio(audio_dir / "missing")
    (audio_dir / "c.wav").write_bytes(b"RIFF....WAVEjunk")
    with pytest.raises(disent.DisentError, match="c.wav"):
        disent.Dataset.from_audio(audio_dir, frames=8, n_mels=16, n_fft=256, hop_length=128)


def test_load_audio(audio_dir, tmp_path):
    with pytest.raises(disent.FileIOError):
        disent.Dataset.load_audio(tmp_path / "missing.dsa")
    (tmp_path / "junk.dsa").write_bytes(b"DSNASET\n" + b"\x00" * 40)
    with pytest.raises(disent.FormatError):
        disent.Dataset.load_audio(tmp_path / "junk.dsa")
    features = tool("features")
    if not features:
        pytest.skip("the features tool is not built next to the library")
    out = tmp_path / "set.dsa"
    subprocess.run([features, "--manifest", str(audio_dir / "manifest.csv"), "--out", str(out), "--T", "8",
                    "--n-mels", "16", "--n-fft", "256", "--hop-length", "128", "--quiet"], check=True)
    d = disent.Dataset.load_audio(out, "pitch")
    assert d.obs_shape == (8, 16) and len(d) > 0 and d.num_groups == 2
    assert len(disent.Dataset.load_audio(out)) == len(d)
