"""Training: train_step, train_terms, Optimizer, fit with callbacks,
progress bar, checkpoints and exact resume."""
import os

import numpy as np
import pytest

import disent
from conftest import OBS, small_model


def test_optimizer(model):
    with disent.Optimizer(model, "sgd", lr=0.1, momentum=0.9) as o:
        assert o.steps == 0 and o.model is model and o.kind == "sgd"
        o.set_lr(0.01)
        with pytest.raises(disent.InvalidArgumentError):
            o.set_lr(-1)
        with pytest.raises(disent.InvalidArgumentError):
            o.set_lr(float("nan"))
    with pytest.raises(disent.OptionError, match="unknown optimizer"):
        disent.Optimizer(model, "rmsprop")
    with pytest.raises(disent.OptionError):
        disent.Optimizer(model, lr="fast")
    with pytest.raises(disent.OptionError):
        disent.Optimizer(model, no_such=1)
    for kind in ("adam", "adamw"):
        model.optimizer(kind, schedule="cosine", total_steps=10, clip_norm=1.0).close()


def test_train_step_and_terms(model, data):
    x, g = data
    opt = model.optimizer(lr=1e-2)
    losses = [model.train_step(opt, x[:32], g[:32]) for _ in range(20)]
    assert opt.steps == 20
    assert all(np.isfinite(losses)) and losses[-1] < losses[0]
    terms = model.train_terms()
    assert "loss" in terms and len(terms) >= 2
    assert model.train_step(opt, x[:8]) > 0  # no groups
    with pytest.raises(disent.ShapeError):
        model.train_step(opt, x[:8, :5])
    with pytest.raises(disent.NumericError):
        model.train_step(opt, np.full((2, OBS), np.nan, np.float32))
    with pytest.raises(disent.ShapeError, match="mask"):
        model.train_step(opt, x[:8], mask=np.ones((8, 3)))
    with small_model() as other:
        with pytest.raises(disent.InvalidArgumentError, match="another model"):
            other.train_step(opt, x[:8])


def test_fit_callback_and_history(model, data):
    x, g = data
    ds = disent.Dataset(x, g)
    seen = []
    h = disent.fit(model, model.optimizer(), ds, epochs=3, steps_per_epoch=4, batch_groups=4, group_size=4,
                   log_every=2, callback=seen.append, progress=False)
    assert [e["epoch"] for e in h] == [1, 2, 3] and h[-1]["step"] == 12
    assert all("train_loss" in e for e in h)
    steps = [p for p in seen if not p.epoch_end]
    ends = [p for p in seen if p.epoch_end]
    assert [p.step for p in steps] == [2, 4, 6, 8, 10, 12] and len(ends) == 3
    assert "loss" in steps[0].terms and isinstance(steps[0], disent.Progress)
    assert len(h.steps) == 6


def test_fit_stop_and_exception(model, data):
    x, g = data
    ds = disent.Dataset(x, g)
    opt = model.optimizer()
    h = disent.fit(model, opt, ds, epochs=5, steps_per_epoch=4, log_every=1, callback=lambda p: p.step >= 3)
    # stopped after step 3; dsn_fit still closes (and reports) the current epoch
    assert opt.steps == 3 and [e["step"] for e in h] == [3]

    class Boom(Exception):
        pass

    calls = []

    def bad(p):
        calls.append(p)
        raise Boom("from the callback")

    before = opt.steps
    with pytest.raises(Boom, match="from the callback"):
        disent.fit(model, opt, ds, epochs=10, steps_per_epoch=4, log_every=1, callback=bad)
    assert opt.steps == before + 1 and len(calls) == 1  # stopped right after the first report

    def interrupt(p):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        disent.fit(model, opt, ds, epochs=10, steps_per_epoch=4, log_every=1, callback=interrupt)


def test_fit_validation_checkpoint_resume(model, data, tmp_path):
    x, g = data
    ds = disent.Dataset(x, g)
    tr, va = ds.split(0.25, seed=3)
    ck = tmp_path / "ck.dsn"
    opt = model.optimizer(lr=1e-3)
    h = model.fit(tr, opt, valid=va, epochs=2, steps_per_epoch=3, checkpoint=ck, keep_best=False,
                  batch_groups=4, group_size=4)
    assert "valid_loss" in h[-1] and "best_valid_loss" in h[-1]
    # resume exactly: continue in memory vs from the checkpoint
    m2 = disent.Model.load(ck)
    o2 = disent.Optimizer.load(m2, ck)
    assert o2.steps == opt.steps == 6
    kw = dict(epochs=3, steps_per_epoch=3, keep_best=False, batch_groups=4, group_size=4)
    model.fit(tr, opt, valid=va, **kw)
    m2.fit(tr, o2, valid=va, **kw)
    e1, e2 = model.encode(x[:5]), m2.encode(x[:5])
    np.testing.assert_array_equal(e1["style"], e2["style"])
    # a plain model file holds no optimizer
    model.save(tmp_path / "plain.dsn")
    with pytest.raises(disent.FormatError, match="no optimizer"):
        disent.Optimizer.load(model, tmp_path / "plain.dsn")


def test_fit_errors_and_defaults(model, data):
    x, g = data
    ds = disent.Dataset(x, g)
    with pytest.raises(disent.OptionError, match="no_such"):
        model.fit(ds, no_such=1)
    with pytest.raises(disent.ShapeError):
        model.fit(disent.Dataset(np.zeros((4, 3))), epochs=1)
    with small_model() as other, other.optimizer() as o:
        with pytest.raises(disent.InvalidArgumentError):
            disent.fit(model, o, ds)
    h = model.fit(ds, epochs=1, steps_per_epoch=2)  # default optimizer
    assert len(h) == 1


def test_fit_progress_bar(model, data, capsys):
    pytest.importorskip("tqdm")
    x, g = data
    model.fit(disent.Dataset(x, g), epochs=2, steps_per_epoch=3, log_every=1, progress=True)
    err = capsys.readouterr().err
    assert "fit" in err and "step" in err


def test_fit_bad_epochs_value_reaches_the_library(model, data):
    x, g = data
    with pytest.raises(disent.OptionError, match="epochs"):
        model.fit(disent.Dataset(x, g), epochs="many")


def test_fit_training_log(model, data, tmp_path):
    """The fit option log: a JSONL record per step and epoch (parsed with
    json) and its CSV twin with the same figures."""
    import csv
    import json
    x, g = data
    tr, va = disent.Dataset(x, g).split(0.25, seed=3)
    opt = model.optimizer(lr=1e-3)
    path = tmp_path / "run.jsonl"
    h = disent.fit(model, opt, tr, valid=va, epochs=2, steps_per_epoch=5, batch_groups=4, group_size=4,
                   log=str(path))
    recs = [json.loads(line) for line in path.read_text().splitlines()]
    events = [r["event"] for r in recs]
    assert events == ["start"] + ["step"] * 5 + ["epoch"] + ["step"] * 5 + ["epoch", "end"]
    assert recs[0]["family"] == "ml-vae" and recs[0]["valid_size"] == len(va) and recs[0]["epochs"] == 2
    steps = [r for r in recs if r["event"] == "step"]
    assert [r["step"] for r in steps] == list(range(1, 11))
    assert all(r["lr"] == pytest.approx(1e-3) and r["stage"] == "" for r in steps)
    assert all(list(r["terms"])[:2] == ["loss", "rec"] for r in steps)
    assert [r["step"] for r in h.steps][-1] == 10
    epochs = [r for r in recs if r["event"] == "epoch"]
    for e, he in zip(epochs, h):  # the log holds what the callback reported
        assert e["valid_loss"] == pytest.approx(he["valid_loss"], rel=1e-6)
        assert e["train_loss"] == pytest.approx(he["train_loss"], rel=1e-6)
        assert e["valid_terms"]["loss"] == pytest.approx(e["valid_loss"], rel=1e-5)
    assert recs[-1]["status"] == "ok"
    rows = list(csv.DictReader(open(tmp_path / "run.csv")))
    assert list(rows[0]) == ["event", "epoch", "step", "time", "stage", "lr", "name", "value"]
    by = {(r["event"], int(r["step"]), r["name"]): float(r["value"]) for r in rows}
    for r in steps:
        for k, v in r["terms"].items():
            assert by[("step", r["step"], k)] == pytest.approx(v, rel=1e-6)
    assert by[("epoch", 10, "valid.rec")] == pytest.approx(epochs[-1]["valid_terms"]["rec"], rel=1e-6)
    # an unwritable log is an error before any step
    with pytest.raises(disent.FileIOError, match="training log"):
        disent.fit(model, opt, tr, epochs=3, steps_per_epoch=5, log=str(tmp_path / "no" / "such" / "x.jsonl"))
    assert opt.steps == 10


def _png_size(path):
    import struct
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR"
    return struct.unpack(">II", head[16:24])


def test_plot_both_backends(model, data, tmp_path):
    """disent.plot draws a log with matplotlib and with the disent program
    (the library's PNG writer): a PNG of the asked size either way."""
    x, g = data
    tr, va = disent.Dataset(x, g).split(0.25, seed=3)
    log = tmp_path / "run.jsonl"
    disent.fit(model, model.optimizer(), tr, valid=va, epochs=3, steps_per_epoch=4, batch_groups=4, group_size=4,
               log=str(log))
    recs = disent.read_log(log)
    from disent.plot import _disent_program, curves
    step, epoch, switches = curves(recs)
    assert set(step) >= {"loss", "rec"} and set(epoch) == {"train_loss", "valid_loss", "valid_objective"}
    assert step["loss"][0] == list(range(1, 13)) and switches == []
    out = disent.plot(log, tmp_path / "mpl.png", backend="matplotlib", width=800, height=500)
    assert _png_size(out) == (800, 500)
    prog = _disent_program()
    if prog is None:
        pytest.fail("the disent program of this build was not found (build it with make tools)")
    out = disent.plot(log, tmp_path / "c.png", backend="disent", terms=["loss", "rec"], width=640, height=480)
    assert _png_size(out) == (640, 480) and os.path.getsize(out) > 640 * 480  # RGB, uncompressed
    with pytest.raises(disent.FormatError, match="none of the terms"):
        disent.plot(log, tmp_path / "x.png", backend="disent", terms=["nope"])
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"event":"start"}\nnot json\n')
    with pytest.raises(disent.FormatError, match=":2:"):
        disent.read_log(bad)


def test_plot_curves_of_appended_runs():
    """A run appended to a log whose step count starts again (train-prior's
    new optimizer) continues the step axis after the previous run."""
    from disent.plot import curves
    recs = [{"event": "start", "step": 0}] + \
        [{"event": "step", "step": s, "stage": "autoencoder", "terms": {"loss": 1.0}} for s in (1, 2)] + \
        [{"event": "epoch", "step": 2, "train_loss": 1.0, "valid_loss": None}, {"event": "end", "step": 2},
         {"event": "start", "step": 0}] + \
        [{"event": "step", "step": s, "stage": "prior", "terms": {"loss": 2.0}} for s in (1, 2)]
    step, epoch, switches = curves(recs)
    x, y = step["loss"]
    assert x[:2] == [1, 2] and x[3:] == [3, 4] and y[2] != y[2]  # a NaN gap between the runs
    assert switches == [(2.5, "prior")]
    assert epoch["valid_loss"][1][0] != epoch["valid_loss"][1][0]  # null -> NaN
