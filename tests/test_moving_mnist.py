"""The moving-mnist data set: bouncing digits from real MNIST, deterministic, cached, with labels kept."""

import re
from pathlib import Path

import numpy as np
import pytest
import torch

from ganzoo.cli import main
from ganzoo.engine import Engine
from ganzoo.errors import DataError

ENGINE = Engine()  # loads this checkout's built-ins under their import name, ganzoo_plugins

from ganzoo_plugins.moving_mnist import generate, moving_mnist, trajectories  # noqa: E402

TINY = {"frame_size": 16, "frames": 6, "digits": 1, "sequences": 24}


@pytest.fixture
def data_root(mnist_root) -> Path:
    """The real MNIST under GANZOO_DATA (conftest fails loudly when it is missing)."""
    return mnist_root


@pytest.fixture(autouse=True)
def cache_home(tmp_path, monkeypatch) -> Path:
    """Each test caches its clips under its own temporary cache; returns where moving-mnist writes."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "ganzoo"


def test_registered_with_its_options():
    """The data set is a registered component whose options are config parameters."""
    component = ENGINE.registry.get("datasets", "moving-mnist")
    assert {"frame_size", "frames", "digits", "sequences", "source", "seed"} <= set(component.params)


def test_clips_have_the_asked_shape_range_and_digit_labels(data_root):
    """(N, 1, T, H, W) floats in [-1, 1], unlabelled, digit labels (N, digits) in extras."""
    data = moving_mnist(data_root, "train", False, frame_size=32, frames=5, digits=2, sequences=10)
    assert tuple(data.x.shape) == (10, 1, 5, 32, 32) and data.spec.shape == (1, 5, 32, 32)
    assert data.spec.kind == "video" and data.y is None
    assert data.x.min() == -1.0 and 0.5 < data.x.max() <= 1.0
    digits = data.extras["digits"]
    assert digits.dtype == torch.int64 and tuple(digits.shape) == (10, 2)
    assert 0 <= int(digits.min()) and int(digits.max()) <= 9


def test_generation_is_deterministic_for_a_seed(data_root, cache_home):
    """Same seed, same clips (even generated afresh); another seed or split, other clips."""
    first = moving_mnist(data_root, "train", False, seed=3, **TINY)
    for path in (cache_home / "moving-mnist").iterdir():
        path.unlink()
    again = moving_mnist(data_root, "train", False, seed=3, **TINY)
    assert torch.equal(first.x, again.x) and torch.equal(first.extras["digits"], again.extras["digits"])
    assert not torch.equal(first.x, moving_mnist(data_root, "train", False, seed=4, **TINY).x)
    assert not torch.equal(first.x, moving_mnist(data_root, "test", False, seed=3, **TINY).x)


def test_the_cache_is_read_back(data_root, cache_home):
    """A second load reads the cached tensor file instead of generating again."""
    moving_mnist(data_root, "train", False, **TINY)
    (path,) = (cache_home / "moving-mnist").glob("*.pt")
    marked = torch.full((24, 6, 16, 16), 255, dtype=torch.uint8)
    torch.save({"clips": marked, "digits": torch.zeros(24, 1, dtype=torch.int64)}, path)
    assert bool((moving_mnist(data_root, "train", False, **TINY).x == 1.0).all())


def test_a_corrupt_cache_is_regenerated(data_root, cache_home):
    """A truncated cache file is not an error: the clips are generated again, identically."""
    first = moving_mnist(data_root, "train", False, **TINY)
    (path,) = (cache_home / "moving-mnist").glob("*.pt")
    path.write_bytes(path.read_bytes()[:100])
    assert torch.equal(moving_mnist(data_root, "train", False, **TINY).x, first.x)


def test_digits_move_with_constant_speed_and_bounce_inside_the_frame():
    """Steps keep their length per axis except where a digit reflects off a border."""
    g = torch.Generator().manual_seed(0)
    free, speed = 40, 0.1
    corners = trajectories(200, 30, 2, free, speed, g)
    assert int(corners.min()) >= 0 and int(corners.max()) <= free
    steps = corners.diff(dim=1).abs()
    assert int(steps.max()) <= round(speed * free) + 1
    assert bool(steps.sum(dim=(1, 3)).gt(0).all())  # every digit moves
    flips = corners.diff(dim=1)[:, :-1] * corners.diff(dim=1)[:, 1:] < 0
    at_border = (corners[:, 1:-1] <= speed * free + 1) | (corners[:, 1:-1] >= free - speed * free - 1)
    assert bool(flips.any()) and not bool((flips & ~at_border).any())


def test_a_single_digit_keeps_its_ink_as_it_moves():
    """Pasting is exact: one digit's pixels sum to the same total in every frame."""
    images = torch.zeros(3, 28, 28, dtype=torch.uint8)
    images[:, 4:24, 10:18] = torch.tensor([50, 120, 250], dtype=torch.uint8).view(3, 1, 1)
    clips, _ = generate(images, torch.arange(3), frame_size=40, frames=12, digits=1, digit_size=28, sequences=6,
                        speed=0.2, seed=1)
    totals = clips.flatten(2).sum(dim=2)
    assert bool((totals == totals[:, :1]).all()) and bool((totals > 0).all())
    assert not torch.equal(clips[:, 0], clips[:, -1])


def test_labels_name_the_digits_drawn():
    """extras' labels are the labels of the images pasted into each clip."""
    labels = torch.arange(10)
    images = (labels * 20 + 30).to(torch.uint8).view(10, 1, 1).expand(10, 28, 28).contiguous()
    clips, digit_labels = generate(images, labels, frame_size=64, frames=3, digits=1, digit_size=28, sequences=40,
                                   speed=0.1, seed=2)
    assert torch.equal(clips.flatten(1).amax(dim=1).long(), digit_labels[:, 0] * 20 + 30)


@pytest.mark.parametrize(("options", "message"), [
    ({"digits": 5}, re.escape("5 digits of 14px do not fit in a 32px frame (at most 4")),
    ({"digit_size": 32}, "no room to move"),
    ({"speed": 1.5}, "dataset.speed"),
    ({"source": "youtube"}, "unknown dataset.source 'youtube'"),
])
def test_bad_options_are_one_line_errors(data_root, options, message):
    """Sizes that cannot make a clip fail before any work, on one line that names the fix."""
    with pytest.raises(DataError, match=message) as info:
        moving_mnist(data_root, "train", False, **{"frame_size": 32, **options})
    assert "\n" not in str(info.value)


def test_too_many_digits_exits_2_without_a_run_directory(tmp_path, capsys, data_root):
    """The CLI prints the error on one line, exits 2 and leaves no half-written run directory."""
    out = tmp_path / "run"
    code = main(["run", "vgan-moving-mnist", "--no-progress", "--out", str(out), "--data-root", str(data_root),
                 "--set", "dataset.digits=5"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "do not fit" in err
    assert not out.exists()


def _write_torchvision_file(root: Path, frames: int = 6, sequences: int = 20) -> np.ndarray:
    """A small file in torchvision's MovingMNIST layout: uint8 (frames, sequences, 64, 64)."""
    rng = np.random.default_rng(0)
    array = rng.integers(0, 256, size=(frames, sequences, 64, 64), dtype=np.uint8)
    (root / "MovingMNIST").mkdir(parents=True)
    np.save(root / "MovingMNIST" / "mnist_test_seq.npy", array)
    return array


def test_loads_torchvisions_file_when_asked(tmp_path):
    """source=torchvision reads MovingMNIST/mnist_test_seq.npy: last tenth is the test split."""
    array = _write_torchvision_file(tmp_path)
    train = moving_mnist(tmp_path, "train", False, frame_size=64, frames=4, source="torchvision")
    test = moving_mnist(tmp_path, "test", False, frame_size=64, frames=4, source="torchvision")
    assert tuple(train.x.shape) == (18, 1, 4, 64, 64) and tuple(test.x.shape) == (2, 1, 4, 64, 64)
    expected = torch.from_numpy(array[:4, 18:]).transpose(0, 1).float() / 127.5 - 1
    assert torch.allclose(test.x[:, 0], expected)
    assert "digits" not in train.extras


def test_torchvision_file_resized_and_truncated(tmp_path):
    """Frame size and sequence count apply to the file too; asking more frames than it holds is an error."""
    _write_torchvision_file(tmp_path)
    small = moving_mnist(tmp_path, "train", False, frame_size=32, frames=6, sequences=5, source="torchvision")
    assert tuple(small.x.shape) == (5, 1, 6, 32, 32)
    assert small.x.min() >= -1 and small.x.max() <= 1
    with pytest.raises(DataError, match="has 6 frames per clip"):
        moving_mnist(tmp_path, "train", False, frame_size=64, frames=7, source="torchvision")


def test_missing_torchvision_file_is_a_clear_error(tmp_path):
    """Without the file, the error says where it looked and how to generate instead."""
    with pytest.raises(DataError, match="source=generate"):
        moving_mnist(tmp_path, "train", False, frame_size=64, source="torchvision")
