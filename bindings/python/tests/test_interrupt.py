"""Ctrl-C during disent.fit: a child process is sent SIGINT mid-fit; fit must
stop within a second, raise KeyboardInterrupt, and leave the model usable
with the weights of the last finished step (issue 18)."""
import os
import signal
import subprocess
import sys
import time

CHILD = r'''
import signal, sys, time
# a job a shell starts in the background (e.g. `.ci/run &`) inherits SIGINT
# ignored, and so would this child: give it Python's default Ctrl-C handler
signal.signal(signal.SIGINT, signal.default_int_handler)
import numpy as np
import disent
x = (np.random.RandomState(0).rand(2048, 64) > 0.5).astype(np.float32)
g = np.arange(2048) // 16
m = disent.Model("ml-vae", input_dim=64, hidden=[128, 128], style_dim=4, content_dim=4)
opt = disent.Optimizer(m, lr=1e-3)
seen = []
def cb(p):
    if not seen:
        seen.append(1)
        print("started", flush=True)
try:
    disent.fit(m, opt, disent.Dataset(x, labels=g), epochs=100000, log_every=1000, callback=cb, progress=False)
    print("finished", flush=True)
except KeyboardInterrupt:
    t = time.monotonic()
    steps = opt.steps
    w = m.encode(x[:16], g[:16])
    ok = np.isfinite(w["content"]).all() and np.isfinite(w["style"]).all()
    loss = m.train_step(opt, x[:32], g[:32])  # and it trains on
    print("interrupted %.6f %d %d %d" % (t, steps, ok, opt.steps == steps + 1 and np.isfinite(loss)), flush=True)
'''


def test_sigint_stops_fit_within_a_second():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.pathsep + \
        env.get("PYTHONPATH", "")
    p = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=env)
    try:
        assert p.stdout.readline().strip() == "started", p.stderr.read()
        time.sleep(0.3)  # mid-fit (epochs of 8 steps; the first report is the first epoch's end)
        t0 = time.monotonic()  # CLOCK_MONOTONIC: the same clock in both processes
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
    words = out.split()
    assert words and words[0] == "interrupted", (out, err)
    latency = float(words[1]) - t0
    steps, usable, trains = int(words[2]), int(words[3]), int(words[4])
    print("KeyboardInterrupt %.3f s after SIGINT, at step %d" % (latency, steps))
    assert latency < 1.0
    assert steps > 8 and usable and trains
    assert p.returncode == 0 and "Exception ignored" not in err, err
