"""A model's audio front end (Model.audio / set_audio, kept in the model file,
taken by fit from the data), a dataset's (Dataset.audio / counter), features
and mel_to_audio with model=, multichannel read/write, bad input of
Dataset.from_audio."""
import numpy as np
import pytest

import disent
from disent import audio

SR = 8000
FE = dict(sample_rate=SR, n_fft=256, hop_length=64)


def seq_model():
    return disent.Model("ts-dsae", frames=6, n_mels=8, v_dim=2, z_dim=2, hidden=[5], local_encoder="lstm",
                        local_context=0, z_norm="none")


def tone(n, rate, f, amp=0.5):
    t = np.arange(n) / rate
    return (amp * (0.8 * np.sin(2 * np.pi * f * t) + 0.2 * np.sin(4 * np.pi * f * t))).astype(np.float32)


def make_set(tmp_path, extra=""):
    for i, f in enumerate((220, 330, 440, 550)):
        audio.write(tmp_path / ("c%d.wav" % i), tone(4000, SR, f), SR)
    p = tmp_path / "set.csv"
    p.write_text("path,inst,room\nc0.wav,a,r\nc1.wav,b,r\nc2.wav,a,r\nc3.wav,b,r\n" + extra)
    return p


def test_model_front_end_saved_and_loaded(tmp_path):
    with seq_model() as m:
        assert m.audio == {}
        m.set_audio(window="hamming", **FE)
        a = m.audio
        assert a["sample_rate"] == "8000" and a["frames"] == "6" and a["n_mels"] == "8" and a["window"] == "hamming"
        assert a["fmax"] == "4000"
        m.save(tmp_path / "m.dsn")
        with disent.Model.load(tmp_path / "m.dsn") as l:
            assert l.audio == a
        with pytest.raises(disent.ShapeError):
            m.set_audio(n_mels=7)
        with pytest.raises(disent.OptionError):
            m.set_audio(power=3)
        m.set_audio(None)
        assert m.audio == {}


def test_fit_takes_the_data_front_end(tmp_path):
    csv = make_set(tmp_path)
    with disent.Dataset.from_audio(csv, frames=6, min_tail=4, n_mels=8, label="inst", **FE) as ds:
        assert ds.audio["n_fft"] == "256" and ds.audio["frames"] == "6"
        assert ds.counter("clips") == 4 and ds.counter("windows") == 40 and ds.counter("dropped_frames") == 12
        assert ds.counter("no_such_counter") == 0
        with seq_model() as m:
            m.fit(ds, epochs=1, batch_size=8)
            assert m.audio == ds.audio
            with disent.Dataset.from_audio(csv, model=m, label="inst", min_tail=4) as again:  # given once
                assert again.audio == ds.audio and len(again) == len(ds)
            with pytest.raises(disent.OptionError, match="frames = 8"):
                disent.Dataset.from_audio(csv, model=m, frames=8)
            with disent.Dataset.from_audio(csv, frames=6, n_mels=8, sample_rate=SR, n_fft=512, hop_length=64) as other:
                with pytest.raises(disent.InvalidArgumentError, match="n_fft = 512"):
                    m.fit(other, epochs=1, batch_size=8)


def test_features_with_the_model_front_end():
    with seq_model() as m:
        m.set_audio(**FE)
        f8 = audio.features(tone(8000, SR, 440), SR, model=m)
        f44 = audio.features(tone(44100, 44100, 440), 44100, model=m)  # resampled to the model's 8 kHz
        assert f8.shape == f44.shape == (1 + 8000 // 64, 8)
        keep = f8[2:-2] > -10
        assert np.abs(f8[2:-2] - f44[2:-2])[keep].max() < 0.01
        y = audio.mel_to_audio(f8, model=m, gl_iter=2)
        assert y.shape == ((f8.shape[0] - 1) * 64,)
        with pytest.raises(disent.OptionError, match="n_fft = 512"):
            audio.features(tone(8000, SR, 440), SR, model=m, n_fft=512)
        assert audio.features(tone(8000, SR, 440), SR, model=m, n_fft=256).shape == f8.shape  # repeating is fine
    # the feature rate is an option, the input rate an argument: no clash
    g = audio.features(tone(8000, SR, 440), SR, sample_rate=16000, n_mels=8)
    assert g.shape == (1 + 16000 // 256, 8)


@pytest.mark.parametrize("name", ["st.wav", "st.flac"])
def test_multichannel_write_read(tmp_path, name):
    x = np.stack([tone(4000, SR, 220), tone(4000, SR, 330, 0.25)], axis=1)  # (n, 2)
    audio.write(tmp_path / name, x, SR)
    y, rate = audio.read(tmp_path / name, mono=False)
    assert rate == SR and y.shape == (4000, 2)
    assert np.abs(y - x).max() < 1.0 / 32768 + 1e-6
    m, _ = audio.read(tmp_path / name)
    assert m.shape == (4000,)
    assert np.abs(m - x.mean(axis=1)).max() < 1e-4
    r, rate = audio.read(tmp_path / name, sample_rate=16000, mono=False)
    assert rate == 16000 and r.shape == (8000, 2)
    with pytest.raises(disent.ShapeError):
        audio.write(tmp_path / "bad.wav", np.zeros((4, 2, 2), np.float32), SR)


def test_bad_input_at_train_time(tmp_path):
    csv = make_set(tmp_path)
    kw = dict(frames=6, n_mels=8, **FE)
    with pytest.raises(disent.OptionError, match="inst, room"):
        disent.Dataset.from_audio(csv, label="instrument", **kw)
    with pytest.raises(disent.InvalidArgumentError, match="single class"):
        disent.Dataset.from_audio(csv, label="room", **kw)
    audio.write(tmp_path / "silent.wav", np.zeros(4000, np.float32), SR)
    audio.write(tmp_path / "loud.wav", tone(4000, SR, 300, 8.0), SR)  # clipped to full scale: flat tops
    csv = make_set(tmp_path, "silent.wav,a,r\nloud.wav,b,r\n")
    with pytest.raises(disent.InvalidArgumentError, match="silent.wav"):
        disent.Dataset.from_audio(csv, label="inst", **kw)
    with disent.Dataset.from_audio(csv, label="inst", bad_clips="skip", **kw) as ds:
        assert ds.counter("skipped_clips") == 2
        assert ds.counter("silent_clips") == 1 and ds.counter("clipped_clips") == 1
        assert ds.counter("clips") == 4
    with disent.Dataset.from_audio(csv, label="inst", bad_clips="keep", **kw) as ds:
        assert ds.counter("clips") == 6 and ds.counter("skipped_clips") == 0
    csv = make_set(tmp_path, "c0.wav,,r\n")
    with pytest.raises(disent.InvalidArgumentError, match="no value in the label column"):
        disent.Dataset.from_audio(csv, label="inst", **kw)
    audio.write(tmp_path / "short.wav", tone(200, SR, 300), SR)
    csv = make_set(tmp_path, "short.wav,b,r\n")
    with disent.Dataset.from_audio(csv, label="inst", min_tail=4, **kw) as ds:
        assert ds.counter("short_clips") == 1 and ds.counter("masked_frames") == 2


def test_audio_option_table():
    info = {o["key"]: o for o in disent.option_info("audio")}
    assert info["power"]["min"] == 1 and info["power"]["max"] == 2 and info["power"]["default"] == "2"
    assert info["window"]["choices"] == ["hann", "hamming", "rect"]
    assert "bad_clips" in info and "eps" in info and "top_db" in info
