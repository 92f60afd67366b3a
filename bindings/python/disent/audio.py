"""Audio for hosts: read/write files (mono or multichannel), log-mel
features, mel back to audio.

Shapes: a mono signal is float32 (n,); a multichannel one (n, channels);
log-mel frames are (frames, n_mels). A model trained on audio keeps its front
end (Model.audio); pass model= to features / mel_to_audio to use it, and audio
at another sample rate is resampled to the model's.
"""
from __future__ import annotations

import os
from ctypes import byref, c_int, c_size_t
from typing import Any, Mapping, Optional, Tuple, Union

import numpy as np

from ._arrays import as_f32, fptr, shape_error
from . import _lib
from ._lib import C, enc, f32_p
from .core import Model, Options, _Opts

PathLike = Union[str, "os.PathLike[str]"]
OptionsLike = Union[None, Options, Mapping[str, Any], str]


def read(path: PathLike, sample_rate: int = 0, mono: bool = True) -> Tuple[np.ndarray, int]:
    """Read an audio file (WAV, FLAC, OGG, MP3, ...: what libsndfile reads).

    Returns (samples, rate): float32 samples of shape (n,) mixed to mono
    (mean of the channels), or with mono=False of shape (n, channels) as in
    the file; resampled to sample_rate unless it is 0 (then rate is the
    file's)."""
    p, n, rate = f32_p(), c_size_t(), c_int()
    if mono:
        C.dsn_audio_read(byref(p), byref(n), byref(rate), enc(path), int(sample_rate))
        ch = 1
    else:
        chans = c_int()
        C.dsn_audio_read_channels(byref(p), byref(n), byref(chans), byref(rate), enc(path), int(sample_rate))
        ch = chans.value
    try:
        total = n.value * ch
        out = np.ctypeslib.as_array(p, shape=(total,)).copy() if total else np.empty(0, np.float32)
    finally:
        C.dsn_audio_free(p)
    return (out if mono else out.reshape(n.value, ch)), rate.value


def write(path: PathLike, samples: np.ndarray, sample_rate: int, options: OptionsLike = None, **kw: Any) -> None:
    """Write samples of shape (n,) (mono) or (n, channels) (one multichannel
    file, channels 1..256, FLAC 1..8) at sample_rate Hz; option format: auto
    (FLAC for a .flac name, else 16-bit WAV), wav16, wav_float, flac16, flac24."""
    a = as_f32(samples, "write: samples")
    if a.ndim > 2:
        raise shape_error("write: samples must have shape (n,) or (n, channels), got %s" % (a.shape,))
    with _Opts(options, kw) as o:
        if a.ndim == 2:
            a = np.ascontiguousarray(a)
            C.dsn_audio_write_channels(enc(path), fptr(a), a.shape[0], a.shape[1], int(sample_rate), o)
        else:
            C.dsn_audio_write(enc(path), fptr(a), a.size, int(sample_rate), o)


def features(x: np.ndarray, rate: int, options: OptionsLike = None, model: Optional["Model"] = None,
             **kw: Any) -> np.ndarray:
    """Log-mel frames of shape (frames, n_mels) of mono samples x (n,)
    recorded at `rate` Hz (resampled to the front end's sample_rate).

    The front end: model.audio when model is given (a keyword that
    contradicts it raises OptionError), then options / keywords with the keys
    of Dataset.from_audio (sample_rate, n_fft, hop_length, win_length,
    window, power, n_mels, fmin, fmax, scale, norm, log, eps, ...). frames =
    1 + resampled_n // hop_length."""
    a = as_f32(np.ravel(x), "features: x")
    with _Opts(options, kw, model) as o:
        nf, nm = c_size_t(), c_size_t()
        C.dsn_audio_features(None, 0, byref(nf), byref(nm), fptr(a), a.size, int(rate), o)
        out = np.empty((nf.value, nm.value), dtype=np.float32)
        C.dsn_audio_features(fptr(out), out.size, byref(nf), byref(nm), fptr(a), a.size, int(rate), o)
    return out


def mel_to_audio(mel: np.ndarray, options: OptionsLike = None, model: Optional["Model"] = None,
                 **kw: Any) -> np.ndarray:
    """Mono samples of shape ((frames - 1) * hop_length,) at the front end's
    sample_rate from log-mel frames mel (frames, n_mels), by NNLS mel
    inversion and Griffin-Lim (options gl_iter, gl_momentum, seed,
    mel_inversion, nnls_iter, and the feature keys; model= uses the model's
    front end)."""
    m = as_f32(mel, "mel_to_audio: mel")
    if m.ndim != 2:
        raise shape_error("mel_to_audio: expected mel of shape (frames, n_mels), got %s" % (m.shape,))
    with _Opts(options, kw, model) as o:
        n = c_size_t()
        C.dsn_mel_to_audio(None, 0, byref(n), fptr(m), m.shape[0], m.shape[1], o)
        out = np.empty(n.value, dtype=np.float32)
        C.dsn_mel_to_audio(fptr(out), out.size, byref(n), fptr(m), m.shape[0], m.shape[1], o)
    return out


class MelInverter:
    """mel_to_audio without allocation per call (dsn_mel_inverter): made once
    for up to max_frames frames of n_mels mels with mel_to_audio's options;
    __call__(mel) gives the same samples as mel_to_audio. Close it (or use it
    as a context manager) to release it; one thread at a time."""

    def __init__(self, max_frames: int, n_mels: int, options: OptionsLike = None,
                 model: Optional["Model"] = None, **kw: Any) -> None:
        self._p = _lib.MelInverter_p()
        with _Opts(options, kw, model) as o:
            C.dsn_mel_inverter_create(byref(self._p), int(max_frames), int(n_mels), o)
        self.max_frames, self.n_mels = int(max_frames), int(n_mels)

    def __call__(self, mel: np.ndarray) -> np.ndarray:
        """Mono samples of shape ((frames - 1) * hop_length,) from mel (frames, n_mels), 2 <= frames <= max_frames."""
        if not self._p:
            raise ValueError("MelInverter is closed")
        m = as_f32(mel, "MelInverter: mel")
        if m.ndim != 2 or m.shape[1] != self.n_mels:
            raise shape_error("MelInverter: expected mel of shape (frames, %d), got %s" % (self.n_mels, m.shape))
        n = c_size_t()
        C.dsn_mel_inverter_run(self._p, None, 0, byref(n), fptr(m), m.shape[0])
        out = np.empty(n.value, dtype=np.float32)
        C.dsn_mel_inverter_run(self._p, fptr(out), out.size, byref(n), fptr(m), m.shape[0])
        return out

    def close(self) -> None:
        """Release the inverter (idempotent)."""
        if self._p:
            C.dsn_mel_inverter_free(self._p)
            self._p = _lib.MelInverter_p()

    def __enter__(self) -> "MelInverter":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass


__all__ = ["read", "write", "features", "mel_to_audio", "MelInverter"]
