#!/usr/bin/env python3
"""Train an ML-VAE from numpy arrays and plot a content/style swap grid.

Groups are the digit labels, so the group-level "content" part learns the
digit and the per-image "style" part the handwriting. Cell (r, c) of the grid
decodes the content of column image c with the style of row image r.

    python3 examples/python/mlvae_swap_grid.py --out swap_grid.png

Uses MNIST from data/mnist (via the library's loader) when it is there,
otherwise a synthetic set of shifted, thickened prototypes. Needs numpy and
matplotlib; shows a tqdm progress bar when tqdm is installed.
"""
import argparse
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))  # use the package in place if not installed

import disent  # noqa: E402


def mnist_arrays(folder, n):
    """The first n training images and labels through the library's MNIST loader."""
    with disent.Dataset.from_mnist(folder) as ds:
        x, labels = ds.arrays(range(min(n, len(ds))))
    return x.reshape(len(x), -1), labels


def synthetic_arrays(n, seed=0):
    """10 random 28x28 prototypes ('content'), each drawn shifted and with a
    random stroke intensity ('style')."""
    rng = np.random.default_rng(seed)
    protos = np.zeros((10, 28, 28), np.float32)
    for k in range(10):
        for _ in range(6):
            r, c = rng.integers(6, 22, 2)
            protos[k, r - 2:r + 2, c - 5:c + 5] = 1
            protos[k, r - 5:r + 5, c - 1:c + 1] = 1
    labels = rng.integers(0, 10, n).astype(np.int32)
    shift = rng.integers(-4, 5, n)
    level = rng.uniform(0.4, 1.0, n).astype(np.float32)
    x = np.stack([np.roll(protos[l], s, axis=1) * v for l, s, v in zip(labels, shift, level)])
    return x.reshape(n, -1), labels


def swap_grid(model, rows, cols):
    """Decoded images [R, C, 784]: content of cols[c] with style of rows[r]."""
    R, C = len(rows), len(cols)
    with model.encode(rows) as er, model.encode(cols) as ec:
        style, content = er["style"], ec["content"]  # one group per image: (R, ds), (C, dc)
    with model.encoding(R * C) as grid:
        grid.prepare(R * C)  # each cell its own group
        grid["content"] = np.tile(content, (R, 1))
        grid["style"] = np.repeat(style, C, axis=0)
        return model.decode(grid).reshape(R, C, -1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=os.path.join(ROOT, "data", "mnist"))
    ap.add_argument("--n", type=int, default=20000, help="training images")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--steps", type=int, default=150, help="steps per epoch")
    ap.add_argument("--size", type=int, default=8, help="grid rows/columns")
    ap.add_argument("--out", default="mlvae_swap_grid.png")
    ap.add_argument("--model-out", default=None, help="also save the trained model here")
    args = ap.parse_args()

    if os.path.exists(os.path.join(args.data, "train-images-idx3-ubyte")):
        x, labels = mnist_arrays(args.data, args.n)
        source = "MNIST (%s)" % args.data
    else:
        x, labels = synthetic_arrays(args.n)
        source = "synthetic prototypes"
    print("libdisent %s from %s" % (disent.version(), disent.LIBRARY_PATH))
    print("data: %s, %d images of %d pixels" % (source, len(x), x.shape[1]))

    model = disent.Model("ml-vae", input_dim=x.shape[1], hidden=[500], style_dim=10, content_dim=10, seed=1)
    opt = disent.Optimizer(model, "adam", lr=1e-3)
    train = disent.Dataset(x, labels=labels)  # labels = groups: same digit, same content
    print(model)
    t0 = time.time()
    history = disent.fit(model, opt, train, epochs=args.epochs, steps_per_epoch=args.steps,
                         batch_groups=16, group_size=16, progress=None,
                         callback=lambda p: p.epoch_end and print(
                             "epoch %d  step %d  train_loss %.2f" % (p.epoch, p.step, p.terms["train_loss"])))
    print("trained %d steps in %.1f s" % (opt.steps, time.time() - t0))
    if args.model_out:
        model.save(args.model_out, opt)

    rng = np.random.default_rng(3)
    pick = rng.choice(len(x), 2 * args.size, replace=False)
    rows, cols = x[pick[:args.size]], x[pick[args.size:]]
    grid = swap_grid(model, rows, cols)

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = args.size
    side = int(round(np.sqrt(x.shape[1])))
    fig, ax = plt.subplots(n + 1, n + 1, figsize=(1.1 * (n + 1), 1.1 * (n + 1)))
    for a in ax.ravel():
        a.set_xticks([])
        a.set_yticks([])
    ax[0, 0].text(0.5, 0.5, "style \u2193\ncontent \u2192", ha="center", va="center", fontsize=7)
    ax[0, 0].axis("off")
    for c in range(n):
        ax[0, c + 1].imshow(cols[c].reshape(side, side), cmap="gray", vmin=0, vmax=1)
    for r in range(n):
        ax[r + 1, 0].imshow(rows[r].reshape(side, side), cmap="gray", vmin=0, vmax=1)
        for c in range(n):
            ax[r + 1, c + 1].imshow(grid[r, c].reshape(side, side), cmap="gray", vmin=0, vmax=1)
    fig.suptitle("ML-VAE swap grid (%s, %d steps, final loss %.1f)" % (source.split(" ")[0], opt.steps,
                                                                       history[-1]["train_loss"]), fontsize=9)
    fig.tight_layout()
    fig.savefig(args.out, dpi=100)
    print("wrote", args.out)
    for obj in (opt, train, model):
        obj.close()


if __name__ == "__main__":
    main()
