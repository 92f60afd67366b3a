#!/usr/bin/python3
"""Build the image development sets with known style factors (docs/mlvae.md).

    /usr/bin/python3 scripts/make-image-sets.py [--out data/imagesets] [--mnist data/mnist]
                                                [--train 20000] [--test 5000] [--seed 1] [--sets a,b,c]

Every set is 28x28 grey images in [0, 1], grouped by class, with the values
of the nuisance (style) factors that drew each image as ground truth:

  mnist-styled  MNIST digits (class = digit) redrawn under controlled
                rotation (-40..40 degrees), stroke thickness (dilation radius
                0..3 at twice the resolution), scale (0.7..1.1) and shift
                (-3..3 pixels in x and y). Needs MNIST (scripts/fetch-mnist.sh).
  shapes        5 shapes (circle, square, triangle, plus, star; class = shape)
                at random position (-6..6 px), size (radius 5..10 px),
                rotation (0..360 degrees) and fill (solid or outline).
  glyphs        10 letters (A B D E G H K M R S; class = letter) in 6 DejaVu
                faces (sans, serif, mono; book and bold) under rotation
                (-30..30), scale (0.7..1.05) and shift (-3..3 px).

Files per set in OUT/NAME/: train_x.npy, test_x.npy (float32 [n, 784]),
train_labels.npy, test_labels.npy (int32 [n]), train_factors.npy,
test_factors.npy (float32 [n, F]) and factors.txt (the factor names, one a
line, with "continuous" or "discrete"). Reproducible from --seed: the same
seed gives the same bytes. Needs python3-numpy, python3-scipy, python3-pil,
fonts-dejavu-core (scripts/setup-deps.sh).
"""

import argparse
import os
import struct
import sys

import numpy as np

FONT_DIR = "/usr/share/fonts/truetype/dejavu"
FACES = ["DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf",
         "DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf"]
LETTERS = "ABDEGHKMRS"


def read_idx(path):
    with open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    nd = magic & 0xFF
    dims = struct.unpack(">" + "I" * nd, data[4:4 + 4 * nd])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * nd).reshape(dims)


def affine(img, angle_deg, scale, dx, dy, order=1):
    """Rotate by angle, scale about the centre, then shift (pixels of img)."""
    from scipy import ndimage
    h, w = img.shape
    a = np.deg2rad(angle_deg)
    # output -> input map: x_in = R^-1 (x_out - c - d) / s + c
    rot = np.array([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]]) / scale
    c = np.array([(h - 1) / 2.0, (w - 1) / 2.0])
    d = np.array([dy, dx])
    offset = c - rot @ (c + d)
    return ndimage.affine_transform(img, rot, offset=offset, order=order, mode="constant", cval=0.0)


def downsample(img, f):
    h, w = img.shape
    return img.reshape(h // f, f, w // f, f).mean(axis=(1, 3))


def disk(r):
    y, x = np.mgrid[-r:r + 1, -r:r + 1]
    return (x * x + y * y) <= r * r + 0.5


def mnist_styled(rng, images, labels, n):
    from scipy import ndimage
    idx = rng.choice(len(images), size=n, replace=False)
    x = np.zeros((n, 784), np.float32)
    f = np.zeros((n, 5), np.float32)
    for t, i in enumerate(idx):
        rot = rng.uniform(-40, 40)
        thick = int(rng.integers(0, 4))
        scale = rng.uniform(0.7, 1.1)
        dx, dy = rng.uniform(-3, 3), rng.uniform(-3, 3)
        big = ndimage.zoom(images[i].astype(np.float32) / 255.0, 2, order=1)
        if thick:
            big = ndimage.grey_dilation(big, footprint=disk(thick))
        out = downsample(affine(big, rot, scale, 2 * dx, 2 * dy), 2)
        x[t] = np.clip(out, 0, 1).reshape(-1)
        f[t] = (rot, thick, scale, dx, dy)
    return x, labels[idx].astype(np.int32), f, [("rotation", "continuous"), ("thickness", "discrete"),
                                                 ("scale", "continuous"), ("shift_x", "continuous"),
                                                 ("shift_y", "continuous")]


def shape_polygon(k, r, rot, cx, cy):
    """Vertices of shape k (0 circle, 1 square, 2 triangle, 3 plus, 4 star)."""
    a0 = np.deg2rad(rot)
    if k == 0:
        ang = np.linspace(0, 2 * np.pi, 48, endpoint=False)
        rad = np.full_like(ang, r)
    elif k == 1:
        ang = a0 + np.pi / 4 + np.arange(4) * np.pi / 2
        rad = np.full(4, r)
    elif k == 2:
        ang = a0 - np.pi / 2 + np.arange(3) * 2 * np.pi / 3
        rad = np.full(3, r * 1.1)
    elif k == 3:
        w = 0.36 * r
        pts = [(w, r), (w, w), (r, w), (r, -w), (w, -w), (w, -r), (-w, -r), (-w, -w), (-r, -w), (-r, w), (-w, w),
               (-w, r)]
        pts = np.array(pts)
        c, s = np.cos(a0), np.sin(a0)
        pts = pts @ np.array([[c, s], [-s, c]])
        return [(cx + p[0], cy + p[1]) for p in pts]
    else:
        ang = a0 - np.pi / 2 + np.arange(10) * np.pi / 5
        rad = np.where(np.arange(10) % 2 == 0, r * 1.1, r * 0.45)
    return [(cx + rr * np.cos(t), cy + rr * np.sin(t)) for rr, t in zip(rad, ang)]


def shapes(rng, n):
    from PIL import Image, ImageDraw
    S = 4  # supersampling
    x = np.zeros((n, 784), np.float32)
    y = np.zeros(n, np.int32)
    f = np.zeros((n, 5), np.float32)
    for t in range(n):
        k = int(rng.integers(0, 5))
        r = rng.uniform(5, 10)
        rot = rng.uniform(0, 360)
        px, py = rng.uniform(-6, 6), rng.uniform(-6, 6)
        fill = int(rng.integers(0, 2))
        img = Image.new("L", (28 * S, 28 * S), 0)
        d = ImageDraw.Draw(img)
        poly = shape_polygon(k, r * S, rot, (13.5 + px) * S, (13.5 + py) * S)
        if fill:
            d.polygon(poly, fill=255)
        else:
            d.line(poly + [poly[0]], fill=255, width=int(2.2 * S), joint="curve")
        x[t] = np.asarray(img.resize((28, 28), Image.BOX), np.float32).reshape(-1) / 255.0
        y[t] = k
        f[t] = (px, py, r, rot, fill)
    return x, y, f, [("position_x", "continuous"), ("position_y", "continuous"), ("size", "continuous"),
                     ("rotation", "continuous"), ("fill", "discrete")]


def glyphs(rng, n):
    from PIL import Image, ImageDraw, ImageFont
    S = 2
    fonts = [ImageFont.truetype(os.path.join(FONT_DIR, name), 20 * S) for name in FACES]
    x = np.zeros((n, 784), np.float32)
    y = np.zeros(n, np.int32)
    f = np.zeros((n, 5), np.float32)
    for t in range(n):
        k = int(rng.integers(0, len(LETTERS)))
        face = int(rng.integers(0, len(FACES)))
        rot = rng.uniform(-30, 30)
        scale = rng.uniform(0.7, 1.05)
        dx, dy = rng.uniform(-3, 3), rng.uniform(-3, 3)
        img = Image.new("L", (28 * S, 28 * S), 0)
        d = ImageDraw.Draw(img)
        d.text((14 * S, 14 * S), LETTERS[k], fill=255, font=fonts[face], anchor="mm")
        a = np.asarray(img, np.float32) / 255.0
        a = affine(a, rot, scale, dx * S, dy * S)
        x[t] = np.clip(downsample(a, S), 0, 1).reshape(-1)
        y[t] = k
        f[t] = (face, rot, scale, dx, dy)
    return x, y, f, [("face", "discrete"), ("rotation", "continuous"), ("scale", "continuous"),
                     ("shift_x", "continuous"), ("shift_y", "continuous")]


def save(out, name, split, x, y, f):
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    np.save(os.path.join(d, split + "_x.npy"), x.astype(np.float32))
    np.save(os.path.join(d, split + "_labels.npy"), y.astype(np.int32))
    np.save(os.path.join(d, split + "_factors.npy"), f.astype(np.float32))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="data/imagesets")
    ap.add_argument("--mnist", default="data/mnist")
    ap.add_argument("--train", type=int, default=20000)
    ap.add_argument("--test", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--sets", default="mnist-styled,shapes,glyphs")
    a = ap.parse_args()
    for si, name in enumerate(a.sets.split(",")):
        rng = np.random.default_rng([a.seed, si])
        if name == "mnist-styled":
            tri = read_idx(os.path.join(a.mnist, "train-images-idx3-ubyte"))
            trl = read_idx(os.path.join(a.mnist, "train-labels-idx1-ubyte"))
            tei = read_idx(os.path.join(a.mnist, "t10k-images-idx3-ubyte"))
            tel = read_idx(os.path.join(a.mnist, "t10k-labels-idx1-ubyte"))
            parts = [("train", mnist_styled(rng, tri, trl, a.train)), ("test", mnist_styled(rng, tei, tel, a.test))]
        elif name == "shapes":
            parts = [("train", shapes(rng, a.train)), ("test", shapes(rng, a.test))]
        elif name == "glyphs":
            parts = [("train", glyphs(rng, a.train)), ("test", glyphs(rng, a.test))]
        else:
            sys.exit("make-image-sets: unknown set '%s' (mnist-styled, shapes, glyphs)" % name)
        for split, (x, y, f, names) in parts:
            save(a.out, name, split, x, y, f)
        with open(os.path.join(a.out, name, "factors.txt"), "w") as fh:
            for fname, kind in names:
                fh.write("%s %s\n" % (fname, kind))
        print("make-image-sets: %s/%s: %d train + %d test images, %d classes, factors %s" % (
            a.out, name, len(parts[0][1][0]), len(parts[1][1][0]), len(np.unique(parts[0][1][1])),
            ", ".join(n for n, _ in names)))


if __name__ == "__main__":
    main()
