"""Training logs (the fit option ``log``, docs/logs.md) and their loss curves.

    disent.fit(model, opt, data, epochs=10, log="run.jsonl")
    records = disent.read_log("run.jsonl")        # list of dicts, one per line
    disent.plot("run.jsonl", "curves.png")        # PNG: step terms, epoch figures

``plot`` draws with matplotlib when it is installed; without it (or with
``backend="disent"``) it runs the ``disent plot`` program of the same build,
which draws with the library's PNG writer (``dsn_image_save_png``). Either
way the figure has the same two panels: every step's loss terms over the
training step, and the end-of-epoch ``train_loss``, ``valid_loss`` and
``valid_objective`` over the same axis; dashed lines mark stage switches.
"""
import json
import os
import shutil
import subprocess

from . import _lib
from .errors import FormatError

EPOCH_FIGURES = ("train_loss", "valid_loss", "valid_objective")


def read_log(path):
    """The records of a training log (JSONL) as a list of dicts.

    Raises FormatError naming the line for a line that is not a JSON object."""
    out = []
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except ValueError as e:
                raise FormatError("%s:%d: not a JSON record (%s)" % (path, i, e)) from None
            if not isinstance(rec, dict) or "event" not in rec:
                raise FormatError("%s:%d: not a record of a training log" % (path, i))
            out.append(rec)
    return out


def curves(records, terms=None):
    """The series a plot draws: ({term: (steps, values)} of the step records,
    {figure: (steps, values)} of the epoch records, [(step, stage)] of the
    stage switches). A run appended whose step count starts again continues
    the axis after the previous run's last step (NaN between the runs)."""
    step, epoch, switches, stage = {}, {}, [], None
    # appended runs: one whose step count starts again (train-prior's new
    # optimizer) continues the axis after the last step, with a gap
    offset, last, seen = 0, 0, False
    for r in records:
        ev = r.get("event")
        if ev == "start" and seen:
            if r.get("step", 0) + offset < last:
                offset = last - r.get("step", 0)
            for s in list(step.values()) + list(epoch.values()):
                s[0].append(last)
                s[1].append(float("nan"))
        if ev not in ("step", "epoch"):
            continue
        seen = True
        x = r["step"] + offset
        last = max(last, x)
        if ev == "step":
            if stage is not None and r.get("stage") != stage:
                switches.append((x - 0.5, r.get("stage")))
            stage = r.get("stage")
            for k, v in r.get("terms", {}).items():
                if terms is None or k in terms:
                    s = step.setdefault(k, ([], []))
                    s[0].append(x)
                    s[1].append(float("nan") if v is None else v)
        else:
            for k in EPOCH_FIGURES:
                if k in r:
                    s = epoch.setdefault(k, ([], []))
                    s[0].append(x)
                    s[1].append(float("nan") if r[k] is None else r[k])
    return step, epoch, switches


def _disent_program():
    """The `disent` program of this library's build or install, or on PATH."""
    env = os.environ.get("DISENT_CLI")
    if env:
        return env
    libdir = os.path.dirname(os.path.abspath(_lib.LIBRARY_PATH))
    for p in (os.path.join(libdir, "tools", "disent"), os.path.join(libdir, "disent"),
              os.path.join(os.path.dirname(libdir), "bin", "disent")):
        if os.path.isfile(p) and os.access(p, os.X_OK):
            return p
    return shutil.which("disent")


def _log_scale(values):
    v = [x for x in values if x == x]
    return bool(v) and min(v) > 0 and max(v) > 50 * min(v)


def plot(log, out="curves.png", terms=None, backend=None, width=900, height=640):
    """Draw the training log `log` (a path) as a PNG at `out`; returns out.

    terms: the step terms to draw (default all). backend: "matplotlib",
    "disent" (the disent program, the library's PNG writer) or None (matplotlib
    when importable, else the program). Raises ImportError when neither is
    available, FormatError for a file that is not a training log."""
    if backend not in (None, "matplotlib", "disent"):
        raise ValueError("backend must be None, 'matplotlib' or 'disent'")
    if backend is None:
        try:
            import matplotlib  # noqa: F401
            backend = "matplotlib"
        except ImportError:
            backend = "disent"
    terms = list(terms) if terms is not None else None
    if backend == "disent":
        prog = _disent_program()
        if not prog:
            raise ImportError("disent.plot needs matplotlib or the `disent` program (not found next to %s nor on "
                              "PATH; set DISENT_CLI)" % _lib.LIBRARY_PATH)
        cmd = [prog, "plot", os.fspath(log), "-o", os.fspath(out), "--width", str(width), "--height", str(height)]
        if terms is not None:
            cmd += ["--terms", ",".join(terms)]
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
        if r.returncode:
            raise FormatError(r.stderr.strip() or "disent plot failed (status %d)" % r.returncode)
        return out
    import matplotlib
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    recs = read_log(log)
    step, epoch, switches = curves(recs, terms)
    if not step and not epoch:
        raise FormatError("%s holds no step or epoch records" % log)
    family = next((r.get("family") for r in recs if r.get("event") == "start"), "")
    fig, axes = plt.subplots(2, 1, figsize=(width / 100.0, height / 100.0), dpi=100, sharex=True)
    for ax, series, title in ((axes[0], step, "loss terms of every training step"),
                              (axes[1], epoch, "end of each epoch (validation)")):
        for name, (x, y) in series.items():
            ax.plot(x, y, label=name, linestyle="--" if name == "valid_objective" else "-",
                    marker="o" if series is epoch else None, markersize=3, linewidth=1)
        vals = [v for _, y in series.values() for v in y]
        if _log_scale(vals):
            ax.set_yscale("log")
        for s, stage in switches:
            ax.axvline(s, color="grey", linestyle=":", linewidth=1)
            ax.text(s, 1.0, " stage %s" % stage, transform=ax.get_xaxis_transform(), va="top", color="grey",
                    fontsize=8)
        ax.set_title(title, fontsize=9, loc="left")
        ax.set_ylabel("value")
        ax.set_xlabel("training step")
        ax.grid(True, alpha=0.3)
        if series:
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    fig.suptitle(("%s training log %s" % (family, os.fspath(log))).strip(), x=0.01, ha="left", fontsize=11)
    fig.tight_layout()
    fig.savefig(os.fspath(out), format="png")
    plt.close(fig)
    return out


__all__ = ["read_log", "curves", "plot"]
