"""ML-VAE end to end from numpy arrays: train a few steps, encode, swap,
decode, save, load, same encodings."""
import numpy as np

import disent
from conftest import grouped_data


def test_mlvae_end_to_end(tmp_path):
    rng = np.random.default_rng(0)
    x, groups = grouped_data(rng, n=256, group=8, d=32)
    model = disent.Model("ml-vae", input_dim=32, hidden=[32], style_dim=4, content_dim=4, seed=11)
    opt = disent.Optimizer(model, "adam", lr=3e-3)
    train = disent.Dataset(x, labels=groups)
    h = disent.fit(model, opt, train, epochs=4, steps_per_epoch=10, batch_groups=8, group_size=8, progress=False)
    assert len(h) == 4 and h[-1]["train_loss"] < h[0]["train_loss"]

    a = model.encode(x[:8], groups[:8])     # one group
    b = model.encode(x[8:16], groups[8:16])  # another group
    assert a.num_groups == 1 and a["content"].shape == (1, 4) and a["style"].shape == (8, 4)
    rec = model.decode(a)
    assert rec.shape == (8, 32)
    # reconstructions beat chance after a little training
    bce = -np.mean(x[:8] * np.log(rec + 1e-6) + (1 - x[:8]) * np.log(1 - rec + 1e-6))
    assert bce < np.log(2)

    style_a, content_b = a["style"], b["content"]
    model.swap(a, b, "content")
    np.testing.assert_array_equal(a["content"], content_b)
    np.testing.assert_array_equal(a["style"], style_a)
    swapped = model.decode(a)
    assert swapped.shape == (8, 32) and not np.array_equal(swapped, rec)

    path = tmp_path / "mlvae.dsn"
    model.save(path, opt)
    loaded = disent.Model.load(path)
    assert loaded.options == model.options
    for xs, gs in ((x[:8], groups[:8]), (x[100:140], groups[100:140]), (x[:5], None)):
        e1, e2 = model.encode(xs, gs), loaded.encode(xs, gs)
        for part in model.part_names:
            for field in ("value", "mean", "logvar"):
                np.testing.assert_array_equal(e1.get(part, field), e2.get(part, field))
        np.testing.assert_array_equal(model.decode(e1), loaded.decode(e2))
    o2 = disent.Optimizer.load(loaded, path)
    assert o2.steps == opt.steps == 40
    for obj in (o2, loaded, opt, model, train):
        obj.close()
