"""Lifecycle observers see a run's events; a broken observer cannot stop training."""

from __future__ import annotations

import pytest

from ganzoo import hookimpl
from ganzoo.engine import Engine
from ganzoo.errors import PluginError


class Recorder:
    """Records every lifecycle event it sees."""

    __name__ = "recorder"

    def __init__(self) -> None:
        self.events: list[tuple] = []

    @hookimpl
    def ganzoo_train_start(self, run):
        self.events.append(("start",))

    @hookimpl
    def ganzoo_step_end(self, run, step, logs):
        self.events.append(("step", step, sorted(logs)))

    @hookimpl
    def ganzoo_train_end(self, run):
        self.events.append(("end",))


class Broken:
    """An observer that raises on every step."""

    __name__ = "broken-logger"

    def __init__(self) -> None:
        self.calls = 0

    @hookimpl
    def ganzoo_step_end(self, run, step, logs):
        self.calls += 1
        raise RuntimeError("disk on fire")


def test_a_broken_observer_is_reported_once_and_the_others_keep_seeing_events(capsys):
    recorder, broken = Recorder(), Broken()
    engine = Engine(extra_plugins=[recorder, broken])
    for step in (1, 2):
        engine.notify("ganzoo_step_end", run=None, step=step, logs={"d_loss": 1.0})
    assert broken.calls == 1
    assert [e[1] for e in recorder.events] == [1, 2]
    err = capsys.readouterr().err
    assert err.count("broken-logger failed in ganzoo_step_end: RuntimeError: disk on fire") == 1


def test_strict_mode_makes_a_broken_observer_an_error(monkeypatch):
    monkeypatch.setenv("GANZOO_STRICT_PLUGINS", "1")
    engine = Engine(extra_plugins=[Broken()])
    with pytest.raises(PluginError, match="disk on fire"):
        engine.notify("ganzoo_step_end", run=None, step=1, logs={})


def test_observers_see_a_real_training_run(tmp_path):
    import torch

    from ganzoo.trainer import Trainer

    recorder = Recorder()
    engine = Engine(extra_plugins=[recorder])
    config = engine.resolve("gan-ring8", ["dataset.n=500", "network.hidden=16", "network.d_hidden=16",
                                          "train.batch_size=16", "train.steps=6", "train.log_every=3",
                                          "eval.n=100", "sample.n=100"])
    data = engine.load_data(config, "train", tmp_path)
    run_dir = tmp_path / "run"
    (run_dir / "checkpoints").mkdir(parents=True)
    Trainer(engine, config, torch.device("cpu"), run_dir, data, tmp_path, progress=False).train()
    assert recorder.events[0] == ("start",) and recorder.events[-1] == ("end",)
    steps = [e for e in recorder.events if e[0] == "step"]
    assert [s[1] for s in steps] == [3, 6]
    assert {"d_loss", "g_loss", "images_per_s"} <= set(steps[0][2])
