"""End to end: `ganzoo install` the example plugin into a temporary target, use it, uninstall it.

The plugin is installed with ``--no-deps --no-build-isolation --target DIR`` (passed through to
the installer after '--'), so nothing is downloaded and the project's .venv is left untouched;
DIR reaches ganzoo through PYTHONPATH, as a second site-packages would.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "ganzoo-lecam"


def ganzoo(*args: str, target: Path) -> subprocess.CompletedProcess:
    """Run the ganzoo CLI in a subprocess that sees the target directory."""
    env = {**os.environ, "PYTHONPATH": str(target), "GANZOO_OFFLINE": "1", "COLUMNS": "200"}
    env.pop("GANZOO_LOAD_PLUGINS", None)
    env.pop("GANZOO_DISABLE_PLUGINS", None)
    return subprocess.run([sys.executable, "-m", "ganzoo", *args], capture_output=True, text=True, env=env,
                          cwd=target, timeout=300)


def plugin_rows(target: Path) -> dict[str, dict]:
    """`ganzoo plugins --json`, by plugin name."""
    result = ganzoo("plugins", "--json", target=target)
    assert result.returncode == 0, result.stderr
    return {row["name"]: row for row in json.loads(result.stdout)}


def write_fake_mnist(root: Path, n: int = 64) -> None:
    """Tiny MNIST files in torchvision's raw idx layout (random digits), so no download is needed."""
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for split in ("train", "t10k"):
        pixels = bytes((i * 37 + j) % 256 for i in range(n) for j in range(28 * 28))
        (raw / f"{split}-images-idx3-ubyte").write_bytes(struct.pack(">iiii", 2051, n, 28, 28) + pixels)
        (raw / f"{split}-labels-idx1-ubyte").write_bytes(struct.pack(">ii", 2049, n) + bytes(i % 10 for i in range(n)))


@pytest.fixture(scope="module")
def target(tmp_path_factory) -> Path:
    """A directory the example plugin is installed into with `ganzoo install`."""
    path = tmp_path_factory.mktemp("site")
    result = ganzoo("install", str(EXAMPLE), "--", "--no-deps", "--no-build-isolation", "--target", str(path),
                    target=path)
    assert result.returncode == 0, result.stderr
    assert (path / "ganzoo_lecam" / "__init__.py").is_file()
    return path


def test_installed_plugin_is_listed_with_what_it_registered(target):
    """After install the plugin appears in `ganzoo plugins --json` as a loaded entry point."""
    row = plugin_rows(target)["lecam"]
    assert (row["distribution"], row["version"], row["source"], row["status"]) == \
        ("ganzoo-lecam", "0.1.0", "entry point", "loaded")
    assert row["registered"] == {"losses": ["lecam"], "experiments": ["lecam-dcgan-mnist"]}
    assert row["uninstall"] == "ganzoo uninstall ganzoo-lecam"


def test_installed_experiment_is_listed_and_trains(target, tmp_path):
    """`ganzoo list` shows lecam-dcgan-mnist, and it trains a few steps into a complete run directory whose
    checkpoint holds the loss's moving averages."""
    listing = ganzoo("list", target=target)
    assert listing.returncode == 0 and "lecam-dcgan-mnist" in listing.stdout
    write_fake_mnist(tmp_path / "data")
    run_dir = tmp_path / "run"
    result = ganzoo("run", "lecam-dcgan-mnist", "--steps", "2", "--device", "cpu", "--no-progress",
                    "--data-root", str(tmp_path / "data"), "--out", str(run_dir),
                    "--set", "train.batch_size=8", "--set", "train.log_every=1", "--set", "sample.n=10",
                    "--set", "network.latent_dim=8", "--set", "network.width=4", "--set", "eval.metrics=[]",
                    "--set", "eval.primary=null",
                    target=target)
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert config["network"]["name"] == "dcgan" and config["loss"]["name"] == "lecam"
    assert config["dataset"]["limit"] == 1000
    assert config["run"]["versions"]["plugins"]["ganzoo-lecam"] == "0.1.0"
    events = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [e["step"] for e in events if e["event"] == "train"] == [1, 2]
    checkpoint = torch.load(run_dir / "checkpoints" / "last.pt", weights_only=True)
    assert set(checkpoint["schedule"]["loss"]) == {"anchor_real", "anchor_fake"}


def test_uninstall_removes_the_plugin(target):
    """`ganzoo uninstall -y` removes it: gone from the target and from `ganzoo plugins`.

    Runs last in this module (pytest keeps file order); the install fixture is module-scoped.
    """
    result = ganzoo("uninstall", "-y", "ganzoo-lecam", "--", "--target", str(target), target=target)
    assert result.returncode == 0, result.stderr
    assert not (target / "ganzoo_lecam").exists()
    assert "lecam" not in plugin_rows(target)
    assert "lecam-dcgan-mnist" not in ganzoo("list", target=target).stdout


def test_example_plugin_own_tests_pass():
    """The example's own suite (ganzoo.testing conformance + LeCam checks) passes from its directory."""
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=EXAMPLE,
                            capture_output=True, text=True, env={**os.environ, "GANZOO_OFFLINE": "1"}, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:]
    assert " passed" in result.stdout and "failed" not in result.stdout
