#!/usr/bin/python3
"""Issue #9 runner: libdisent vs PyTorch-CPU on the four reference workloads
and the swap latency, alternately in one invocation, and the table.

    make BUILD=build bench
    /usr/bin/python3 bench/run.py [--build build] [--steps 20] [--reps 1]
                                  [--only W1,W2,W3,W4,LAT] [--threads 1,2]

For every workload and every thread setting (default 1 and 2), the libdisent
benchmark (build/bench/bench_w*) and its PyTorch twin
(bench/torch/workloads.py) run one after the other, `reps` times; each
framework's figure is then its best thread setting (lower median ms/step;
the median over reps of the per-run medians); each line also shows the
median CPU time per step (all threads; a one-thread run's CPU time leaves
out the time spent waiting for a core). libdisent threads = OpenBLAS
threads (its only threading; OPENBLAS_NUM_THREADS and the argument agree).
PyTorch: torch.set_num_threads(k) (OpenMP, libgomp) with OMP_NUM_THREADS=k
and OPENBLAS_NUM_THREADS=k (Debian's torch calls the pthreads OpenBLAS for
gemm), OMP_WAIT_POLICY as given (default PASSIVE: on a shared 2-core
machine spinning workers steal the core the other thread needs).
The latency row runs one thread for both.
Peak: bench/fma_peak (best of 5 runs of an AVX-512 FMA loop); the fraction of
peak divides by threads x the one-thread peak (a per-core capacity; the
two-thread loop on a loaded machine measures the load as well).
"""
import argparse
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TARGETS = {"W1": 1.5, "W2": 2.0, "W3": 1.5, "W4": 5.0, "LAT": None}
LIB_BIN = {"W1": "bench_w1", "W2": "bench_w2", "W3": "bench_w3", "W4": "bench_w4", "LAT": "bench_wlat"}


def run(cmd, env_extra):
    env = dict(os.environ)
    env.update(env_extra)
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        sys.stderr.write(p.stdout + p.stderr)
        raise SystemExit(f"failed: {' '.join(cmd)}")
    for line in p.stdout.splitlines():
        if line.startswith("RESULT "):
            f = line.split()
            return {"med": float(f[2]), "min": float(f[3]), "max_or_p99": float(f[4]), "gflop": float(f[5]),
                    "allocs": int(f[6]), "cpu": float(f[7]) if len(f) > 7 else float("nan"), "text": p.stdout}
    raise SystemExit(f"no RESULT line from {' '.join(cmd)}:\n{p.stdout}")


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--reps", type=int, default=1)
    ap.add_argument("--only", default="W1,W2,W3,W4,LAT")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--omp-wait", default="PASSIVE")
    ap.add_argument("--lat-runs", type=int, default=2000)
    a = ap.parse_args()
    bdir = os.path.join(ROOT, a.build, "bench") if not os.path.isabs(a.build) else os.path.join(a.build, "bench")
    threads = [int(t) for t in a.threads.split(",")]
    work = [w for w in a.only.split(",") if w]
    py = "/usr/bin/python3"
    torch_script = os.path.join(HERE, "torch", "workloads.py")

    print(f"load average before: {loadavg()}")
    peak_out = subprocess.run([os.path.join(bdir, "fma_peak")], stdout=subprocess.PIPE, text=True, check=True).stdout
    peaks = {}
    for line in peak_out.splitlines():
        if line.startswith("PEAK "):
            _, t, g = line.split()
            peaks[int(t)] = float(g)
        else:
            print(line)
    core_peak = peaks.get(1, 0.0)

    rows = []
    for w in work:
        res = {"lib": {}, "torch": {}}
        tlist = [1] if w == "LAT" else threads
        for rep in range(a.reps):
            for t in tlist:
                env = {"OPENBLAS_NUM_THREADS": str(t), "OMP_NUM_THREADS": str(t), "OMP_WAIT_POLICY": a.omp_wait}
                if w == "LAT":
                    lcmd = [os.path.join(bdir, LIB_BIN[w]), str(a.lat_runs)]
                    tcmd = [py, torch_script, w, "--steps", str(a.lat_runs), "--threads", "1"]
                else:
                    lcmd = [os.path.join(bdir, LIB_BIN[w]), str(a.steps), str(t)]
                    tcmd = [py, torch_script, w, "--steps", str(a.steps), "--threads", str(t)]
                r = run(lcmd, env)
                res["lib"].setdefault(t, []).append(r)
                print(f"[{w} rep {rep} threads {t}] libdisent median {r['med']:.3f} ms, CPU {r['cpu']:.3f} ms "
                      f"(load {loadavg()})", flush=True)
                r = run(tcmd, env)
                res["torch"].setdefault(t, []).append(r)
                print(f"[{w} rep {rep} threads {t}] pytorch   median {r['med']:.3f} ms, CPU {r['cpu']:.3f} ms "
                      f"(load {loadavg()})", flush=True)
        best = {}
        for fw in ("lib", "torch"):
            cands = []
            for t, rs in res[fw].items():
                cands.append((statistics.median(r["med"] for r in rs), t, rs))
            cands.sort(key=lambda c: c[0])
            best[fw] = cands[0]
        rows.append((w, best))

    print(f"\nload average after: {loadavg()}")
    print(f"FMA peak (bench/fma_peak): 1 thread {peaks.get(1, 0):.1f} GFLOP/s, 2 threads {peaks.get(2, 0):.1f} GFLOP/s; "
          f"fraction of peak = GFLOP/s / (threads x {core_peak:.1f})\n")
    hdr = ("| workload | libdisent ms/step (thr) | PyTorch ms/step (thr) | ratio PT/lib | target | "
           "lib GFLOP/s | PT GFLOP/s | lib % peak | PT % peak |")
    print(hdr)
    print("|" + "|".join("---" for _ in range(hdr.count("|") - 1)) + "|")
    for w, best in rows:
        lm, lt, lrs = best["lib"]
        tm, tt, trs = best["torch"]
        ratio = tm / lm
        tgt = TARGETS[w]
        if w == "LAT":
            lp99 = statistics.median(r["max_or_p99"] for r in lrs)
            tp99 = statistics.median(r["max_or_p99"] for r in trs)
            allocs = max(r["allocs"] for r in lrs)
            ok = lm <= 0.3 and allocs == 0
            print(f"| LAT (median / p99 ms) | {lm:.3f} / {lp99:.3f} (1) | {tm:.3f} / {tp99:.3f} (1) | {ratio:.2f} | "
                  f"<= 0.3 ms, 0 allocs: {'met' if ok else 'not met'} ({allocs} allocs) | - | - | - | - |")
            continue
        g = lrs[0]["gflop"]
        lg, tg = g / (lm * 1e-3), g / (tm * 1e-3)
        met = "met" if ratio >= tgt else "not met"
        print(f"| {w} | {lm:.1f} ({lt}) | {tm:.1f} ({tt}) | {ratio:.2f} | >= {tgt} {met} | {lg:.1f} | {tg:.1f} | "
              f"{100 * lg / (lt * core_peak):.0f} % | {100 * tg / (tt * core_peak):.0f} % |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
