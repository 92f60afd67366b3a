#!/usr/bin/python3
"""probe-register.py - how much of a music clip's register can a static latent read from it?

For a development set of scripts/make-devsets.sh (issue 15, docs/tsdsae.md "Session 6"), compute
each clip's log-mel frames with the library's front end (the Python bindings, default feature
options: those of `disent train --audio`), summarise the clip by the time mean of its frames after
a per-frame transform, and fit a ridge regression (5-fold cross-validated) of the clip's register
(the mean MIDI note of its `notes` column) and a linear classifier of its label (`instrument`,
2 classes) on that summary. Transforms: the raw frames, and the envelope of `global_input=envelope`
(each frame projected on the first K orthonormal DCT-II vectors along the mel axis) for several K.
An R^2 near 1 means the summary carries the register: a v computed from it can transpose a melody.

    /usr/bin/python3 scripts/probe-register.py data/devsets/tim-flute-sax [K ...]

Needs the library built (DISENT_LIBRARY=build/libdisent.so, or installed bindings) and numpy.
"""
import csv
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "bindings", "python"))
os.environ.setdefault("DISENT_LIBRARY", os.path.join(HERE, "..", "build", "libdisent.so"))
import disent.audio  # noqa: E402


def envelope_matrix(F, K):
    """E = C_K^T C_K, C_K the first K orthonormal DCT-II vectors (the library's global_input=envelope)."""
    f = np.arange(F)
    C = np.array([(np.sqrt(1.0 / F) if k == 0 else np.sqrt(2.0 / F)) * np.cos(np.pi * k * (f + 0.5) / F) for k in range(K)])
    return C.T @ C


def cv_fit(X, y, classify, lam=1.0, folds=5):
    """5-fold ridge on standardised X: R^2 of y, or the accuracy of (prediction > 0.5) for 0/1 labels."""
    n = len(y)
    idx = np.random.RandomState(0).permutation(n)
    X = (X - X.mean(0)) / (X.std(0) + 1e-9)
    X = np.c_[X, np.ones(n)]
    out = np.zeros(n)
    for k in range(folds):
        te = idx[k::folds]
        tr = np.setdiff1d(idx, te)
        w = np.linalg.solve(X[tr].T @ X[tr] + lam * np.eye(X.shape[1]), X[tr].T @ y[tr].astype(float))
        out[te] = X[te] @ w
    if classify:
        return float(np.mean((out > 0.5) == y))
    return float(1.0 - np.mean((out - y) ** 2) / np.var(y))


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    setdir = argv[1]
    ks = [int(k) for k in argv[2:]] or [16, 8, 4]
    rows = list(csv.DictReader(open(os.path.join(setdir, "factors.csv"))))
    if not rows or "notes" not in rows[0]:
        sys.exit("probe-register: %s/factors.csv has no notes column (a music set is needed)" % setdir)
    frames, register, label = [], [], []
    for r in rows:
        x, sr = disent.audio.read(os.path.join(setdir, r["path"]))
        frames.append(np.asarray(disent.audio.features(x, sr), dtype=np.float64))
        register.append(np.mean([int(n.split(":")[2]) for n in r["notes"].split()]))
        label.append(r["instrument"])
    classes = sorted(set(label))
    if len(classes) != 2:
        sys.exit("probe-register: needs exactly 2 instruments, found %d" % len(classes))
    y = np.array([classes.index(c) for c in label])
    reg = np.array(register)
    F = frames[0].shape[1]
    print("%s: %d clips, register sd %.2f semitones, instruments %s" % (setdir, len(rows), reg.std(), " ".join(classes)))
    for K in [None] + ks:
        E = None if K is None else envelope_matrix(F, K)
        X = np.array([(m if E is None else m @ E).mean(0) for m in frames])
        print("  %-13s register R^2 %.3f   instrument accuracy %.3f"
              % ("raw" if K is None else "envelope K=%d" % K, cv_fit(X, reg, False), cv_fit(X, y, True)))


if __name__ == "__main__":
    main(sys.argv)
