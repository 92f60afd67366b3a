"""Timbre banks and real-time streams (include/disent.h: dsn_model_bank_*,
dsn_stream_*; docs/plugin.md). Python is not real-time itself: Stream is for
prototyping and offline rendering through exactly the path a plugin runs.

Shapes: a static latent (timbre) v is float32 (dim,); audio blocks are mono
float32 (n,)."""
from __future__ import annotations

import ctypes
from typing import Any, Dict, List, Optional, Union

import numpy as np

from . import errors
from ._arrays import as_f32, fptr
from ._lib import C, Stream_p, dec, enc
from .core import Model, _Dependent, _Opts, _read_options


def _static_dim(model):
    for p in model.parts:
        if int(p.scope) == 1:  # item-scoped: the static latent
            return p.dim
    raise errors.UnsupportedError("the %s model has no static latent" % model.family, errors.E_UNSUPPORTED)


def bank_add(model: Model, name: str, v: Any, audio: Any = None) -> None:
    """Store the static latent v [dim] as timbre `name` (replacing one of that
    name), with the audio settings (dict or Options; None keeps the stored)."""
    v = np.ascontiguousarray(as_f32(v, "v").reshape(-1))
    with _Opts(audio, {}) as o:
        C.dsn_model_bank_add(model._h, enc(name), fptr(v), v.size, o)


def bank_remove(model: Model, name: str) -> None:
    """Delete timbre `name` (InvalidArgumentError if absent)."""
    C.dsn_model_bank_remove(model._h, enc(name))


def bank_names(model: Model) -> List[str]:
    """The timbre names, in bank order."""
    return [dec(C.dsn_model_bank_name(model._h, i)) for i in range(C.dsn_model_bank_count(model._h))]


def bank_get(model: Model, timbre: Union[str, int]) -> np.ndarray:
    """The static latent of a timbre (name or index) as float32 of shape (dim,)."""
    if isinstance(timbre, str):
        i = ctypes.c_size_t()
        C.dsn_model_bank_find(model._h, ctypes.byref(i), enc(timbre))
        timbre = i.value
    out = np.empty(_static_dim(model), np.float32)
    C.dsn_model_bank_get(model._h, fptr(out), out.size, int(timbre))
    return out


def bank_audio(model: Model) -> Dict[str, str]:
    """The bank's audio settings as a dict ({} if none)."""
    return _read_options(C.dsn_model_bank_audio(model._h))


class Stream(_Dependent):
    """A real-time timbre swap: Stream(model, sample_rate, max_block, target=None,
    **options), then out = stream.process(block) on blocks of at most max_block
    float32 samples; the output lags by stream.latency samples. target is a
    static latent [dim], or None for the bank entry of the option timbre (a
    name or an index), else entry 0."""

    _free_fn = "dsn_stream_free"

    def __init__(self, model: Model, sample_rate: int, max_block: int = 1024, target: Any = None,
                 options: Any = None, **kw: Any) -> None:
        p = Stream_p()
        with _Opts(options, kw) as o:
            t = None if target is None else np.ascontiguousarray(as_f32(target, "target").reshape(-1))
            C.dsn_stream_create(ctypes.byref(p), model._h, int(sample_rate), int(max_block),
                                fptr(t) if t is not None else None, t.size if t is not None else 0, o)
        self._adopt(p)
        self._attach(model)

    @property
    def latency(self) -> int:
        """Samples the output lags behind the input (constant)."""
        return C.dsn_stream_latency(self._h)

    @property
    def max_block(self) -> int:
        """The largest block process() takes."""
        return C.dsn_stream_max_block(self._h)

    def process(self, x: Any, out: Optional[np.ndarray] = None) -> np.ndarray:
        """Process one block x of shape (n,), n <= max_block: returns the
        output block of shape (n,) (written into out if given; out may be x)."""
        x = np.ascontiguousarray(as_f32(x, "x").reshape(-1))
        if out is None:
            out = np.empty_like(x)
        C.dsn_stream_process(self._h, fptr(out), fptr(x), x.size)
        return out

    def render(self, x: Any) -> np.ndarray:
        """A whole signal x (n,) in max_block pieces, the latency removed (the
        tail is padded with zeros): float32 of shape (n,)."""
        x = np.ascontiguousarray(as_f32(x, "x").reshape(-1))
        L, b = self.latency, self.max_block
        padded = np.concatenate([x, np.zeros(L, np.float32)])
        y = np.empty_like(padded)
        for i in range(0, padded.size, b):
            self.process(padded[i:i + b], y[i:i + b])
        return y[L:]

    def reset(self) -> None:
        """Back to the state after creation (keeps target and mix)."""
        C.dsn_stream_reset(self._h)

    def set_target(self, v: Any) -> None:
        """Swap in the static latent v of shape (dim,) from the next frame on."""
        v = np.ascontiguousarray(as_f32(v, "v").reshape(-1))
        C.dsn_stream_set_target(self._h, fptr(v), v.size)

    def set_timbre(self, a: int, b: Optional[int] = None, t: float = 0.0) -> None:
        """Target (1 - t) bank[a] + t bank[b] (bank indices)."""
        C.dsn_stream_set_timbre(self._h, int(a), int(a if b is None else b), float(t))

    def set_mix(self, wet: float) -> None:
        """Output = (1 - wet) dry (delayed) + wet swap, wet in [0, 1]."""
        C.dsn_stream_set_mix(self._h, float(wet))

    def counter(self, name: str) -> int:
        """A named counter: frames, model_errors, bad_samples, bad_frames,
        xruns, feature_rate, n_fft, hop (0 for unknown names)."""
        return int(C.dsn_stream_counter(self._h, enc(name)))
