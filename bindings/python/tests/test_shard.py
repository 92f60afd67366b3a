"""Data-parallel shards: Dataset.shard / shard_size / total / mark_shard and
the file loaders that read only a shard's rows (from_npy_shard,
from_mnist_shard), against the shards cut from the whole set."""
import struct

import numpy as np
import pytest

import disent

N, D = 37, 6


@pytest.fixture
def files(tmp_path):
    x = (np.arange(N * D, dtype=np.float32) * 0.25 - 3.0).reshape(N, D)
    lab = (np.arange(N) * 7 % 5).astype(np.int32)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", lab)
    mn = tmp_path / "mnist"
    mn.mkdir()
    with open(mn / "train-images-idx3-ubyte", "wb") as f:
        f.write(struct.pack(">IIII", 0x803, N, 2, 3))
        f.write(bytes((i * 37) & 255 for i in range(N * D)))
    with open(mn / "train-labels-idx1-ubyte", "wb") as f:
        f.write(struct.pack(">II", 0x801, N))
        f.write(bytes(int(v) for v in lab))
    return tmp_path, x, lab


def same_rows(a, b):
    assert len(a) == len(b)
    xa, la = a.arrays()
    xb, lb = b.arrays()
    np.testing.assert_array_equal(xa, xb)
    np.testing.assert_array_equal(la, lb)


MODELS = [("ml-vae", dict(input_dim=6, hidden=4, style_dim=2, content_dim=2)),
          ("dsae", {"frames": 2, "n_mels": 3, "v_dim": 2, "z_dim": 2, "hidden": "4:4", "dec_hidden": 4,
                    "prior_hidden": 3})]
FIT = dict(batch_groups=4, group_size=2, batch_size=9)


@pytest.mark.parametrize("family,opts", MODELS)
@pytest.mark.parametrize("source", ["npy", "mnist"])
def test_shards_cover_the_set_and_match_the_file_readers(files, family, opts, source):
    d, x, lab = files
    whole = disent.Dataset.from_npy(d / "x.npy", d / "y.npy") if source == "npy" else \
        disent.Dataset.from_mnist(d / "mnist")
    m = disent.Model(family, **opts)
    assert whole.total == (N, 5)
    for P in (1, 2, 3):
        total = 0
        for r in range(P):
            a = whole.shard(r, P, model=m, fit_options=FIT)
            if source == "npy":
                b, v = disent.Dataset.from_npy_shard(d / "x.npy", d / "y.npy", rank=r, size=P, model=m,
                                                     fit_options=FIT)
            else:
                b, v = disent.Dataset.from_mnist_shard(d / "mnist", rank=r, size=P, model=m, **FIT)
            assert v is None
            same_rows(a, b)
            assert whole.shard_size(r, P, model=m, fit_options=FIT) == len(b)
            assert a.total == (N, 5) and b.total == (N, 5)
            assert b.shard_size(0, 1, model=m, fit_options=FIT) == 0  # a shard is not sharded again
            total += len(b)
        assert total == N
    with pytest.raises(disent.InvalidArgumentError):  # no shard 3 of 3
        disent.Dataset.from_npy_shard(d / "x.npy", d / "y.npy", rank=3, size=3, model=m, fit_options=FIT)
    with pytest.raises(disent.InvalidArgumentError):
        whole.shard(0, 2, model=m, fit_options=FIT).shard(0, 2, model=m, fit_options=FIT)
    # a validation split first: shards of split()'s training part, its validation part whole
    tr, va = whole.split(0.3, seed=11, stratified=True)
    for r in range(2):
        a = tr.shard(r, 2, model=m, fit_options=FIT)
        if source == "npy":
            c, cv = disent.Dataset.from_npy_shard(d / "x.npy", d / "y.npy", rank=r, size=2, model=m,
                                                  fit_options=FIT, valid_fraction=0.3, seed=11, stratified=True)
        else:
            c, cv = disent.Dataset.from_mnist_shard(d / "mnist", rank=r, size=2, model=m, fit_options=FIT,
                                                    valid_fraction=0.3, seed=11, stratified=True)
        same_rows(a, c)
        same_rows(va, cv)
        assert c.total[0] == tr.total[0] == len(tr)


def test_mark_shard(files):
    d, x, lab = files
    part = disent.Dataset(x[:10], labels=lab[:10])
    assert part.total == (10, len(set(lab[:10].tolist())))
    part.mark_shard(0, 2, N, 5, by_groups=False)
    assert part.total == (N, 5)
    with pytest.raises(disent.InvalidArgumentError):  # already marked
        part.mark_shard(0, 2, N, 5)
    other = disent.Dataset(x[:10])
    with pytest.raises(disent.InvalidArgumentError):  # shard 2 of 2 does not exist
        other.mark_shard(2, 2, N, 0)
    with pytest.raises(disent.InvalidArgumentError):  # fewer rows in the whole set than in the part
        other.mark_shard(0, 2, 5, 0)
