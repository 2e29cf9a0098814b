"""``ganzoo sample --dump``: N samples as PNG files or one .npz that ``ganzoo eval --samples`` reads back exactly;
one-line errors for paths it cannot or should not write."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import TINY_RING
from ganzoo.api import load
from ganzoo.cli import main
from ganzoo.metrics.external import load_samples
from ganzoo.spec import floats_to_pixels


def tiny_run(out: Path, experiment: str, sets: list[str], data_root: Path | None = None) -> Path:
    args = ["run", experiment, "--out", str(out), "--no-progress", "--steps", "2"]
    if data_root is not None:
        args += ["--data-root", str(data_root)]
    assert main(args + [a for s in sets for a in ("--set", s)]) == 0
    return out


@pytest.fixture(scope="module")
def cgan_run(mnist_root, tmp_path_factory) -> Path:
    """A two-step conditional MNIST run (cgan-mnist, tiny widths) on 128 digits."""
    sets = ["dataset.limit=128", "train.batch_size=16", "eval.metrics=[]", "eval.primary=null",
            "network.g_hidden=[32]", "network.d_hidden=[32]"]
    return tiny_run(tmp_path_factory.mktemp("runs") / "cgan", "cgan-mnist", sets, mnist_root)


def test_npz_holds_the_samples_as_uint8_nhwc_with_their_labels_and_evaluates(cgan_run, mnist_root, tmp_path,
                                                                             capsys):
    """-n 300: x (300, 28, 28, 1) uint8 equal to the generator's samples for seed 0, labels cycling the ten
    classes; ``ganzoo eval --samples`` reads them back exactly and scores all 300 with their labels."""
    target = tmp_path / "samples.npz"
    assert main(["sample", str(cgan_run), "--dump", str(target), "-n", "300", "--device", "cpu"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == str(target)
    with np.load(target) as npz:
        x, labels = npz["x"], npz["labels"]
    assert x.shape == (300, 28, 28, 1) and x.dtype == np.uint8
    assert labels.dtype == np.int64 and labels.tolist() == [i % 10 for i in range(300)]
    generator = load(cgan_run, "cpu")
    expected = floats_to_pixels(generator.sample(300, labels, seed=0), generator.spec.value_range)
    assert np.array_equal(x, expected.permute(0, 2, 3, 1).numpy())

    floats, read_labels = load_samples(target, generator.loaded.spec)
    assert np.array_equal(floats_to_pixels(floats, generator.spec.value_range).numpy(), expected.numpy())
    assert read_labels.tolist() == labels.tolist()
    out = tmp_path / "eval.json"
    assert main(["eval", "--samples", str(target), "--dataset", "mnist", "--metrics", "fd,conditional-accuracy",
                 "--n", "300", "--data-root", str(mnist_root), "--device", "cpu", "--out", str(out)]) == 0
    results = json.loads(out.read_text())
    assert results["fd"]["protocol"]["fake_samples"] == 300
    assert results["conditional-accuracy"]["protocol"]["fake_samples"] == 300


def test_a_directory_gets_one_png_per_sample(cgan_run, tmp_path):
    """--label 3 -n 12: 000000.png .. 000011.png, 28x28 grayscale, the generator's class-3 samples."""
    target = tmp_path / "pngs"
    assert main(["sample", str(cgan_run), "--dump", str(target), "-n", "12", "--label", "3", "--seed", "5",
                 "--device", "cpu"]) == 0
    files = sorted(target.iterdir())
    assert [f.name for f in files] == [f"{i:06d}.png" for i in range(12)]
    generator = load(cgan_run, "cpu")
    expected = floats_to_pixels(generator.sample(12, 3, seed=5), generator.spec.value_range)[:, 0].numpy()
    for file, pixels in zip(files, expected):
        with Image.open(file) as img:
            assert img.mode == "L" and np.array_equal(np.asarray(img), pixels)


def test_bad_targets_are_refused_in_one_line(cgan_run, tmp_path, capsys):
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "old.png").write_bytes(b"")
    blocker = tmp_path / "file.txt"
    blocker.write_text("")
    cases = {
        str(taken): "already holds images",
        str(tmp_path / "one.png"): "not an image file",
        str(blocker): "is a file",
        str(blocker / "sub"): "cannot write",
        str(blocker / "x.npz"): "cannot write",
    }
    for target, expected in cases.items():
        assert main(["sample", str(cgan_run), "--dump", target, "-n", "2", "--device", "cpu"]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and expected in err, (target, err)
    assert main(["sample", str(cgan_run), "--dump", str(tmp_path / "a.npz"), "-o", "x.png"]) == 2
    assert "drop --vary and -o" in capsys.readouterr().err
    assert not (tmp_path / "a.npz").exists() and not (blocker.parent / "sub").exists()


def test_points_are_not_images(tmp_path, capsys):
    sets = [s for s in TINY_RING if s != "--set"] + ["eval.metrics=[]", "eval.primary=null"]
    run = tiny_run(tmp_path / "ring", "gan-ring8", sets)
    assert main(["sample", str(run), "--dump", str(tmp_path / "p.npz"), "-n", "4"]) == 2
    assert "--dump writes images" in capsys.readouterr().err
