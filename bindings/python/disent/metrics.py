"""Disentanglement metrics of latents against known factors of variation
(dsn_factor_metrics; definitions in docs/metrics.md): MIG, DCI
(disentanglement, completeness, informativeness), SAP, modularity and
explicitness, with disentanglement_lib's estimators.

    import numpy as np, disent
    z = enc["style"]                       # (n, dim) latents, e.g. posterior means
    f = np.stack([angle, thickness], 1)    # (n, n_factors) ground truth
    disent.metrics.factor_metrics(z, f)    # {"mig": ..., "dci_disentanglement": ..., ...}
    disent.metrics.mig(z, f, continuous="all")
"""
from __future__ import annotations

import ctypes
from typing import Any, Dict, Iterable, Tuple, Union

import numpy as np

from ._arrays import as_f32, shape_error
from ._lib import C, enc
from .core import Options, _opts_ptr

NAMES = ("mig", "dci_disentanglement", "dci_completeness", "dci_informativeness", "sap", "modularity",
         "explicitness")


def _expand(metrics):
    if isinstance(metrics, str):
        metrics = [m.strip() for m in metrics.split(",") if m.strip()]
    out = []
    for m in metrics:
        out.extend(NAMES if m == "all" else NAMES[1:4] if m == "dci" else [m])
    return out


def factor_metrics(latents: Any, factors: Any, metrics: Union[str, Iterable[str]] = "all", **options: Any) -> Dict[str, float]:
    """{name: score} for the named metrics ("all", "dci" or names from NAMES,
    a list or a comma-separated string). latents (n, dim) and factors
    (n, n_factors) (a 1-D factor array is one factor). Options as in the C
    call: continuous ("auto" | "none" | "all" | [indices]), bins (20),
    factor_bins (20), max_classes (64), train_fraction (0.8), seed (0),
    trees (100), depth (3), lr (0.1), split_bins (255)."""
    z = as_f32(latents, "latents")
    f = as_f32(factors, "factors")
    if z.ndim == 1:
        z = z.reshape(-1, 1)
    if f.ndim == 1:
        f = f.reshape(-1, 1)
    if z.ndim != 2 or f.ndim != 2 or z.shape[0] != f.shape[0]:
        raise shape_error("factor_metrics: latents %s and factors %s must be (n, dim) and (n, n_factors)"
                          % (z.shape, f.shape))
    z = np.ascontiguousarray(z)
    f = np.ascontiguousarray(f)
    names = _expand(metrics)
    if isinstance(options.get("continuous"), (list, tuple)):
        options["continuous"] = ":".join(str(int(i)) for i in options["continuous"]) or "none"
    opts = Options(**options) if options else None
    out = (ctypes.c_double * max(len(names), 1))()
    C.dsn_factor_metrics(out, len(out), enc(",".join(names)), z.ctypes.data_as(ctypes.POINTER(ctypes.c_float)),
                         z.shape[0], z.shape[1], f.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), f.shape[1],
                         _opts_ptr(opts))
    return dict(zip(names, list(out)))


def mig(latents: Any, factors: Any, **options: Any) -> float:
    """Mutual information gap of latents (n, dim) against factors (n, n_factors)."""
    return factor_metrics(latents, factors, "mig", **options)["mig"]


def dci(latents: Any, factors: Any, **options: Any) -> Tuple[float, float, float]:
    """(disentanglement, completeness, informativeness) of latents (n, dim) against factors (n, n_factors)."""
    r = factor_metrics(latents, factors, "dci", **options)
    return r["dci_disentanglement"], r["dci_completeness"], r["dci_informativeness"]


def sap(latents: Any, factors: Any, **options: Any) -> float:
    """Separated attribute predictability of latents (n, dim) against factors (n, n_factors)."""
    return factor_metrics(latents, factors, "sap", **options)["sap"]


def modularity(latents: Any, factors: Any, **options: Any) -> float:
    """Modularity (Ridgeway & Mozer) of latents (n, dim) against factors (n, n_factors)."""
    return factor_metrics(latents, factors, "modularity", **options)["modularity"]


def explicitness(latents: Any, factors: Any, **options: Any) -> float:
    """Explicitness: macro ROC-AUC of a logistic regression on all latents (n, dim), per factor of (n, n_factors)."""
    return factor_metrics(latents, factors, "explicitness", **options)["explicitness"]
