"""The image GAN families: each experiment trains end to end on tiny data; conditional networks use their labels."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from PIL import Image

from conftest import run_cli
from ganzoo.cli import main
from ganzoo.errors import ConfigError
from ganzoo.spec import DataSpec

#: Per experiment: overrides that shrink its network, and the grid columns it writes.
TINY = {
    "gan-mnist": (["network.hidden=32", "network.d_hidden=32"], 4),
    "cgan-mnist": (["network.g_hidden=[32, 32]", "network.d_hidden=[32]"], 10),
    "dcgan-mnist": (["network.width=4"], 4),
    "cdcgan-mnist": (["network.width=4", "network.embed_dim=4"], 10),
}
NO_EVAL = ["eval.metrics=[]", "eval.primary=null"]


def sets(*items: str) -> list[str]:
    """--set arguments for each item."""
    return [arg for item in items for arg in ("--set", item)]


def grid_size(cols: int, rows: int, side: int = 28, pad: int = 2) -> tuple[int, int]:
    """Pixel size of a torchvision grid of cols x rows images."""
    return cols * (side + pad) + pad, rows * (side + pad) + pad


@pytest.mark.parametrize("experiment", sorted(TINY))
def test_mnist_experiment_trains_end_to_end(experiment, mnist_root, tmp_path, capsys):
    """Two steps on 256 real digits leave a config, metrics, a final grid and a loadable checkpoint."""
    overrides, cols = TINY[experiment]
    run_dir = tmp_path / "run"
    rc = main(["run", experiment, "--data-root", str(mnist_root), "--out", str(run_dir), "--no-progress",
               *sets("dataset.limit=256", "train.batch_size=16", "train.steps=2", "train.log_every=1",
                     "sample.n=8", "sample.nrow=4" if cols == 4 else "sample.nrow=10", *NO_EVAL, *overrides)])
    assert rc == 0, capsys.readouterr().err
    events = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [e["step"] for e in events if e["event"] == "train"] == [1, 2]
    assert all(e["images_per_s"] > 0 for e in events)
    # MNIST carries labels, so the trainer draws a row per digit for every family
    assert Image.open(run_dir / "samples" / "final.png").size == grid_size(cols, 10)
    state = torch.load(run_dir / "checkpoints" / "last.pt", weights_only=True)
    assert state["step"] == 2 and state["spec"]["shape"] == [1, 28, 28]


def test_dcgan_cifar10_trains_on_an_image_folder(tmp_path):
    """The 32x32 DCGAN of dcgan-cifar10 trains from a folder of small RGB images (the old image-folder name),
    resized and cropped to 32x32, in a subprocess."""
    folder = tmp_path / "images" / "only"
    folder.mkdir(parents=True)
    gen = torch.Generator().manual_seed(0)
    for i in range(16):
        pixels = torch.randint(0, 256, (40, 48, 3), generator=gen, dtype=torch.uint8).numpy()
        Image.fromarray(pixels, "RGB").save(folder / f"{i}.png")
    run_dir = tmp_path / "run"
    proc = run_cli("run", "dcgan-cifar10", "--out", str(run_dir), "--no-progress", "--device", "cpu",
                   *sets("dataset.name=image-folder", f"dataset.path={folder.parent}", "dataset.image_size=32",
                         "train.batch_size=8",
                         "train.steps=2", "network.g_width=4", "network.d_width=4", "sample.n=8", "sample.nrow=4",
                         *NO_EVAL))
    assert proc.returncode == 0, proc.stderr
    assert Image.open(run_dir / "samples" / "final.png").size == grid_size(4, 2, side=32)
    assert torch.load(run_dir / "checkpoints" / "last.pt", weights_only=True)["spec"]["shape"] == [3, 32, 32]


@pytest.mark.parametrize("network, params", [
    ("cgan", {"latent_dim": 8, "embed_dim": 4, "g_hidden": [16], "d_hidden": [16]}),
    ("cdcgan", {"latent_dim": 8, "embed_dim": 4, "width": 4}),
])
def test_conditional_networks_honour_their_labels(engine, network, params):
    """Same noise, different labels: different images and logits, of the data's shape and dtype."""
    spec = DataSpec((1, 28, 28), 10)
    G, D = engine.registry.get("networks", network).obj(spec, **params)
    G.eval(), D.eval()
    assert G.num_classes == 10
    z = torch.randn(6, G.latent_dim)
    labels = torch.tensor([0, 1, 2, 3, 4, 5], dtype=torch.int64)
    with torch.no_grad():
        x = G(z, labels)
        x_other = G(z, (labels + 5) % 10)
        logits = D(x, labels)
        logits_other = D(x, (labels + 5) % 10)
    assert x.shape == (6, 1, 28, 28) and x.dtype == torch.float32
    assert x.min() >= -1 and x.max() <= 1
    assert (x - x_other).abs().flatten(1).amax(1).gt(1e-6).all()
    assert logits.shape == (6,) and logits.dtype == torch.float32
    assert not torch.allclose(logits, logits_other)
    with pytest.raises(ValueError, match="needs labels"):
        G(z)


@pytest.mark.parametrize("network, spec, needs", [
    ("cgan", DataSpec((1, 28, 28)), "labelled data"),
    ("cdcgan", DataSpec((1, 28, 28)), "labelled data"),
    ("dcgan", DataSpec((1, 32, 32), 10), "Cx28x28"),
    ("dcgan64", DataSpec((1, 28, 28), 10), "Cx64x64"),
    ("dcgan64", DataSpec((2,)), "Cx64x64"),
])
def test_builders_refuse_data_they_cannot_serve(engine, network, spec, needs):
    """A spec a network cannot serve is a ConfigError that names what it needs."""
    with pytest.raises(ConfigError, match=needs):
        engine.registry.get("networks", network).obj(spec)


@pytest.mark.parametrize("network", ["dcgan", "cdcgan"])
@pytest.mark.parametrize("layout", ["paper", "tutorial"])
def test_both_28px_layouts_make_digits_and_logits(engine, network, layout):
    """Each 28x28 layout gives (N, 1, 28, 28) images in [-1, 1] and one logit per image; the layouts differ."""
    spec = DataSpec((1, 28, 28), 10)
    G, D = engine.registry.get("networks", network).obj(spec, latent_dim=8, width=4, layout=layout)
    other = "tutorial" if layout == "paper" else "paper"
    G_other, _ = engine.registry.get("networks", network).obj(spec, latent_dim=8, width=4, layout=other)
    labels = torch.arange(5) % 10
    x = G(torch.randn(5, 8), labels)
    assert x.shape == (5, 1, 28, 28) and x.min() >= -1 and x.max() <= 1
    assert D(x, labels).shape == (5,)
    shapes = [tuple(p.shape) for p in G.parameters()]
    assert shapes != [tuple(p.shape) for p in G_other.parameters()]


def test_paper_layout_is_the_lighter_one(engine):
    """At the default width the paper layout's generator has under half the tutorial's weights."""
    build = engine.registry.get("networks", "dcgan").obj
    paper_g, _ = build(DataSpec((1, 28, 28)), layout="paper")
    tutorial_g, _ = build(DataSpec((1, 28, 28)), layout="tutorial")
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(paper_g) * 2 < count(tutorial_g)


def test_unknown_layout_names_the_layouts(engine):
    """A typo in network.layout is a ConfigError listing both layouts."""
    with pytest.raises(ConfigError, match="paper, tutorial"):
        engine.registry.get("networks", "dcgan").obj(DataSpec((1, 28, 28)), layout="papr")


def test_wrong_image_size_is_one_line_and_writes_nothing(mnist_root, tmp_path, capsys):
    """dcgan-mnist on 32x32 digits exits 2 with one line naming the sizes that work; no run directory."""
    run_dir = tmp_path / "run"
    rc = main(["run", "dcgan-mnist", "--data-root", str(mnist_root), "--out", str(run_dir), "--no-progress",
               *sets("dataset.limit=64", "dataset.image_size=32")])
    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert len(err.splitlines()) == 1 and "28x28" in err and "dataset.image_size=28" in err
    assert not Path(run_dir).exists()
