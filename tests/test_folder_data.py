"""The ``folder`` data set: listing, decoding, labels, resizing, channels, flips, bad files, uint8 memory,
streaming from the decoded cache, and folder-dcgan64 trained on a folder the test writes."""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from ganzoo.cli import main
from ganzoo.data import Batcher
from ganzoo.engine import Engine
from ganzoo.errors import DataError

ENGINE = Engine()  # loads this checkout's built-ins under their import name, ganzoo_plugins

from ganzoo_plugins import folder as folder_mod  # noqa: E402
from ganzoo_plugins import folder_cache  # noqa: E402
from ganzoo_plugins import image_files  # noqa: E402

CPU = torch.device("cpu")
#: torchvision 0.29 deprecates its image decoders (for TorchCodec) with a warning on every call; they still work.
pytestmark = pytest.mark.filterwarnings("ignore:The image decoding and encoding capabilities:DeprecationWarning")


def write(path, pixels: np.ndarray) -> None:
    """One image file (format from the suffix) of HxWx3 (or HxW) uint8 pixels."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)


def noise(h: int, w: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    """Decoded caches and evaluators go to this test's directory, and no folder is remembered between tests."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    folder_mod._LAST.clear()
    yield
    folder_mod._LAST.clear()


@pytest.fixture(scope="module")
def flat(tmp_path_factory):
    """240 16x16 RGB PNGs in one flat folder."""
    root = tmp_path_factory.mktemp("flat")
    for i in range(240):
        write(root / f"{i:03d}.png", noise(16, 16, i))
    return root


def load(engine, path, **opts):
    return engine.load_data({"dataset": {"name": "folder", "path": str(path), **opts}}, "train", path)


def one_line(exc: pytest.ExceptionInfo) -> str:
    message = str(exc.value)
    assert message and "\n" not in message
    return message


def test_list_images_is_recursive_sorted_and_skips_other_files(tmp_path):
    for rel in ("b/z.PNG", "a.jpg", "b/a/c.webp", "d.bmp", "e.jpeg", ".hidden.png", ".git/x.png"):
        write(tmp_path / rel, noise(4, 4, 0))
    (tmp_path / "notes.txt").write_text("not an image")
    found = [p.relative_to(tmp_path).as_posix() for p in image_files.list_images(tmp_path)]
    assert found == ["a.jpg", "b/a/c.webp", "b/z.PNG", "d.bmp", "e.jpeg"]


def test_read_image_scales_the_shorter_side_and_crops_the_centre(tmp_path):
    pixels = np.zeros((20, 60, 3), np.uint8)
    pixels[:, :20] = (255, 0, 0)  # left third red, centre green, right third blue
    pixels[:, 20:40] = (0, 255, 0)
    pixels[:, 40:] = (0, 0, 255)
    write(tmp_path / "wide.png", pixels)
    x = image_files.read_image(tmp_path / "wide.png", 3, 10)
    assert x.dtype == torch.uint8 and tuple(x.shape) == (3, 10, 10)
    # 20x60 -> 10x30, centre 10x10 = the green third (its edge columns blend a little with the neighbours)
    assert (x[1, :, 1:-1] == 255).all() and (x[0, :, 1:-1] == 0).all() and (x[2, :, 1:-1] == 0).all()
    assert tuple(image_files.read_image(tmp_path / "wide.png", 3).shape) == (3, 20, 60)


def test_channels_convert_both_ways(tmp_path):
    write(tmp_path / "red.png", np.full((8, 8, 3), (255, 0, 0), np.uint8))
    write(tmp_path / "gray.png", np.full((8, 8), 100, np.uint8))
    write(tmp_path / "red.webp", np.full((8, 8, 3), (255, 0, 0), np.uint8))  # torchvision has no gray WebP
    gray = image_files.read_image(tmp_path / "red.png", 1)
    assert tuple(gray.shape) == (1, 8, 8) and abs(int(gray[0, 0, 0]) - 76) <= 1  # ITU-R 601 luma of red
    assert tuple(image_files.read_image(tmp_path / "red.webp", 1).shape) == (1, 8, 8)
    rgb = image_files.read_image(tmp_path / "gray.png", 3)
    assert tuple(rgb.shape) == (3, 8, 8) and (rgb == 100).all()


def test_a_truncated_file_is_a_data_error_naming_it(tmp_path):
    write(tmp_path / "ok.png", noise(8, 8, 0))
    data = (tmp_path / "ok.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError) as exc:
        image_files.read_image(tmp_path / "cut.png", 3)
    assert str(tmp_path / "cut.png") in one_line(exc)


@pytest.mark.parametrize("labels, expected", [("auto", ["cats", "dogs"]), ("subfolders", ["cats", "dogs"]),
                                              ("none", [])])
def test_labels_from_class_folders(engine, tmp_path, labels, expected):
    for i in range(3):
        write(tmp_path / "cats" / f"{i}.png", noise(8, 8, i))
        write(tmp_path / "dogs" / "deep" / f"{i}.jpg", noise(8, 8, 10 + i))  # nested below its class folder
    data = load(engine, tmp_path, labels=labels)
    assert data.spec.num_classes == len(expected) and data.info["record"]["classes"] == expected
    if expected:
        assert data.y.tolist() == [0, 0, 0, 1, 1, 1]
    else:
        assert data.y is None


def test_auto_labels_need_every_image_in_one_of_two_class_folders(engine, tmp_path):
    write(tmp_path / "only" / "a.png", noise(8, 8, 0))
    write(tmp_path / "only" / "b.png", noise(8, 8, 1))
    assert load(engine, tmp_path).y is None  # one class folder: unlabelled
    write(tmp_path / "other" / "c.png", noise(8, 8, 2))
    write(tmp_path / "loose.png", noise(8, 8, 3))
    assert load(engine, tmp_path).y is None  # an image outside the class folders: unlabelled
    with pytest.raises(DataError) as exc:
        load(engine, tmp_path, labels="subfolders")
    assert "loose.png" in one_line(exc) and "dataset.labels=none" in str(exc.value)


def test_image_size_resizes_mixed_sizes_and_channels_pick_planes(engine, tmp_path):
    write(tmp_path / "a.png", noise(20, 30, 0))
    write(tmp_path / "b.bmp", noise(40, 24, 1))
    write(tmp_path / "c.webp", noise(16, 16, 2))
    data = load(engine, tmp_path, image_size=12, channels=1)
    assert tuple(data.x.shape) == (3, 1, 12, 12) and data.spec.shape == (1, 12, 12)
    with pytest.raises(DataError) as exc:
        load(engine, tmp_path)
    assert "differ in size" in one_line(exc) and "dataset.image_size" in str(exc.value)


@pytest.mark.parametrize("setup, message", [
    (lambda d: None, "does not exist"),
    (lambda d: d.mkdir(), "is empty"),
    (lambda d: (d.mkdir(), (d / "readme.txt").write_text("x")), "holds no images"),
])
def test_folder_errors_are_one_line(engine, tmp_path, setup, message):
    target = tmp_path / "images"
    setup(target)
    with pytest.raises(DataError) as exc:
        load(engine, target)
    assert message in one_line(exc) and str(target) in str(exc.value)


def test_folder_dcgan64_without_a_path_says_to_set_it(tmp_path):
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        code = main(["run", "folder-dcgan64", "--data-root", str(tmp_path), "--out", str(tmp_path / "run"),
                     "--no-progress"])
    lines = stderr.getvalue().strip().splitlines()
    assert code == 2 and len(lines) == 1 and "--set dataset.path=DIR" in lines[0], stderr.getvalue()
    assert not (tmp_path / "run").exists()


def test_resident_images_stay_uint8_and_batches_are_floats(engine, flat):
    data = load(engine, flat)
    assert data.x.dtype == torch.uint8 and data.stream is None and data.info["record"]["resident"] is True
    batcher = Batcher(data, 32, seed=0, device=CPU)
    assert batcher.x.dtype == torch.uint8 and batcher.x.nbytes == 240 * 3 * 16 * 16  # a quarter of float32
    x, y = batcher.next()
    idx = batcher._perm[:32]
    assert x.dtype == torch.float32 and y is None
    assert torch.equal(x, data.x[idx].float() / 127.5 - 1)  # 0 -> -1, 255 -> 1, linearly
    assert torch.equal(data.floats(idx), x)


def test_hflip_is_random_per_image_deterministic_and_resumable(engine, flat):
    data = load(engine, flat, hflip=True)
    first = Batcher(data, 40, seed=3, device=CPU)
    batches = [first.next()[0] for _ in range(8)]  # past the end of the first epoch (6 batches)
    plain = Batcher(load(engine, flat), 40, seed=3, device=CPU)
    flips = []
    for got in batches:
        want = plain.next()[0]
        same = (got == want).flatten(1).all(1)
        flipped = (got == want.flip(-1)).flatten(1).all(1)
        assert bool((same | flipped).all())
        flips.append(flipped & ~same)
    share = float(torch.cat(flips).double().mean())
    assert 0.35 < share < 0.65
    again = Batcher(data, 40, seed=3, device=CPU)
    again.load_state_dict({"epoch": 0, "index": 5})
    assert all(torch.equal(again.next()[0], b) for b in batches[5:])


def test_streamed_batches_equal_resident_ones_from_any_position(engine, flat):
    resident = load(engine, flat, hflip=True)
    streamed = load(engine, flat, hflip=True, resident="false", workers=2)
    assert streamed.stream is not None and streamed.info["record"]["resident"] is False
    assert torch.equal(streamed.x, resident.x)
    a, b = Batcher(resident, 32, 1, CPU), Batcher(streamed, 32, 1, CPU)
    assert b.x is None
    rng = torch.get_rng_state()
    for _ in range(10):
        assert torch.equal(b.next()[0], a.next()[0])
    for batcher in (a, b):
        batcher.load_state_dict({"epoch": 3, "index": 4})
    for _ in range(6):
        assert torch.equal(b.next()[0], a.next()[0])
    b.close()
    assert torch.equal(torch.get_rng_state(), rng)  # starting a DataLoader draws nothing from the training RNG


def test_resident_auto_compares_the_decoded_size_with_available_memory(engine, flat, monkeypatch):
    size = 240 * 3 * 16 * 16
    monkeypatch.setattr(folder_mod, "_available_memory", lambda: 4 * size - 4)
    assert load(engine, flat).stream is not None
    folder_mod._LAST.clear()
    monkeypatch.setattr(folder_mod, "_available_memory", lambda: 4 * size)
    assert load(engine, flat).stream is None


def test_the_cache_spares_decoding_until_a_file_changes(engine, tmp_path, monkeypatch):
    for i in range(20):
        write(tmp_path / f"{i:02d}.png", noise(8, 8, i))
    first = load(engine, tmp_path, resident="false")
    cache = first.stream.path
    assert cache.is_file() and cache.stat().st_size == 20 * 3 * 8 * 8
    folder_mod._LAST.clear()

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded an image the cache holds")

    with monkeypatch.context() as patch:
        patch.setattr(image_files, "read_image", no_decoding)
        patch.setattr(folder_cache, "read_image", no_decoding)
        again = load(engine, tmp_path, resident="true")
    assert again.stream is None and torch.equal(again.x, first.x)
    write(tmp_path / "03.png", noise(8, 8, 99))
    folder_mod._LAST.clear()
    changed = load(engine, tmp_path, resident="false")
    assert changed.stream.path != cache and not torch.equal(changed.x[3], first.x[3])


def test_bad_files_stop_the_load_unless_skipped(engine, tmp_path):
    for i in range(6):
        write(tmp_path / f"{i}.png", noise(8, 8, i))
    good = (tmp_path / "2.png").read_bytes()
    (tmp_path / "2.png").write_bytes(good[:40])
    with pytest.raises(DataError) as exc:
        load(engine, tmp_path)
    assert str(tmp_path / "2.png") in one_line(exc) and "dataset.skip_bad=true" in str(exc.value)
    for resident in ("true", "false"):
        folder_mod._LAST.clear()
        data = load(engine, tmp_path, skip_bad=True, resident=resident)
        assert len(data) == 5 and data.info["record"]["skipped"] == 1
        assert data.info["record"]["skipped_files"] == ["2.png"]
        assert torch.equal(data.x[2], image_files.read_image(tmp_path / "3.png", 3))


def test_folder_dcgan64_trains_on_a_flat_folder_and_reports_a_metric(tmp_path):
    """The done-when run: a few hundred images, one of them truncated and skipped, tiny widths, on the CPU."""
    images = tmp_path / "images"
    for i in range(300):
        write(images / f"{i:03d}.jpg" if i % 2 else images / f"{i:03d}.png", noise(24, 20, i))
    (images / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    run_dir = tmp_path / "run"
    sets = ["dataset.skip_bad=true", "dataset.hflip=true", "network.g_width=4", "network.d_width=4",
            "network.latent_dim=8", "train.batch_size=32", "train.log_every=2", "eval.n=100", "eval.every=0",
            "sample.n=16", "sample.nrow=4"]
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        code = main(["run", "folder-dcgan64", "--set", f"dataset.path={images}", "--steps", "4", "--out",
                     str(run_dir), "--no-progress", "--device", "cpu", *[a for s in sets for a in ("--set", s)]])
    assert code == 0, stderr.getvalue()
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert config["run"]["dataset"]["skipped"] == 1 and config["run"]["dataset"]["images"] == 300
    assert config["run"]["data"]["shape"] == [3, 64, 64]
    results = json.loads((run_dir / "eval.json").read_text())
    assert np.isfinite(results["ae-fd"]["values"]["fd"]) and results["ae-fd"]["values"]["fd"] > 0
    assert Image.open(run_dir / "samples" / "final.png").size[0] > 4 * 64
