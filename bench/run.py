#!/usr/bin/python3
"""Issue #9 / #19 runner: libdisent vs PyTorch-CPU (stock and tuned) on the
four reference workloads and the swap latency, alternately in one
invocation; the tables; optionally written into docs/performance.md.

    make BUILD=build-perf bench
    /usr/bin/python3 bench/run.py [--build build-perf] [--steps 20] [--reps 1]
                                  [--only W1,W2,W3,W4,LAT] [--threads 1,2]
                                  [--no-tuned] [--scaling] [--write-doc]

For every workload and every thread setting (default 1 and 2) three programs
run one after the other, `reps` times:
  libdisent      build/bench/bench_w* <steps> <threads>: the library's own
                 pool (dsn_set_threads), OpenBLAS single-threaded on
                 partitioned work;
  PyTorch        bench/torch/workloads.py: torch.set_num_threads(k), OpenMP
                 (libgomp) for its own kernels and Debian's default
                 (pthreads) OpenBLAS for the gemms, OMP_NUM_THREADS=k,
                 OPENBLAS_NUM_THREADS=k;
  tuned PyTorch  the same with OpenBLAS's OpenMP build loaded
                 (LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp,
                 package libopenblas0-openmp): one OpenMP pool for everything.
OMP_WAIT_POLICY as given (default PASSIVE: on a shared machine spinning
workers steal the core the other thread needs). Each framework's figure is
its best thread setting (lower median ms/step). Each run's peak RSS is read
from wait4(). The latency row runs one thread for all.

OpenBLAS core: OpenBLAS 0.3.21 does not know every CPU model and falls back
to its Prescott (SSE3) kernels on some (a 4x slower sgemm on this project's
AVX-512 VM). --coretype auto (default) sets OPENBLAS_CORETYPE for all three
programs from the CPU flags (SkylakeX with AVX-512, Haswell with AVX2),
unless it is already set; --coretype none leaves OpenBLAS alone.

--scaling adds the scaling table: libdisent step time of W2 and W4 against
batch 32-512, sequence length 64-1024 and hidden size 64-1024 (one varied
at a time from the workload's shape; few steps each), with the time per
frame (ms / (B T)) to show the cost is linear in the sequence length.

--avx2 runs every side on its AVX2 code path on this CPU (libdisent's
dispatch DSI_SIMD=1, OpenBLAS's Haswell kernels, PyTorch's
ATEN_CPU_CAPABILITY=avx2, oneDNN's ONEDNN_MAX_CPU_ISA=AVX2; fma_peak's AVX2
loop for the peak): the stand-in for an AVX2-only machine, with this
machine's caches and clock. With --write-doc it fills the section between
<!-- run.py:avx2:begin --> and <!-- run.py:avx2:end --> instead.

--write-doc replaces the part of docs/performance.md between the markers
<!-- run.py:begin --> and <!-- run.py:end --> with this run's tables (and
the scaling table between <!-- run.py:scaling:begin/end -->), the CPU model
(lscpu) and its FMA peak (bench/fma_peak).
"""
import argparse
import datetime
import os
import re
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TARGETS = {"W1": 1.5, "W2": 2.0, "W3": 1.5, "W4": 3.0, "LAT": 3.0}
LIB_BIN = {"W1": "bench_w1", "W2": "bench_w2", "W3": "bench_w3", "W4": "bench_w4", "LAT": "bench_wlat"}
OPENMP_BLAS = "/usr/lib/x86_64-linux-gnu/openblas-openmp"
SCALE_BASE = {"W2": (128, 128, 256), "W4": (128, 250, 64)}
SCALE_VALUES = {"batch": [32, 64, 128, 256, 512], "frames": [64, 128, 256, 512, 1024],
                "hidden": [64, 128, 256, 512, 1024]}
BEGIN, END = "<!-- run.py:begin -->", "<!-- run.py:end -->"
SBEGIN, SEND = "<!-- run.py:scaling:begin -->", "<!-- run.py:scaling:end -->"
ABEGIN, AEND = "<!-- run.py:avx2:begin -->", "<!-- run.py:avx2:end -->"
# --avx2: every side on its AVX2 code path (an AVX2-only machine's kernels, on this CPU)
AVX2_ENV = {"DSI_SIMD": "1", "OPENBLAS_CORETYPE": "Haswell", "ATEN_CPU_CAPABILITY": "avx2",
            "ONEDNN_MAX_CPU_ISA": "AVX2", "DNNL_MAX_CPU_ISA": "AVX2"}


class _RssPopen(subprocess.Popen):
    """Popen whose wait reads the child's rusage (peak RSS) through wait4."""

    def _try_wait(self, wait_flags):
        try:
            pid, sts, ru = os.wait4(self.pid, wait_flags)
        except ChildProcessError:
            return (self.pid, 0)
        if pid == self.pid:
            self._h5_rss = ru.ru_maxrss / 1024.0  # KiB -> MiB
        return (pid, sts)


def run(cmd, env_extra):
    """Runs cmd; returns its RESULT fields, peak RSS (MiB) and output."""
    env = dict(os.environ)
    env.update(env_extra)
    p = _RssPopen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = p.communicate()
    rss = getattr(p, "_h5_rss", None)
    if p.returncode != 0:
        sys.stderr.write(out + err)
        raise SystemExit(f"failed: {' '.join(cmd)}")
    for line in out.splitlines():
        if line.startswith("RESULT "):
            f = line.split()
            return {"med": float(f[2]), "min": float(f[3]), "max_or_p99": float(f[4]), "gflop": float(f[5]),
                    "allocs": int(f[6]), "cpu": float(f[7]) if len(f) > 7 else float("nan"), "rss": rss,
                    "text": out}
    raise SystemExit(f"no RESULT line from {' '.join(cmd)}:\n{out}")


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def cpu_model():
    try:
        out = subprocess.run(["lscpu"], stdout=subprocess.PIPE, text=True, check=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return "?"


def cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def coretype(mode):
    if mode == "none" or os.environ.get("OPENBLAS_CORETYPE"):
        return os.environ.get("OPENBLAS_CORETYPE")
    if mode != "auto":
        return mode
    fl = cpu_flags()
    if "avx512f" in fl:
        return "SkylakeX"
    if "avx2" in fl and "fma" in fl:
        return "Haswell"
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--steps", type=int, default=20, help="< 20: that many timed steps after 1 warm-up")
    ap.add_argument("--heavy-steps", type=int, default=0, help="steps for W2, W3, W4 (default: --steps)")
    ap.add_argument("--reps", type=int, default=1)
    ap.add_argument("--only", default="W1,W2,W3,W4,LAT")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--omp-wait", default="PASSIVE")
    ap.add_argument("--lat-runs", type=int, default=2000)
    ap.add_argument("--coretype", default="auto", help="auto | none | an OpenBLAS core name")
    ap.add_argument("--no-tuned", action="store_true", help="skip the tuned-PyTorch runs")
    ap.add_argument("--no-torch", action="store_true", help="libdisent only")
    ap.add_argument("--scaling", action="store_true")
    ap.add_argument("--scaling-only", action="store_true")
    ap.add_argument("--scaling-threads", type=int, default=2)
    ap.add_argument("--scaling-steps", type=int, default=1, help="timed steps per shape (after 1 warm-up)")
    ap.add_argument("--scaling-workloads", default="W2,W4")
    ap.add_argument("--avx2", action="store_true",
                    help="force the AVX2 code paths: libdisent DSI_SIMD=1, OpenBLAS Haswell, PyTorch "
                         "ATEN_CPU_CAPABILITY=avx2 and oneDNN AVX2; --write-doc then fills the avx2 section")
    ap.add_argument("--write-doc", action="store_true")
    a = ap.parse_args()
    bdir = os.path.join(ROOT, a.build, "bench") if not os.path.isabs(a.build) else os.path.join(a.build, "bench")
    threads = [int(t) for t in a.threads.split(",")]
    work = [] if a.scaling_only else [w for w in a.only.split(",") if w]
    py = "/usr/bin/python3"
    torch_script = os.path.join(HERE, "torch", "workloads.py")
    ct = "Haswell" if a.avx2 else coretype(a.coretype)
    base_env = dict(AVX2_ENV) if a.avx2 else {"OPENBLAS_CORETYPE": ct} if ct else {}
    tuned = not a.no_tuned and not a.no_torch and os.path.exists(os.path.join(OPENMP_BLAS, "libopenblas.so.0"))
    sides = ["lib"] + ([] if a.no_torch else ["torch"]) + (["tuned"] if tuned else [])
    started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], stdout=subprocess.PIPE,
                            text=True).stdout.strip()
    load_before = loadavg()
    log = []

    def say(s):
        print(s, flush=True)
        log.append(s)

    say(f"load average before: {load_before}; OPENBLAS_CORETYPE={ct or '(OpenBLAS default)'}"
        + ("; AVX2 paths forced: " + " ".join(f"{k}={v}" for k, v in AVX2_ENV.items()) if a.avx2 else ""))
    peak_out = subprocess.run([os.path.join(bdir, "fma_peak")], stdout=subprocess.PIPE, text=True, check=True,
                              env=dict(os.environ, **base_env)).stdout
    peaks = {}
    for line in peak_out.splitlines():
        if line.startswith("PEAK "):
            _, t, g = line.split()
            peaks[int(t)] = float(g)
    core_peak = peaks.get(1, 0.0)
    say(f"FMA peak (bench/fma_peak): 1 thread {peaks.get(1, 0):.1f} GFLOP/s, 2 threads {peaks.get(2, 0):.1f} GFLOP/s")

    rows = []
    for w in work:
        res = {s: {} for s in sides}
        tlist = [1] if w == "LAT" else threads
        for rep in range(a.reps):
            for t in tlist:
                env = dict(base_env, OPENBLAS_NUM_THREADS=str(t), OMP_NUM_THREADS=str(t), OMP_WAIT_POLICY=a.omp_wait)
                steps = a.heavy_steps if a.heavy_steps > 0 and w in ("W2", "W3", "W4") else a.steps
                if steps < 20:  # fewer timed steps (1 warm-up) for both sides: a loaded machine's short slot
                    env["BENCH_FEW_STEPS"] = "1"
                if w == "LAT":
                    cmds = {"lib": [os.path.join(bdir, LIB_BIN[w]), str(a.lat_runs)],
                            "torch": [py, torch_script, w, "--steps", str(a.lat_runs), "--threads", "1"]}
                else:
                    cmds = {"lib": [os.path.join(bdir, LIB_BIN[w]), str(steps), str(t)],
                            "torch": [py, torch_script, w, "--steps", str(steps), "--threads", str(t)]}
                cmds["tuned"] = cmds["torch"]
                for s in sides:
                    e = dict(env)
                    if s == "tuned":
                        e["LD_LIBRARY_PATH"] = OPENMP_BLAS + (":" + os.environ["LD_LIBRARY_PATH"]
                                                              if os.environ.get("LD_LIBRARY_PATH") else "")
                    r = run(cmds[s], e)
                    res[s].setdefault(t, []).append(r)
                    name = {"lib": "libdisent", "torch": "pytorch", "tuned": "tuned pytorch"}[s]
                    say(f"[{w} rep {rep} threads {t}] {name:13s} median {r['med']:.3f} ms, CPU {r['cpu']:.3f} ms, "
                        f"RSS {r['rss'] or 0:.0f} MiB (load {loadavg()})")
        best = {}
        for s in sides:
            cands = sorted((statistics.median(r["med"] for r in rs), t, rs) for t, rs in res[s].items())
            best[s] = cands[0]
        rows.append((w, best, res))

    load_after = loadavg()
    say(f"load average after: {load_after}")
    tables = []
    if rows:
        hdr = ("| workload | libdisent ms/step (thr) | PyTorch ms (thr) | tuned PyTorch ms (thr) | ratio best PT / lib "
               "| target | lib GFLOP/s | lib % peak | peak RSS MiB lib / PT / tuned |")
        t1 = [hdr, "|" + "|".join("---" for _ in range(hdr.count("|") - 1)) + "|"]
        for w, best, res in rows:
            lm, lt, lrs = best["lib"]
            pt = [best[s] for s in ("torch", "tuned") if s in best]
            bm = min(p[0] for p in pt) if pt else float("nan")
            ratio = bm / lm
            rss = " / ".join(f"{max((r['rss'] or 0) for rs in res[s].values() for r in rs):.0f}" for s in sides)
            cell = {s: f"{best[s][0]:.3f} ({best[s][1]})" if w == "LAT" else f"{best[s][0]:.1f} ({best[s][1]})"
                    for s in best}
            tgt = TARGETS[w]
            if w == "LAT":
                lp99 = statistics.median(r["max_or_p99"] for r in lrs)
                allocs = max(r["allocs"] for r in lrs)
                t1.append(f"| LAT median (p99 {lp99:.3f} ms, {allocs} allocations) | {cell['lib']} | "
                          f"{cell.get('torch', '-')} | {cell.get('tuned', '-')} | {ratio:.2f} | >= {tgt} "
                          f"{'met' if ratio >= tgt else 'not met'} | - | - | {rss} |")
                continue
            g = lrs[0]["gflop"]
            lg = g / (lm * 1e-3)
            t1.append(f"| {w} | {cell['lib']} | {cell.get('torch', '-')} | {cell.get('tuned', '-')} | {ratio:.2f} | "
                      f">= {tgt} {'met' if ratio >= tgt else 'not met'} | {lg:.1f} | "
                      f"{100 * lg / (lt * core_peak):.0f} % | {rss} |")
        tables.append("\n".join(t1))
        # two threads against one, libdisent (wall and CPU time per step)
        if 1 in threads and 2 in threads:
            t2 = ["| workload | lib 1 thread ms (CPU ms) | lib 2 threads ms (CPU ms, all threads) | speedup (wall) | "
                  "CPU 2 thr / CPU 1 thr | PyTorch 1 / 2 thr ms | tuned 1 / 2 thr ms |",
                  "|---|---|---|---|---|---|---|"]
            for w, best, res in rows:
                if w == "LAT" or 1 not in res["lib"] or 2 not in res["lib"]:
                    continue
                m1 = statistics.median(r["med"] for r in res["lib"][1])
                m2 = statistics.median(r["med"] for r in res["lib"][2])
                c1 = statistics.median(r["cpu"] for r in res["lib"][1])
                c2 = statistics.median(r["cpu"] for r in res["lib"][2])
                pts = []
                for s in ("torch", "tuned"):
                    if s in res:
                        pts.append(" / ".join(f"{statistics.median(r['med'] for r in res[s][t]):.1f}" for t in (1, 2)))
                    else:
                        pts.append("-")
                t2.append(f"| {w} | {m1:.1f} ({c1:.1f}) | {m2:.1f} ({c2:.1f}) | {m1 / m2:.2f} | {c2 / c1:.2f} | "
                          f"{pts[0]} | {pts[1]} |")
            tables.append("\n".join(t2))

    if a.scaling or a.scaling_only:
        st = ["| workload | varied | B | T | H | ms/step | CPU ms/step (%d threads) | us per frame (ms / (B T)) | "
              "CPU us per frame |" % a.scaling_threads, "|---|---|---|---|---|---|---|---|---|"]
        for w in a.scaling_workloads.split(","):
            b0 = SCALE_BASE[w]
            for which, vals in SCALE_VALUES.items():
                for v in vals:
                    shape = list(b0)
                    shape[("batch", "frames", "hidden").index(which)] = v
                    env = dict(base_env, BENCH_SHAPE=",".join(map(str, shape)), BENCH_FEW_STEPS="1")
                    r = run([os.path.join(bdir, LIB_BIN[w]), str(a.scaling_steps), str(a.scaling_threads)], env)
                    per = 1e3 * r["med"] / (shape[0] * shape[1])
                    line = (f"| {w} | {which} | {shape[0]} | {shape[1]} | {shape[2]} | {r['med']:.1f} | "
                            f"{r['cpu']:.1f} | {per:.2f} | {1e3 * r['cpu'] / (shape[0] * shape[1]):.1f} |")
                    st.append(line)
                    print(line + f"  (load {loadavg()})", flush=True)
        scaling_table = "\n".join(st)
    else:
        scaling_table = None

    print()
    for t in tables + ([scaling_table] if scaling_table else []):
        print(t + "\n")
    if a.write_doc:
        if tables:
            b, e = (ABEGIN, AEND) if a.avx2 else (BEGIN, END)
            write_doc(b, e, started, commit, load_before, load_after, ct, peaks, tables, a.avx2)
        if scaling_table:
            write_doc(SBEGIN, SEND, started, commit, load_before, load_after, ct, peaks, [scaling_table])
    return 0


def write_doc(begin, end, started, commit, load_before, load_after, ct, peaks, tables, avx2=False):
    path = os.path.join(ROOT, "docs", "performance.md")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if begin not in text or end not in text:
        raise SystemExit(f"{path}: no {begin} ... {end} section to replace")
    cmd = "/usr/bin/python3 bench/run.py " + " ".join(sys.argv[1:])
    body = [begin, "",
            f"Written by `{cmd}` at commit {commit}, {started}.",
            f"CPU: `lscpu` model name \"{cpu_model()}\", {os.cpu_count()} CPUs; FMA peak (bench/fma_peak) "
            f"{peaks.get(1, 0):.1f} GFLOP/s on one thread, {peaks.get(2, 0):.1f} GFLOP/s on two. "
            f"OPENBLAS_CORETYPE={ct or '(OpenBLAS default)'}. Load average {load_before} before, {load_after} after "
            f"(the machine is shared: wall times carry the other jobs' load).", ""]
    if avx2:
        body[-1:] = [f"AVX2 code paths forced on this CPU ({' '.join(k + '=' + v for k, v in AVX2_ENV.items())}; "
                     "the FMA peak is the AVX2 loop's): a stand-in for an AVX2-only machine, not one (same caches, "
                     "clock and memory as the AVX-512 table).", ""]
    for t in tables:
        body += [t, ""]
    body.append(end)
    pre, rest = text.split(begin, 1)
    post = rest.split(end, 1)[1]
    with open(path, "w", encoding="utf-8") as f:
        f.write(pre + "\n".join(body) + post)
    print(f"wrote {path}")


if __name__ == "__main__":
    sys.exit(main())
