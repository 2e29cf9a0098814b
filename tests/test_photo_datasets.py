"""CelebA, LSUN and STL-10 (plugin ``photo_datasets``) on their tiny fixtures in torchvision's layout: the crop and
resize each promises, the splits and labels, and one-line errors for missing files, packages and bad options."""

from __future__ import annotations

import sys

import pytest
import torch

from ganzoo.engine import Engine
from ganzoo.errors import ConfigError, DataError

Engine()  # loads this checkout's built-ins under their import name, ganzoo_plugins
from ganzoo_plugins import photo_fixtures as fixtures  # noqa: E402


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """Every fixture, both splits, in one data root."""
    path = tmp_path_factory.mktemp("photos")
    for split in ("train", "test"):
        fixtures.write_celeba(path, split)
        fixtures.write_lsun(path, split)
        fixtures.write_stl10(path, split)
    return path


def load(engine, root, split: str, **block):
    """One split of a data set, loaded offline from ``root``."""
    return engine.load_data({"dataset": block}, split, root)


def luminance(x: torch.Tensor) -> torch.Tensor:
    return x.float().mean(dim=1)


def test_celeba_crops_the_central_108_square_then_scales_it_to_64(engine, root):
    """The fixture's faces are a bright 108x108 square on a dark border: the DCGAN crop holds only the square;
    crop 0 (shorter side scaled, then centre-cropped) keeps the dark border above and below."""
    train = load(engine, root, "train", name="celeba", verify=False)
    assert train.x.shape == (5, 3, 64, 64) and train.x.dtype == torch.uint8 and train.y is None
    assert float(luminance(train.x).min()) > 100
    whole = load(engine, root, "train", name="celeba", verify=False, crop=0, image_size=32)
    assert whole.x.shape == (5, 3, 32, 32)
    assert float(luminance(whole.x)[:, 0, :].max()) < 40 and float(luminance(whole.x)[:, 16, 16].min()) > 100
    assert len(load(engine, root, "test", name="celeba", verify=False)) == 2  # the partition's test images only


def test_celeba_errors_are_one_line(engine, root, tmp_path):
    with pytest.raises(DataError, match="dataset.verify=false") as info:
        load(engine, root, "train", name="celeba")  # the fixture's list files are not the released ones
    assert "\n" not in str(info.value)
    with pytest.raises(DataError, match=r"CelebA is not under .*celeba"):
        load(engine, tmp_path, "train", name="celeba")
    with pytest.raises(ConfigError, match="dataset.crop must lie in 0..178"):
        load(engine, root, "train", name="celeba", verify=False, crop=200)


def test_lsun_reads_torchvisions_layout_in_torchvisions_order(engine, root, tmp_path, monkeypatch):
    """The images equal torchvision's LSUN reading the same LMDB with the same resize and crop."""
    from torchvision import transforms
    from torchvision.datasets import LSUN

    data = load(engine, root, "train", name="lsun", image_size=16)
    assert data.x.shape == (fixtures.LSUN_IMAGES, 3, 16, 16) and data.x.dtype == torch.uint8 and data.y is None
    monkeypatch.chdir(tmp_path)  # torchvision pickles its key list into the current directory
    transform = transforms.Compose([transforms.Resize(16), transforms.CenterCrop(16), transforms.PILToTensor()])
    reference = LSUN(str(root), classes=["bedroom_train"], transform=transform)
    assert torch.equal(data.x, torch.stack([reference[i][0] for i in range(len(reference))]))
    assert len(load(engine, root, "test", name="lsun", limit=4)) == 4  # the val LMDB, capped


def test_lsun_errors_are_one_line(engine, root, tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="unknown LSUN category 'attic'"):
        load(engine, root, "train", name="lsun", category="attic")
    with pytest.raises(DataError, match=r"kitchen_train_lmdb; torchvision cannot download LSUN"):
        load(engine, root, "train", name="lsun", category="kitchen")
    monkeypatch.setitem(sys.modules, "lmdb", None)  # as if the package were not installed
    with pytest.raises(DataError, match=r"needs the lmdb package: pip install 'ganzoo\[lsun\]'"):
        load(engine, root, "train", name="lsun")


def test_stl10_reads_the_column_major_binaries_with_their_labels(engine, root):
    train = load(engine, root, "train", name="stl10", verify=False)
    assert torch.equal(train.x, torch.from_numpy(fixtures.stl10_images("train")))
    assert train.spec.num_classes == 10 and train.y.tolist() == list(range(10))
    small = load(engine, root, "test", name="stl10", verify=False, image_size=48)
    assert small.x.shape == (10, 3, 48, 48) and small.y is not None


def test_stl10_unlabeled_adds_the_unlabelled_images_and_drops_labels(engine, root):
    train = load(engine, root, "train", name="stl10", verify=False, unlabeled=True)
    count = fixtures.STL10_IMAGES["train"] + fixtures.STL10_IMAGES["unlabeled"]
    assert len(train) == count and train.y is None and train.spec.num_classes == 0
    assert load(engine, root, "test", name="stl10", verify=False, unlabeled=True).y is None
    with pytest.raises(DataError):
        load(engine, root, "train", name="stl10")  # checksums of the fixture's files differ from the release


@pytest.mark.parametrize("experiment", ["dcgan-celeba64", "dcgan-lsun-bedroom64", "dcgan-stl10-64"])
def test_the_experiments_build_a_64x64_dcgan(engine, experiment):
    from ganzoo.api import resolve_config

    _, config = resolve_config(experiment, engine=engine)
    assert config["network"]["name"] == "dcgan64" and config["dataset"]["image_size"] == 64
    assert config["eval"]["metrics"] == ["ae-fd"]
