"""Evaluation: linear classifiers on latent features, metrics, pitch.

Shapes: features x (n, dim) float32, labels (n,) int; pitch tracks (frames,)."""
from __future__ import annotations

import collections
import ctypes
import enum
from ctypes import byref, c_double, c_int, c_size_t
from typing import Any, Dict, Union

import numpy as np

from . import errors
from ._arrays import as_f32, as_i32, fptr, iptr, shape_error
from ._lib import C, Classifier_p, dsn_swap_eval, enc
from .core import _Handle, _Opts

ClassifierReport = collections.namedtuple("ClassifierReport", "iterations converged value")
PitchAccuracy = collections.namedtuple("PitchAccuracy", "accuracy chroma n_voiced")


class PitchUnit(enum.IntEnum):
    """Units of a reference pitch track (dsn_pitch_unit)."""
    HZ = 0
    MIDI = 1


def _features(x, name):
    a = as_f32(x, name)
    if a.ndim != 2:
        raise shape_error("%s: expected features of shape (n, dim), got %s" % (name, a.shape))
    return a


def _labels(y, n, name):
    a = as_i32(y, name)
    if a.shape != (n,):
        raise shape_error("%s: expected shape (%d,), got %s" % (name, n, a.shape))
    return a


class Classifier(_Handle):
    """A linear classifier over float features: kind "logreg", "lda" or
    "centroid", options as keywords (standardize, l2, max_iter, tol, history,
    shrinkage)."""

    _free_fn = "dsn_classifier_free"

    def __init__(self, kind: str = "logreg", options: Any = None, **kw: Any) -> None:
        p = Classifier_p()
        with _Opts(options, kw) as o:
            C.dsn_classifier_create(byref(p), enc(kind), o)
        self._adopt(p)
        self.kind = kind
        self.dim = None

    def fit(self, x: Any, labels: Any) -> "Classifier":
        """Fit on x (n, dim) with int labels (n,); returns self."""
        a = _features(x, "fit: x")
        y = _labels(labels, a.shape[0], "fit: labels")
        C.dsn_classifier_fit(self._h, fptr(a), a.shape[0], a.shape[1], iptr(y))
        self.dim = a.shape[1]
        return self

    def predict(self, x: Any) -> np.ndarray:
        """Predicted labels (int32, shape (n,)) for x (n, dim)."""
        a = _features(x, "predict: x")
        out = np.empty(a.shape[0], dtype=np.int32)
        C.dsn_classifier_predict(self._h, iptr(out), fptr(a), a.shape[0], a.shape[1])
        return out

    def scores(self, x: Any) -> np.ndarray:
        """Decision scores (n, classes), columns in the order of .classes."""
        a = _features(x, "scores: x")
        k = C.dsn_classifier_classes(self._h, None, 0)
        out = np.empty((a.shape[0], k), dtype=np.float32)
        C.dsn_classifier_scores(self._h, fptr(out), out.size, fptr(a), a.shape[0], a.shape[1])
        return out

    @property
    def classes(self) -> np.ndarray:
        """The class values of the fit, ascending: int32 (classes,) (empty before a fit)."""
        h = self._h
        k = C.dsn_classifier_classes(h, None, 0)
        out = np.empty(k, dtype=np.int32)
        C.dsn_classifier_classes(h, iptr(out), k)
        return out

    def report(self) -> ClassifierReport:
        """ClassifierReport(iterations, converged, value) of the last fit."""
        it, conv, val = c_int(), c_int(), c_double()
        C.dsn_classifier_report(self._h, byref(it), byref(conv), byref(val))
        return ClassifierReport(it.value, bool(conv.value), val.value)


def _pair(truth, pred, name):
    t = as_i32(np.ravel(truth), name + ": truth")
    p = as_i32(np.ravel(pred), name + ": pred")
    if t.shape != p.shape:
        raise shape_error("%s: truth has %d labels, pred %d" % (name, t.size, p.size))
    return t, p


def accuracy(truth: Any, pred: Any) -> float:
    """Fraction of equal labels of truth (n,) and pred (n,)."""
    t, p = _pair(truth, pred, "accuracy")
    out = c_double()
    C.dsn_accuracy(byref(out), iptr(t), iptr(p), t.size)
    return out.value


def macro_f1(truth: Any, pred: Any) -> float:
    """Macro-averaged F1 over every label value in truth (n,) or pred (n,)."""
    t, p = _pair(truth, pred, "macro_f1")
    out = c_double()
    C.dsn_macro_f1(byref(out), iptr(t), iptr(p), t.size)
    return out.value


def confusion_matrix(truth: Any, pred: Any, n_classes: Any = None) -> np.ndarray:
    """counts[a, b] = items with truth a predicted as b: uint64 of shape
    (n_classes, n_classes) from truth (n,) and pred (n,), labels in
    [0, n_classes) (default: 1 + the largest label)."""
    t, p = _pair(truth, pred, "confusion_matrix")
    if n_classes is None:
        n_classes = int(max(t.max(initial=-1), p.max(initial=-1))) + 1 if t.size else 1
    n_classes = int(n_classes)
    if n_classes <= 0:
        raise errors.InvalidArgumentError("confusion_matrix: n_classes must be positive", errors.E_INVALID)
    out = np.zeros((n_classes, n_classes), dtype=np.uint64)
    C.dsn_confusion_matrix(out.ctypes.data_as(ctypes.POINTER(ctypes.c_uint64)), out.size, iptr(t), iptr(p),
                           t.size, n_classes)
    return out


def raw_pitch_accuracy(est_hz: Any, ref: Any, unit: Union[PitchUnit, str] = PitchUnit.HZ,
                       cents: float = 50.0) -> PitchAccuracy:
    """PitchAccuracy(accuracy, chroma, n_voiced) of an F0 track est_hz
    (frames,) in Hz against a reference ref (frames,) in Hz or MIDI (unit
    "hz"/"midi" or PitchUnit; 0 = unvoiced)."""
    if isinstance(unit, str):
        unit = PitchUnit[unit.upper()]
    e = as_f32(np.ravel(est_hz), "raw_pitch_accuracy: est_hz")
    r = as_f32(np.ravel(ref), "raw_pitch_accuracy: ref")
    if e.shape != r.shape:
        raise shape_error("raw_pitch_accuracy: est_hz has %d frames, ref %d" % (e.size, r.size))
    acc, chroma, nv = c_double(), c_double(), c_size_t()
    C.dsn_raw_pitch_accuracy(byref(acc), byref(chroma), byref(nv), fptr(e), fptr(r), e.size, int(unit), float(cents))
    return PitchAccuracy(acc.value, chroma.value, nv.value)


def pitch_track(x: Any, sample_rate: int, options: Any = None, **kw: Any) -> np.ndarray:
    """YIN F0 track: float32 (frames,) in Hz (0 = unvoiced) of mono samples x
    (n,); options window, hop, fmin, fmax, threshold, max_aperiodicity, silence."""
    a = as_f32(np.ravel(x), "pitch_track: x")
    with _Opts(options, kw) as o:
        n = c_size_t()
        C.dsn_pitch_track(None, 0, byref(n), fptr(a), a.size, int(sample_rate), o)
        out = np.empty(n.value, dtype=np.float32)
        C.dsn_pitch_track(fptr(out), out.size, byref(n), fptr(a), a.size, int(sample_rate), o)
        return out


def eval_swaps(model: Any, manifest: Any, label: str, options: Any = None, **kw: Any) -> Dict[str, Any]:
    """What a listener hears from a sequence model's swaps (dsn_eval_swaps):
    a dict with the swap macro-F1 (f1_direct, f1_pre, f1_global, f1_local),
    log-mel errors (mse_rec, mse_source_global), timbre transfer
    (mse_truth_global vs mse_truth_source, and transfer_ratio = their
    quotient; NaN without a rendered truth), raw pitch accuracy (rpa_ceiling,
    rpa_rec, rpa_global, rpa_local) and the counts (n_train, n_eval,
    n_masked_frames, n_dropped_frames, n_skipped_clips, ...). manifest is a
    CSV of clips; label the static factor's column; options as keywords:
    split, train, eval, truth, notes, classifier, pitch_clips, gl_iter,
    seed, cache, threads, bad_clips and the feature keys."""
    r = dsn_swap_eval()
    r.struct_size = ctypes.sizeof(dsn_swap_eval)
    with _Opts(options, dict(kw, label=label)) as o:
        C.dsn_eval_swaps(byref(r), model._h, enc(str(manifest)), o)
    out = {k: getattr(r, k) for k, _ in dsn_swap_eval._fields_ if k != "size"}
    out["transfer_ratio"] = (r.mse_truth_global / r.mse_truth_source) if r.n_truth else float("nan")
    return out
