"""Classifiers, metrics and pitch functions."""
import numpy as np
import pytest

import disent


@pytest.fixture
def blobs():
    rng = np.random.default_rng(5)
    centres = np.array([[0, 0, 0], [4, 0, 0], [0, 4, 0]], np.float32)
    y = np.repeat(np.array([3, 7, 9], np.int32), 30)
    x = centres[np.searchsorted([3, 7, 9], y)] + rng.normal(0, 0.5, (90, 3)).astype(np.float32)
    return x, y


@pytest.mark.parametrize("kind,opts", [("logreg", {"l2": 1e-3}), ("lda", {"shrinkage": "auto"}),
                                       ("centroid", {})])
def test_classifiers(blobs, kind, opts):
    x, y = blobs
    with disent.Classifier(kind, **opts) as c:
        with pytest.raises(disent.StateError):
            c.predict(x)
        assert c.fit(x, y) is c
        np.testing.assert_array_equal(c.classes, [3, 7, 9])
        pred = c.predict(x)
        assert pred.dtype == np.int32 and disent.accuracy(y, pred) > 0.95
        s = c.scores(x[:5])
        assert s.shape == (5, 3)
        np.testing.assert_array_equal(c.classes[np.argmax(s, 1)], pred[:5])
        rep = c.report()
        assert isinstance(rep, disent.ClassifierReport) and rep.converged
        with pytest.raises(disent.ShapeError):
            c.predict(x[:, :2])
        with pytest.raises(disent.ShapeError, match=r"\(n, dim\)"):
            c.predict(x[0])
        with pytest.raises(disent.NumericError):
            c.predict(np.full((2, 3), np.nan))
        assert c.predict(np.zeros((0, 3))).shape == (0,)


def test_classifier_errors(blobs):
    x, y = blobs
    with pytest.raises(disent.InvalidArgumentError, match="svm"):
        disent.Classifier("svm")
    with pytest.raises(disent.OptionError):
        disent.Classifier("centroid", l2=1)
    c = disent.Classifier()
    with pytest.raises(disent.InvalidArgumentError):
        c.fit(x, np.zeros(90, np.int32))  # one class
    with pytest.raises(disent.ShapeError):
        c.fit(x, y[:10])
    with pytest.raises(TypeError):
        c.fit(x, y.astype(np.float32))
    c.close()
    with pytest.raises(disent.ClosedError):
        c.fit(x, y)


def test_metrics():
    t = [0, 1, 2, 2, 1]
    p = [0, 2, 2, 2, 1]
    assert disent.accuracy(t, p) == pytest.approx(0.8)
    assert disent.accuracy([], []) == 0
    # F1: class 0 -> 1, class 1 -> 2/3, class 2 -> 0.8
    assert disent.macro_f1(t, p) == pytest.approx((1 + 2 / 3 + 0.8) / 3)
    cm = disent.confusion_matrix(t, p)
    assert cm.dtype == np.uint64 and cm.shape == (3, 3)
    np.testing.assert_array_equal(cm, [[1, 0, 0], [0, 1, 1], [0, 0, 2]])
    assert disent.confusion_matrix(t, p, n_classes=4).shape == (4, 4)
    with pytest.raises(disent.InvalidArgumentError):
        disent.confusion_matrix(t, p, n_classes=2)
    with pytest.raises(disent.ShapeError):
        disent.accuracy([1, 2], [1])


def test_pitch():
    sr = 16000
    t = np.arange(sr // 2) / sr
    x = (0.5 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    f0 = disent.pitch_track(x, sr, hop=256)
    assert f0.shape == (1 + x.size // 256,)
    assert np.median(f0) == pytest.approx(220, rel=0.01)
    r = disent.raw_pitch_accuracy(f0, np.full(f0.shape, 220.0))
    assert r.accuracy > 0.9 and r.chroma >= r.accuracy and r.n_voiced == f0.size
    midi = disent.raw_pitch_accuracy(f0, np.full(f0.shape, 57.0), unit="midi")  # A3 = 220 Hz
    assert midi.accuracy == pytest.approx(r.accuracy)
    octave = disent.raw_pitch_accuracy(f0, np.full(f0.shape, 440.0), disent.PitchUnit.HZ, cents=50)
    assert octave.accuracy < 0.1 and octave.chroma > 0.9
    with pytest.raises(disent.ShapeError):
        disent.raw_pitch_accuracy(f0, f0[:-1])
    with pytest.raises(disent.NumericError):
        disent.pitch_track(np.full(1000, np.nan), sr)
    with pytest.raises(disent.OptionError):
        disent.pitch_track(x, sr, bogus=1)


def test_eval_swaps(tmp_path):
    """The listener-facing swap evaluation on 4 synthetic clips (2 timbres x 2
    melodies; untrained model): counts, a rendered truth, a pitch ceiling, and
    a missing column as a clear error."""
    sr, n = 16000, 8000
    t = np.arange(n) / sr
    rows = ["path,instrument,melody,split,notes"]
    for m, midi in enumerate((60, 67)):
        f = 440.0 * 2 ** ((midi - 69) / 12)
        for c in range(2):
            amp = [1.0 / h if c == 0 else 1.0 / h ** 3 for h in range(1, 9)]
            x = 0.3 * sum(a * np.sin(2 * np.pi * f * h * t) for h, a in zip(range(1, 9), amp))
            disent.audio.write(str(tmp_path / ("c%d%d.wav" % (m, c))), x.astype(np.float32), sr)
            rows.append("c%d%d.wav,%s,%d,%s,0:0.5:%d" % (m, c, "ab"[c], m, "train" if m == 0 else "valid", midi))
    (tmp_path / "factors.csv").write_text("\n".join(rows) + "\n")
    model = disent.Model("ts-dsae", frames=32, hidden=[16, 16], dec_hidden=[16, 16], z_dim=4, v_dim=4, seed=3)
    r = disent.eval_swaps(model, tmp_path / "factors.csv", "instrument", pitch_clips=2)
    assert (r["n_train"], r["n_eval"], r["n_classes"], r["n_truth"]) == (2, 2, 2, 2)
    assert 0 <= r["f1_global"] <= 1 and r["rpa_ceiling"] >= 0.8 and r["mse_truth_source"] > 0
    assert r["transfer_ratio"] == pytest.approx(r["mse_truth_global"] / r["mse_truth_source"])
    with pytest.raises(disent.OptionError, match="speaker"):
        disent.eval_swaps(model, tmp_path / "factors.csv", "speaker")
