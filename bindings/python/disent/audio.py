"""Audio for hosts: read/write files, log-mel features, mel back to audio."""

from ctypes import byref, c_int, c_size_t

import numpy as np

from ._arrays import as_f32, fptr, shape_error
from ._lib import C, enc, f32_p
from .core import Options, _opts_ptr


class _Opts:
    """Options.of(...) that closes what it made."""

    def __init__(self, options, kw):
        self.given = options
        self.o = Options.of(options, **kw)

    def __enter__(self):
        return _opts_ptr(self.o)

    def __exit__(self, *exc):
        if self.o is not None and self.o is not self.given:
            self.o.close()
        return False


def read(path, sample_rate=0):
    """(mono float32 samples, rate) of an audio file, resampled to
    sample_rate unless it is 0."""
    p, n, rate = f32_p(), c_size_t(), c_int()
    C.dsn_audio_read(byref(p), byref(n), byref(rate), enc(path), int(sample_rate))
    try:
        out = np.ctypeslib.as_array(p, shape=(n.value,)).copy() if n.value else np.empty(0, np.float32)
    finally:
        C.dsn_audio_free(p)
    return out, rate.value


def write(path, samples, sample_rate, options=None, **kw):
    """Write mono samples; option format: auto, wav16, wav_float, flac16, flac24."""
    a = as_f32(np.ravel(samples), "write: samples")
    with _Opts(options, kw) as o:
        C.dsn_audio_write(enc(path), fptr(a), a.size, int(sample_rate), o)


def features(x, sample_rate, options=None, **kw):
    """Log-mel frames (frames, n_mels) of mono samples, with the settings of
    Dataset.from_audio (sample_rate, n_fft, hop_length, n_mels, fmin, fmax)."""
    a = as_f32(np.ravel(x), "features: x")
    with _Opts(options, kw) as o:
        nf, nm = c_size_t(), c_size_t()
        C.dsn_audio_features(None, 0, byref(nf), byref(nm), fptr(a), a.size, int(sample_rate), o)
        out = np.empty((nf.value, nm.value), dtype=np.float32)
        C.dsn_audio_features(fptr(out), out.size, byref(nf), byref(nm), fptr(a), a.size, int(sample_rate), o)
    return out


def mel_to_audio(mel, options=None, **kw):
    """Samples from log-mel frames (frames, n_mels) by mel inversion and
    Griffin-Lim (options gl_iter, gl_momentum, seed, mel_inversion, ...)."""
    m = as_f32(mel, "mel_to_audio: mel")
    if m.ndim != 2:
        raise shape_error("mel_to_audio: expected mel of shape (frames, n_mels), got %s" % (m.shape,))
    with _Opts(options, kw) as o:
        n = c_size_t()
        C.dsn_mel_to_audio(None, 0, byref(n), fptr(m), m.shape[0], m.shape[1], o)
        out = np.empty(n.value, dtype=np.float32)
        C.dsn_mel_to_audio(fptr(out), out.size, byref(n), fptr(m), m.shape[0], m.shape[1], o)
    return out


__all__ = ["read", "write", "features", "mel_to_audio"]
