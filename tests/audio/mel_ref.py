#!/usr/bin/env python3
"""Independent numpy reference for the log-mel features of lib/audio/mel.c.

Usage: mel_ref.py IN.f32 OUT.f32 SR N_FFT HOP N_MELS SCALE NORM POWER LOG EPS
  IN.f32   raw little-endian float32 mono samples
  OUT.f32  raw float32 features [T, N_MELS] (row-major)
  SCALE    htk | slaney      NORM  none | slaney
  POWER    1 | 2             LOG   linear | log | db
Everything is computed in float64 straight from the textbook formulas.
"""
import sys
import numpy as np


def hz_to_mel(f, scale):
    f = np.asarray(f, dtype=np.float64)
    if scale == "htk":
        return 2595.0 * np.log10(1.0 + f / 700.0)
    f_sp = 200.0 / 3.0
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    return np.where(f >= min_log_hz, min_log_mel + np.log(np.maximum(f, 1e-300) / min_log_hz) / logstep, f / f_sp)


def mel_to_hz(m, scale):
    m = np.asarray(m, dtype=np.float64)
    if scale == "htk":
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    f_sp = 200.0 / 3.0
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), f_sp * m)


def filterbank(sr, n_fft, n_mels, scale, norm):
    freqs = np.linspace(0.0, sr / 2.0, n_fft // 2 + 1)
    pts = mel_to_hz(np.linspace(hz_to_mel(0.0, scale), hz_to_mel(sr / 2.0, scale), n_mels + 2), scale)
    fb = np.zeros((n_mels, freqs.size))
    for m in range(n_mels):
        lo, c, hi = pts[m], pts[m + 1], pts[m + 2]
        up = (freqs - lo) / (c - lo)
        down = (hi - freqs) / (hi - c)
        fb[m] = np.maximum(0.0, np.minimum(up, down))
        if norm == "slaney":
            fb[m] *= 2.0 / (hi - lo)
    return fb


def main():
    a = sys.argv[1:]
    x = np.fromfile(a[0], dtype="<f4").astype(np.float64)
    sr, n_fft, hop, n_mels = int(a[2]), int(a[3]), int(a[4]), int(a[5])
    scale, norm, power, log, eps = a[6], a[7], int(a[8]), a[9], float(a[10])
    n = np.arange(n_fft)
    window = 0.5 - 0.5 * np.cos(2.0 * np.pi * n / n_fft)  # periodic Hann
    xp = np.pad(x, n_fft // 2, mode="reflect")
    T = 1 + (xp.size - n_fft) // hop
    frames = np.stack([xp[t * hop: t * hop + n_fft] * window for t in range(T)])
    spec = np.abs(np.fft.rfft(frames, axis=1)) ** power
    mel = spec @ filterbank(sr, n_fft, n_mels, scale, norm).T
    if log == "log":
        mel = np.log(mel + eps)
    elif log == "db":
        mel = (10.0 if power == 2 else 20.0) * np.log10(np.maximum(mel, 1e-10))
    mel.astype("<f4").tofile(a[1])


if __name__ == "__main__":
    main()
