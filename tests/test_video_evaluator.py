"""``frechet-video``: the clip classifier ganzoo trains on Moving MNIST, its cache, and the metric built on it."""

import pytest
import torch

from ganzoo.engine import Engine
from ganzoo.metrics.base import EvalContext
from ganzoo.metrics.evaluator_cache import EvaluatorError
from ganzoo.metrics.video_evaluator import directions, get_video_evaluator

ENGINE = Engine()
#: Small one-digit clips as the experiments draw them (24px digits in 32x32 frames), 8 frames, 300 sequences per
#: split: the evaluator trains in seconds.
BLOCK = {"name": "moving-mnist", "frame_size": 32, "frames": 8, "digits": 1, "digit_size": 24, "sequences": 300,
         "labels": True}


def blob_clips(dx: int, dy: int, frames: int = 5) -> torch.Tensor:
    """One clip (1, 1, T, 16, 16) of a 3x3 square moving (dx, dy) pixels a frame, in [-1, 1]."""
    clip = torch.full((1, 1, frames, 16, 16), -1.0)
    for t in range(frames):
        x, y = 6 + dx * t, 6 + dy * t
        clip[0, 0, t, y : y + 3, x : x + 3] = 1.0
    return clip


@pytest.mark.parametrize("dx, dy, quadrant", [(1, 1, 3), (1, -1, 2), (-1, 1, 1), (-1, -1, 0)])
def test_direction_is_the_quadrant_of_the_inks_first_moves(dx, dy, quadrant):
    assert int(directions(blob_clips(dx, dy))[0]) == quadrant


@pytest.fixture(scope="module")
def evaluator(tmp_path_factory, mnist_root):
    """The clip classifier of BLOCK's clips, trained once into a temporary cache."""
    cache = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("clips")))
        yield get_video_evaluator(BLOCK, mnist_root, "cpu", cache_dir=cache, engine=ENGINE), cache


def test_the_evaluator_learns_digit_and_direction_and_records_its_identity(evaluator):
    ev, cache = evaluator
    protocol = ev.protocol()
    # 300 clips only (the experiments give it 4,000): well above chance (10% and 25%), far from perfect
    assert ev.digit_accuracy > 0.45 and ev.direction_accuracy > 0.45, (ev.digit_accuracy, ev.direction_accuracy)
    assert protocol["evaluator"] == "moving-mnist-video-v1" and "not I3D" in protocol["features"]
    assert protocol["evaluator_train_samples"] == protocol["evaluator_test_samples"] == 300
    files = sorted(p.suffix for p in (cache / "evaluators").iterdir() if p.suffix in (".pt", ".json"))
    assert files == [".json", ".pt"]


def test_frechet_video_tells_real_clips_from_frozen_and_shuffled_ones(evaluator, mnist_root, monkeypatch):
    """Two disjoint real sets are close; the same clips frozen on their first frame, or with frames shuffled, far."""
    ev, cache = evaluator
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache.parent))
    real = ENGINE.load_data({"dataset": BLOCK}, "test", mnist_root)
    metric = ENGINE.metric("frechet-video")

    def score(fake):
        ctx = EvalContext(spec=real.spec, real=real, sample=lambda n, labels: fake[:n], n=140, seed=0,
                          device=torch.device("cpu"), dataset=BLOCK, cache_dir=cache, data_root=mnist_root,
                          split="test", _fake=(fake[:140], None))
        return metric.fn(ctx).values["fd"]

    others = real.x[150:]
    same = score(others)
    frozen = score(others[:, :, :1].expand_as(others).contiguous())
    shuffled = score(others[:, :, torch.randperm(others.shape[2], generator=torch.Generator().manual_seed(0))])
    assert frozen > 3 * same and shuffled > 1.5 * same, (same, frozen, shuffled)


def test_clips_of_two_digits_are_refused_in_one_line(mnist_root, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    block = {**BLOCK, "digits": 2, "digit_size": 0, "labels": False, "sequences": 20}
    with pytest.raises(EvaluatorError, match="one-digit Moving MNIST clips"):
        get_video_evaluator(block, mnist_root, "cpu", cache_dir=tmp_path / "cache", engine=ENGINE)
