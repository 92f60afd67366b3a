"""Model.for_data: a model shaped for its training data as `disent train`
makes it: pictures give image = HxW (the convolutional encoder and the image
defaults) to a family that reads an image shape, unless the options choose
the network; an audio set gives frames and n_mels."""
import numpy as np
import pytest

import disent
from test_front_end import FE, make_set

SMALL = dict(hidden=16, style_dim=2, content_dim=2, seed=1)


def pictures(rng, shape, n=32):
    x = (rng.random((n,) + shape) > 0.5).astype(np.float32)
    return disent.Dataset(x, np.arange(n, dtype=np.int32) % 4)


def test_pictures_get_the_image_shape_and_train(rng):
    with pictures(rng, (1, 8, 8)) as ds:
        with pytest.raises(disent.ShapeError):  # the plain model: 784 inputs
            with disent.Model("ml-vae", **SMALL) as plain:
                plain.fit(ds, epochs=1, steps_per_epoch=1, batch_groups=4, group_size=4, progress=False)
        with disent.Model.for_data("ml-vae", ds, **SMALL) as m:
            assert m.options["image"] == "8x8" and m.obs_size == 64
            h = m.fit(ds, epochs=1, steps_per_epoch=2, batch_groups=4, group_size=4, progress=False)
            assert h[-1]["step"] == 2 and np.isfinite(h[-1]["train_loss"])
            # the same model as naming the shape by hand (disent train's note says so)
            with disent.Model("ml-vae", image="8x8", **SMALL) as same:
                assert same.options == disent.Model.for_data("ml-vae", ds, **SMALL).options
    with pictures(rng, (12, 8)) as ds, disent.Model.for_data("ml-vae", ds, SMALL) as m:
        assert m.options["image"] == "12x8"
    with pictures(rng, (3, 8, 8)) as ds, disent.Model.for_data("ml-vae", ds, **SMALL) as m:
        assert m.options["image"] == "3x8x8" and m.obs_size == 192


def test_the_options_choose_the_network(rng):
    with pictures(rng, (1, 8, 8)) as ds:
        with disent.Model.for_data("ml-vae", ds, encoder="mlp", input_dim=64, **SMALL) as m:
            assert m.options["encoder"] == "mlp" and m.obs_size == 64
        with disent.Model.for_data("ml-vae", ds, input_dim=64, **SMALL) as m:
            assert "image" not in m.options and m.obs_size == 64
        with disent.Model.for_data("ml-vae", ds, "image=4x16, hidden=16, style_dim=2, content_dim=2") as m:
            assert m.options["image"] == "4x16"
    # not pictures: sides that are not multiples of 4, too many channels, flat vectors
    for shape in ((1, 6, 6), (5, 8, 8), (64,)):
        with pictures(rng, shape) as ds, disent.Model.for_data("ml-vae", ds, input_dim=int(np.prod(shape)),
                                                              **SMALL) as m:
            assert "image" not in m.options, shape
        with pictures(rng, shape) as ds:
            with disent.Model.for_data("ml-vae", ds, **SMALL) as m:
                assert "image" not in m.options and m.options["input_dim"] == "784", shape
    # a family without an image shape is left alone
    with pictures(rng, (1, 8, 8)) as ds, disent.Model.for_data("vq-vae", ds, hidden=8, res_blocks=1,
                                                              res_channels=4, code_dim=4, num_codes=8,
                                                              prior_channels=4, prior_layers=2) as m:
        assert "image" not in m.options and m.obs_shape == (1, 28, 28)
    with pytest.raises(disent.InvalidArgumentError, match="unknown model family"):
        disent.Model.for_data("no-such-family", disent.Dataset(np.zeros((2, 4), np.float32)))


def test_audio_sets_give_frames_and_n_mels(tmp_path):
    with disent.Dataset.from_audio(make_set(tmp_path), frames=6, n_mels=8, label="inst", **FE) as ds:
        assert ds.obs_shape == (6, 8)
        with disent.Model.for_data("ts-dsae", ds, v_dim=2, z_dim=2, hidden=[5]) as m:
            assert m.obs_shape == (6, 8)
            assert m.options["frames"] == "6" and m.options["n_mels"] == "8"
            m.fit(ds, epochs=1, batch_size=8, steps_per_epoch=2, progress=False)
        with disent.Model.for_data("ts-dsae", ds, frames=3, v_dim=2, z_dim=2, hidden=[5]) as m:
            assert m.obs_shape == (3, 8)  # a key the options set is kept
