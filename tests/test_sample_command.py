"""``ganzoo sample``: grids of the requested size and label from a run's checkpoint; bad input exits 2, writes nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import run_cli
from ganzoo.cli import main

TINY = {
    "cgan-mnist": ["network.g_hidden=[32]", "network.d_hidden=[32]"],
    "gan-mnist": ["network.hidden=32", "network.d_hidden=32"],
}


def grid_size(cols: int, rows: int, side: int = 28, pad: int = 2) -> tuple[int, int]:
    """Pixel size of a torchvision grid of cols x rows images."""
    return cols * (side + pad) + pad, rows * (side + pad) + pad


@pytest.fixture(scope="module")
def runs(mnist_root, tmp_path_factory) -> dict[str, Path]:
    """A two-step conditional (cgan-mnist) and unconditional (gan-mnist) run on 128 digits."""
    made = {}
    for experiment, overrides in TINY.items():
        run_dir = tmp_path_factory.mktemp("runs") / experiment
        sets = ["dataset.limit=128", "train.batch_size=16", "train.steps=2", "eval.metrics=[]",
                "eval.primary=null", *overrides]
        args = ["run", experiment, "--data-root", str(mnist_root), "--out", str(run_dir), "--no-progress"]
        assert main(args + [a for s in sets for a in ("--set", s)]) == 0
        made[experiment] = run_dir
    return made


def files_under(path: Path) -> dict[str, int]:
    """Every file below path with its size."""
    return {str(p.relative_to(path)): p.stat().st_size for p in path.rglob("*") if p.is_file()}


def pixels(path: Path) -> np.ndarray:
    """An image's pixels."""
    return np.asarray(Image.open(path))


def test_default_grid_has_a_row_per_digit_and_prints_its_path(runs, capsys):
    """No options: RUN_DIR/samples/sample-0.png, ten rows of sample.nrow (10) digits, path on the last line."""
    assert main(["sample", str(runs["cgan-mnist"]), "--device", "cpu"]) == 0
    expected = runs["cgan-mnist"] / "samples" / "sample-0.png"
    assert capsys.readouterr().out.strip().splitlines()[-1] == str(expected)
    assert Image.open(expected).size == grid_size(10, 10)


def test_label_and_size_are_honoured(runs, tmp_path):
    """--n 6 --label K gives one row of six; the label changes the images, the same request repeats exactly."""
    run = str(runs["cgan-mnist"])
    outputs = {}
    for name, extra in {"three": ["--label", "3"], "three_again": ["--label", "3"], "zero": ["--label", "0"],
                        "default": []}.items():
        outputs[name] = tmp_path / f"{name}.png"
        assert main(["sample", run, "--n", "6", "--seed", "5", "-o", str(outputs[name]), *extra]) == 0
    assert Image.open(outputs["three"]).size == grid_size(6, 1)
    assert np.array_equal(pixels(outputs["three"]), pixels(outputs["three_again"]))
    assert not np.array_equal(pixels(outputs["three"]), pixels(outputs["zero"]))
    # without --label the first row is class 0, so it matches --label 0 with the same seed
    assert np.array_equal(pixels(outputs["default"]), pixels(outputs["zero"]))


def test_unconditional_run_samples_n_images(runs, tmp_path):
    """An unconditional model writes --n images, sample.nrow per row."""
    out = tmp_path / "grid.png"
    assert main(["sample", str(runs["gan-mnist"]), "--n", "12", "-o", str(out)]) == 0
    assert Image.open(out).size == grid_size(8, 2)


def broken_copy(run: Path, tmp_path: Path, damage: str) -> Path:
    """A copy of a run with its checkpoint removed or truncated."""
    copy = tmp_path / f"{damage}-run"
    shutil.copytree(run, copy)
    checkpoint = copy / "checkpoints" / "last.pt"
    if damage == "missing":
        checkpoint.unlink()
    else:
        data = checkpoint.read_bytes()
        checkpoint.write_bytes(data[: len(data) // 2])
    return copy


@pytest.mark.parametrize("case, args, message", [
    ("cgan-mnist", ["--n", "0"], "--n must be at least 1"),
    ("cgan-mnist", ["--n", "-3"], "--n must be at least 1"),
    ("cgan-mnist", ["--label", "10"], "out of range"),
    ("cgan-mnist", ["--label", "-1"], "out of range"),
    ("gan-mnist", ["--label", "2"], "unconditional"),
    ("missing", [], "no checkpoint"),
])
def test_bad_input_is_one_line_and_writes_nothing(runs, tmp_path, capsys, case, args, message):
    """Each bad request exits 2 with one line on stderr, and neither the run nor -o gains a file."""
    run = runs[case] if case in runs else broken_copy(runs["cgan-mnist"], tmp_path, case)
    before = files_under(run)
    out = tmp_path / "out" / "grid.png"
    assert main(["sample", str(run), "-o", str(out), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err
    assert files_under(run) == before and not out.parent.exists()


def test_corrupt_checkpoint_fails_cleanly_in_a_subprocess(runs, tmp_path):
    """A truncated checkpoint: exit 2, one line, no traceback, nothing written."""
    run = broken_copy(runs["cgan-mnist"], tmp_path, "truncated")
    before = files_under(run)
    proc = run_cli("sample", str(run), "--device", "cpu")
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "corrupt" in proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    assert files_under(run) == before
