#!/usr/bin/python3
"""PyTorch twins of the issue #9 reference workloads (bench/bench_w*.c).

    /usr/bin/python3 bench/torch/workloads.py W1|W2|W3|W4|LAT [--steps N] [--threads K]

Same architectures, shapes, data sizes, loss terms and optimizer (Adam) as
the libdisent benchmarks; same FLOP count (the formulas are shared with
bench/bench_w.h: matrix products only, 2 flops per multiply-add, 3x forward
for layers with trainable weights, 1x for frozen ones). Prints a
human-readable line and

    RESULT <name> <median ms> <min ms> <max ms> <GFLOP per step> 0

(the latency line: RESULT LAT <median ms> <min ms> <p99 ms> 0 0).
Needs Debian's python3-torch; never a dependency of the library or tests.
"""
import argparse
import math
import os
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as Fn

LV_MIN, LV_MAX = -30.0, 20.0


def clamp_lv(lv):
    return lv.clamp(LV_MIN, LV_MAX)


def kl_std(mu, lv):
    return 0.5 * (mu * mu + lv.exp() - 1.0 - lv)


def kl_gauss(mq, lq, mp, lp):
    return 0.5 * (lp - lq + (lq.exp() + (mq - mp) ** 2) / lp.exp() - 1.0)


def sample(mu, lv):
    return mu + (0.5 * lv).exp() * torch.randn_like(mu)


# ---------------------------------------------------------------- W1 ML-VAE
class MLVAE(nn.Module):
    def __init__(self, D=784, H=500, S=10, C=10):
        super().__init__()
        self.enc = nn.Sequential(nn.Linear(D, H), nn.ReLU(), nn.Linear(H, H), nn.ReLU())
        self.style = nn.Linear(H, 2 * S)
        self.content = nn.Linear(H, 2 * C)
        self.dec = nn.Sequential(nn.Linear(C + S, H), nn.ReLU(), nn.Linear(H, H), nn.ReLU(), nn.Linear(H, D))
        self.S, self.C = S, C

    def loss(self, x, group, G):
        h = self.enc(x)
        ms, ls = self.style(h).split(self.S, dim=1)
        mc, lc = self.content(h).split(self.C, dim=1)
        ls, lc = clamp_lv(ls), clamp_lv(lc)
        # product of Gaussians per group: precisions add, means precision-weighted
        prec = (-lc).exp()
        idx = group.unsqueeze(1).expand(-1, self.C)
        psum = torch.zeros(G, self.C).scatter_add_(0, idx, prec)
        msum = torch.zeros(G, self.C).scatter_add_(0, idx, prec * mc)
        lg = -psum.log()
        mg = msum / psum
        cg = sample(mg, lg)
        ci = cg.index_select(0, group)
        si = sample(ms, ls)
        y = self.dec(torch.cat([ci, si], dim=1))
        rec = Fn.binary_cross_entropy_with_logits(y, x, reduction="sum")
        return (rec + kl_std(ms, ls).sum() + kl_std(mg, lg).sum()) / G


def w1_flops():
    per = 784 * 500 + 500 * 500 + 500 * 20 + 500 * 20 + 20 * 500 + 500 * 500 + 500 * 784
    return 3.0 * 2.0 * per * 256 * 1e-9


def make_w1():
    torch.manual_seed(1)
    m = MLVAE()
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    x = torch.rand(256, 784)
    group = torch.arange(256) // 16
    return m, opt, (lambda: m.loss(x, group, 16)), w1_flops()


# ---------------------------------------------------------------- W2 DSAE
class DSAE(nn.Module):
    """The libdisent "dsae" configuration of bench_w2.c: the global bi-LSTM reads the mel frames (80->256)."""

    def __init__(self, F=80, H=256, DV=16, DZ=16):
        super().__init__()
        self.glstm = nn.LSTM(F, H, batch_first=True, bidirectional=True)
        self.vhead = nn.Linear(H, 2 * DV)
        self.lfeat = nn.Sequential(nn.Linear(F, H), nn.Tanh())
        self.zhead = nn.Linear(H, 2 * DZ)
        self.prior = nn.LSTM(DZ, H, batch_first=True)
        self.phead = nn.Linear(H, 2 * DZ)
        self.dec = nn.Sequential(nn.Linear(DZ + DV, H), nn.Tanh(), nn.Linear(H, H), nn.Tanh(), nn.Linear(H, F))
        self.H, self.DV, self.DZ = H, DV, DZ

    def loss(self, x):
        B, T, _ = x.shape
        H, DV, DZ = self.H, self.DV, self.DZ
        y2, _ = self.glstm(x)
        h = 0.5 * (y2[..., :H] + y2[..., H:])
        mv, lv = self.vhead(h.mean(1)).split(DV, dim=1)
        lv = clamp_lv(lv)
        v = sample(mv, lv)
        mz, lz = self.zhead(self.lfeat(x)).split(DZ, dim=2)
        lz = clamp_lv(lz)
        z = sample(mz, lz)
        hp, _ = self.prior(z[:, : T - 1])
        pr = self.phead(hp)
        pr = torch.cat([torch.zeros(B, 1, 2 * DZ), pr], dim=1)
        mp, lp = pr.split(DZ, dim=2)
        lp = clamp_lv(lp)
        y = self.dec(torch.cat([z, v.unsqueeze(1).expand(B, T, DV)], dim=2))
        rec = ((y - x) ** 2).mean() / (2 * 0.5)
        return rec + kl_std(mv, lv).mean() + kl_gauss(mz, lz, mp, lp).mean()


def w2_flops():
    B, T, F, H, DZ, DV = 128, 128, 80, 256, 16, 16
    m = 2.0 * 4 * H * (F + H) + F * H + H * 2 * DZ
    m += (T - 1) / T * (4.0 * H * (DZ + H) + H * 2 * DZ)
    m += (DZ + DV) * H + H * H + H * F + H * 2 * DV / T
    return 3.0 * 2.0 * m * B * T * 1e-9


def make_w2():
    torch.manual_seed(2)
    m = DSAE()
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    x = torch.rand(128, 128, 80) * 2 - 1
    return m, opt, (lambda: m.loss(x)), w2_flops()


# ---------------------------------------------------------------- W3 VQ-VAE
class Res(nn.Module):
    def __init__(self, h, r):
        super().__init__()
        self.c1 = nn.Conv2d(h, r, 3, padding=1)
        self.c2 = nn.Conv2d(r, h, 1)

    def forward(self, x):
        return x + self.c2(Fn.relu(self.c1(Fn.relu(x))))


class VQVAE(nn.Module):
    def __init__(self, C=3, h=128, r=32, D=64, K=512, beta=0.25):
        super().__init__()
        self.enc = nn.Sequential(nn.Conv2d(C, h, 4, 2, 1), nn.ReLU(), nn.Conv2d(h, h, 4, 2, 1), Res(h, r), Res(h, r),
                                 nn.ReLU(), nn.Conv2d(h, D, 1))
        self.codes = nn.Parameter(torch.empty(K, D).uniform_(-1.0 / K, 1.0 / K))
        self.dec = nn.Sequential(nn.Conv2d(D, h, 3, padding=1), Res(h, r), Res(h, r), nn.ReLU(),
                                 nn.ConvTranspose2d(h, h, 4, 2, 1), nn.ReLU(), nn.ConvTranspose2d(h, C, 4, 2, 1))
        self.beta, self.D = beta, D

    def loss(self, x):
        ze = self.enc(x)
        N, D, Hh, Ww = ze.shape
        flat = ze.permute(0, 2, 3, 1).reshape(-1, D)
        with torch.no_grad():
            d = (flat * flat).sum(1, keepdim=True) - 2 * flat @ self.codes.t() + (self.codes ** 2).sum(1)
            k = d.argmin(1)
        e = self.codes.index_select(0, k)
        cb = ((flat.detach() - e) ** 2).mean()
        commit = ((flat - e.detach()) ** 2).mean()
        q = flat + (e - flat).detach()
        q = q.reshape(N, Hh, Ww, D).permute(0, 3, 1, 2)
        y = self.dec(q)
        return ((y - x) ** 2).mean() + cb + self.beta * commit


def w3_flops():
    m = 16.0 * 16 * 128 * 3 * 16 + 8.0 * 8 * 128 * 128 * 16 + 2 * 2 * (64.0 * 32 * 128 * 9 + 64.0 * 128 * 32)
    m += 64.0 * 64 * 128 + 64.0 * 128 * 64 * 9 + 8.0 * 8 * 128 * 128 * 16 + 16.0 * 16 * 128 * 3 * 16
    return (3.0 * 2.0 * m + 2.0 * 64.0 * 512 * 64) * 32 * 1e-9


def make_w3():
    torch.manual_seed(3)
    m = VQVAE()
    opt = torch.optim.Adam(m.parameters(), lr=3e-4)
    x = torch.rand(32, 3, 32, 32)
    return m, opt, (lambda: m.loss(x)), w3_flops()


# ---------------------------------------------------------------- W4 TS-DSAE
class GEnc(nn.Module):
    def __init__(self, F, H, DV):
        super().__init__()
        self.feat = nn.Sequential(nn.Linear(F, H), nn.Tanh(), nn.Linear(H, H), nn.Tanh())
        self.head = nn.Linear(H, 2 * DV)
        self.DV = DV

    def forward(self, x, mask):
        f = self.feat(x)
        h = (f * mask.unsqueeze(2)).sum(1) / mask.sum(1, keepdim=True)
        mu, lv = self.head(h).split(self.DV, dim=1)
        return mu, clamp_lv(lv)


class TSDSAE(nn.Module):
    """ts-dsae defaults, full stage (informed prior + the four swap KLs)."""

    def __init__(self, F=80, H=64, DV=16, DZ=16, PH=32):
        super().__init__()
        self.genc = GEnc(F, H, DV)
        self.snap = GEnc(F, H, DV)
        self.snap.load_state_dict(self.genc.state_dict())
        for p in self.snap.parameters():
            p.requires_grad_(False)
        self.lfeat = nn.Sequential(nn.Linear(F, H), nn.Tanh(), nn.Linear(H, H), nn.Tanh())
        self.zhead = nn.Linear(H, 2 * DZ)
        self.prior = nn.LSTM(DZ, PH, num_layers=2, batch_first=True)
        self.phead = nn.Linear(PH, 2 * DZ)
        self.dec = nn.Sequential(nn.Linear(DZ + DV, H), nn.Tanh(), nn.Linear(H, H), nn.Tanh(), nn.Linear(H, F))
        self.DV, self.DZ = DV, DZ

    def local(self, x):
        mu, lv = self.zhead(self.lfeat(x)).split(self.DZ, dim=2)
        return mu, clamp_lv(lv)

    def decode(self, z, v):
        B, T, _ = z.shape
        return self.dec(torch.cat([z, v.unsqueeze(1).expand(B, T, self.DV)], dim=2))

    def loss(self, x, mask):
        B, T, _ = x.shape
        DZ = self.DZ
        mv, lv = self.genc(x, mask)
        v = sample(mv, lv)
        mz, lz = self.local(x)
        z = sample(mz, lz)
        hp, _ = self.prior(z[:, : T - 1])
        pr = torch.cat([torch.zeros(B, 1, 2 * DZ), self.phead(hp)], dim=1)
        mp, lp = pr.split(DZ, dim=2)
        lp = clamp_lv(lp)
        y = self.decode(z, v)
        m3 = mask.unsqueeze(2)
        nm = mask.sum()
        rec = (((y - x) ** 2) * m3).sum() / (nm * 80) / (2 * 0.5)
        with torch.no_grad():
            m1, l1 = self.snap(x, mask)
        kl_v = kl_gauss(mv, lv, m1, l1).mean()
        kl_z = (kl_gauss(mz, lz, mp, lp) * m3).sum() / (nm * DZ)
        # swap terms: x_g = dec(z_i, v_j), x_l = dec(z_j, v_i), re-encoded as one doubled batch
        partner = (torch.arange(B) + 1 + torch.randint(0, B - 1, (B,))) % B
        z2 = torch.cat([z, z.index_select(0, partner)], 0)
        v2 = torch.cat([v.index_select(0, partner), v], 0)
        x2 = self.decode(z2, v2)
        mask2 = torch.cat([mask, mask.index_select(0, partner)], 0)
        mv2, lv2 = self.genc(x2, mask2)
        mz2, lz2 = self.local(x2)
        mzp, lzp = mz.index_select(0, partner), lz.index_select(0, partner)
        m3p = mask2[B:].unsqueeze(2)
        vg = kl_gauss(mv2[:B], lv2[:B], mv.index_select(0, partner), lv.index_select(0, partner)).mean()
        zg = (kl_gauss(mz2[:B], lz2[:B], mz, lz) * m3).sum() / (nm * DZ)
        vl = kl_gauss(mv2[B:], lv2[B:], mv, lv).mean()
        zl = (kl_gauss(mz2[B:], lz2[B:], mzp, lzp) * m3p).sum() / (m3p.sum() * DZ)
        return rec + kl_v + kl_z + vg + zg + vl + zl


def mlp64():
    return 80.0 * 64 + 64.0 * 64


def w4_flops():
    B, T, DZ, DV, PH = 128, 250, 16, 16, 32
    dec = (DZ + DV) * 64.0 + 64 * 64 + 64 * 80
    zh = 64.0 * 2 * DZ
    prior = (T - 1) / T * (4.0 * PH * (DZ + PH) + 4.0 * PH * (PH + PH) + PH * 2 * DZ)
    main = mlp64() + mlp64() + zh + prior + dec
    swap = 2.0 * (dec + mlp64() + mlp64() + zh)
    vhead = 64.0 * 2 * DV / T * 3
    frozen = mlp64() + 64.0 * 2 * DV / T
    return (3.0 * 2.0 * (main + swap + vhead) + 2.0 * frozen) * B * T * 1e-9


def make_w4():
    torch.manual_seed(4)
    m = TSDSAE()
    opt = torch.optim.Adam([p for p in m.parameters() if p.requires_grad], lr=1e-3)
    x = torch.rand(128, 250, 80) * 2 - 1
    mask = torch.ones(128, 250)
    return m, opt, (lambda: m.loss(x, mask)), w4_flops()


MAKERS = {"W1": make_w1, "W2": make_w2, "W3": make_w3, "W4": make_w4}


def train_bench(name, steps):
    m, opt, loss_fn, gflop = MAKERS[name]()

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn()
        loss.backward()
        opt.step()
        return loss

    few = os.environ.get("BENCH_FEW_STEPS", "0") not in ("", "0")  # as bench_w.h: 1 warm-up
    for _ in range(1 if few else 3):
        step()
    ms, cpu = [], []
    for _ in range(steps):
        t0, c0 = time.perf_counter(), time.process_time()
        loss = step()
        ms.append(1e3 * (time.perf_counter() - t0))
        cpu.append(1e3 * (time.process_time() - c0))
    med = statistics.median(ms)
    cmed = statistics.median(cpu)
    print(f"{name} torch {torch.__version__}, {torch.get_num_threads()} thread(s): median {med:.2f} ms "
          f"min {min(ms):.2f} max {max(ms):.2f} ms per step; {gflop:.3f} GFLOP/step, "
          f"{gflop / (med * 1e-3):.1f} GFLOP/s; loss {float(loss):.4g}; CPU time (all threads) median {cmed:.2f} ms")
    print(f"RESULT {name} {med:.4f} {min(ms):.4f} {max(ms):.4f} {gflop:.6f} 0 {cmed:.4f}", flush=True)


def latency_bench(runs):
    """encode A, encode B, swap v, decode: posterior means, no sampling, no autograd."""
    torch.manual_seed(5)
    m = TSDSAE().eval()
    xa = (torch.rand(1, 250, 80) * 2 - 1)
    xb = (torch.rand(1, 250, 80) * 2 - 1)
    mask = torch.ones(1, 250)

    def once():
        with torch.inference_mode():
            va, _ = m.genc(xa, mask)
            za, _ = m.local(xa)
            vb, _ = m.genc(xb, mask)
            zb, _ = m.local(xb)
            va, vb = vb, va  # the swap
            return m.decode(za, va)

    for _ in range(50):
        once()
    us = []
    for _ in range(runs):
        t0 = time.perf_counter()
        once()
        us.append(1e3 * (time.perf_counter() - t0))
    us.sort()
    med = statistics.median(us)
    p99 = us[int(0.99 * (runs - 1) + 0.5)]
    print(f"LAT torch {torch.__version__}, {torch.get_num_threads()} thread(s): median {med:.4f} ms p99 {p99:.4f} ms")
    print(f"RESULT LAT {med:.5f} {us[0]:.5f} {p99:.5f} 0 0", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("workload", choices=["W1", "W2", "W3", "W4", "LAT"])
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if a.workload == "LAT":
        latency_bench(max(a.steps, 1000))
    else:
        few = os.environ.get("BENCH_FEW_STEPS", "0") not in ("", "0")
        train_bench(a.workload, max(a.steps, 1 if few else 20))


if __name__ == "__main__":
    sys.exit(main())
