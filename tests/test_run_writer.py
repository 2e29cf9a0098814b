"""RunWriter, alone: what a run writes, where, and how it is cut back; a non-writing rank writes nothing."""

from __future__ import annotations

import json

import torch

from ganzoo.checkpoint import load_checkpoint
from ganzoo.run_writer import RunWriter
from ganzoo.spec import DataSpec


def made(tmp_path) -> RunWriter:
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "samples").mkdir()
    return RunWriter(tmp_path, writes=True, keep_last=2)


def test_checkpoints_keep_the_newest_and_last_points_at_the_latest(tmp_path):
    writer = made(tmp_path)
    for step in (10, 20, 30):
        writer.checkpoint({"step": step, "generator": {"w": torch.full((2,), float(step))}}, step)
    names = sorted(p.name for p in writer.checkpoint_dir.iterdir())
    assert names == ["last.pt", "step_000020.pt", "step_000030.pt"]
    assert load_checkpoint(writer.checkpoint_dir / "last.pt")["step"] == 30


def test_cut_back_forgets_events_and_checkpoints_after_a_step(tmp_path):
    writer = made(tmp_path)
    for step in (10, 20, 30):
        writer.event({"event": "train", "step": step})
        writer.checkpoint({"step": step}, step)
    writer.cut_back(20)
    events = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [e["step"] for e in events] == [10, 20]
    assert not (writer.checkpoint_dir / "step_000030.pt").exists()
    assert (writer.checkpoint_dir / "step_000020.pt").exists()


def test_results_best_samples_and_config_land_where_the_readme_says(tmp_path):
    writer = made(tmp_path)
    writer.results({"modes": {"values": {"modes": 8.0}, "protocol": {"seed": 0}}})
    writer.results({})  # nothing to write: the previous eval.json stays
    assert json.loads((tmp_path / "eval.json").read_text())["modes"]["values"]["modes"] == 8.0
    writer.best({"step": 5, "generator": {}})
    assert load_checkpoint(writer.checkpoint_dir / "best.pt")["step"] == 5
    written = writer.samples(torch.rand(4, 1, 8, 8) * 2 - 1, DataSpec((1, 8, 8)), "step_000005", 2, None, "step 5")
    assert written == [tmp_path / "samples" / "step_000005.png"] and written[0].read_bytes().startswith(b"\x89PNG")
    writer.config({"experiment": "x", "train": {"steps": 3}})
    assert "experiment: x" in (tmp_path / "config.yaml").read_text()


def test_a_rank_that_does_not_write_leaves_the_directory_untouched(tmp_path):
    writer = RunWriter(tmp_path, writes=False, keep_last=1)
    writer.event({"event": "train", "step": 1})
    writer.checkpoint({"step": 1}, 1)
    writer.best({"step": 1})
    writer.results({"m": {"values": {}, "protocol": {}}})
    writer.config({"experiment": "x"})
    assert writer.samples(torch.zeros(1, 2), DataSpec((2,)), "final", 1, None, "") == []
    writer.cut_back(0)
    assert list(tmp_path.iterdir()) == []
