"""Image-to-image translation: the contract (source images as conditions, PatchGAN maps), the paired and
unpaired folder data, pix2pix's U-Net and PatchGAN, CycleGAN's losses and history pool, exact resume,
the content-kept metric and ``ganzoo sample --input``."""

from __future__ import annotations

import signal
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from reliability import bitwise_equal, cli, one_thread, state, training_state  # noqa: F401 - one_thread: autouse

import ganzoo
import ganzoo.progress  # noqa: F401 - rich draws from Python's RNG when first imported: before any run, not inside one
from ganzoo.data import user_cache_dir
from ganzoo.engine import Engine
from ganzoo.errors import DataError, GanzooError
from ganzoo.metrics.base import EvalContext
from ganzoo.spec import DataSpec
from ganzoo.testing import conformance_cases

ENGINE = Engine()  # loads this checkout's built-ins under their import name, ganzoo_plugins

from ganzoo_plugins.cyclegan_nets import CycleGenerator  # noqa: E402
from ganzoo_plugins.image_pool import ImagePool  # noqa: E402
from ganzoo_plugins.losses import LeastSquares, NonSaturating  # noqa: E402
from ganzoo_plugins.mnist_translation import mnist_edges  # noqa: E402
from ganzoo_plugins.patchgan import PatchDiscriminator, receptive_field  # noqa: E402
from ganzoo_plugins.pix2pix_nets import UNetGenerator  # noqa: E402
from ganzoo_plugins.translation_data import folder_pairs, folder_unpaired  # noqa: E402
from ganzoo_plugins.translation_metrics import content_kept  # noqa: E402
from ganzoo_plugins.translation_schedules import translations_and_reconstructions  # noqa: E402

SPEC28 = DataSpec((1, 28, 28), condition_shape=(1, 28, 28))
#: A CycleGAN run small enough to train a few steps in about a second.
TINY_CYCLE = ["dataset.limit=64", "network.width=4", "network.blocks=1", "network.d_width=4", "train.batch_size=4",
              "schedule.pool_size=6", "eval.metrics=[]", "eval.primary=null", "train.log_every=1",
              "train.sample_every=1000", "train.checkpoint_every=1000", "sample.n=8", "sample.nrow=4"]
TINY_PIX2PIX = ["dataset.limit=64", "network.width=4", "network.d_width=4", "train.batch_size=8", "eval.metrics=[]",
                "eval.primary=null", "train.sample_every=1000", "sample.n=8", "sample.nrow=4"]


def write_images(folder: Path, names: list[str], size: tuple[int, int] = (12, 10), value: int | None = None) -> None:
    """Random (or flat ``value``) RGB images at folder/<name> (the suffix picks the format)."""
    rng = np.random.default_rng(len(names))
    for name in names:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        pixels = rng.integers(0, 256, (*size, 3), dtype=np.uint8) if value is None else np.full((*size, 3), value,
                                                                                               np.uint8)
        Image.fromarray(pixels).save(path)


# --- the contract -------------------------------------------------------------------------------
def test_conformance_suite_covers_every_translation_component():
    """test_conformance's suite over the built-ins checks each of them (networks on translation specs, the
    schedules on their example networks, the data sets on their fixtures)."""
    cases = set(conformance_cases(ENGINE, "ganzoo"))
    for case in [("networks", "pix2pix"), ("networks", "cyclegan"), ("schedules", "pix2pix"),
                 ("schedules", "cyclegan"), ("datasets", "folder-pairs"), ("datasets", "folder-unpaired"),
                 ("datasets", "mnist-edges"), ("datasets", "mnist-strokes"), ("experiments", "pix2pix-mnist-edges"),
                 ("experiments", "cyclegan-mnist-strokes"), ("experiments", "pix2pix-folder"),
                 ("experiments", "cyclegan-folder")]:
        assert case in cases


def test_condition_shape_round_trips_and_old_specs_read_without_it():
    spec = DataSpec((3, 32, 32), 0, (-1.0, 1.0), condition_shape=(1, 32, 32))
    assert spec.translation and DataSpec.from_dict(spec.to_dict()) == spec
    old = {"shape": [1, 28, 28], "num_classes": 10, "value_range": [-1.0, 1.0]}
    assert DataSpec.from_dict(old) == DataSpec((1, 28, 28), 10) and not DataSpec.from_dict(old).translation
    assert "condition_shape" not in DataSpec((1, 28, 28), 10).to_dict()


def test_penalties_and_losses_treat_a_patch_map_as_its_mean_logit():
    """R1 (and any loss) on a D that returns an (N, 2, 2) map equals the same on D's per-sample mean logit."""
    torch.manual_seed(0)
    weights = torch.randn(4, 6)

    def patch_map(x, labels=None):
        return (x @ weights.T).tanh().view(-1, 2, 2) * 3

    def mean_logit(x, labels=None):
        return patch_map(x).mean((1, 2))

    x = torch.randn(5, 6)
    loss = NonSaturating(r1_gamma=2.0)
    r1_map, r1_mean = loss.penalty(patch_map, x, x, None), loss.penalty(mean_logit, x, x, None)
    assert float(r1_map.detach()) > 0 and torch.allclose(r1_map, r1_mean)
    logits = patch_map(x)
    assert torch.allclose(LeastSquares().d_loss(logits, -logits), 0.5 * ((logits - 1) ** 2 + logits ** 2).mean())


# --- data -----------------------------------------------------------------------------------------
def test_folder_pairs_match_by_name_across_suffixes_and_subfolders(tmp_path):
    write_images(tmp_path / "A", ["x.png", "y.png", "sub/z.png"], value=200)
    write_images(tmp_path / "B", ["x.jpg", "y.webp", "sub/z.bmp"], value=40)
    data = folder_pairs(tmp_path, "train", False, path=str(tmp_path), image_size=8, channels=3, source_channels=1)
    assert data.spec.shape == (3, 8, 8) and data.spec.condition_shape == (1, 8, 8) and data.info["paired"]
    assert len(data) == 3 and data.y.shape == (3, 1, 8, 8) and data.y.dtype == torch.float32
    assert torch.allclose(data.y, torch.full_like(data.y, 200 / 127.5 - 1), atol=0.02)
    assert torch.allclose(data.x, torch.full_like(data.x, 40 / 127.5 - 1), atol=0.05)


def test_folder_pairs_name_the_unmatched_images_in_one_line(tmp_path):
    write_images(tmp_path / "A", ["a.png", "b.png", "c.png"])
    write_images(tmp_path / "B", ["a.png", "d.png"])
    with pytest.raises(DataError) as info:
        folder_pairs(tmp_path, "train", False, path=str(tmp_path), image_size=8)
    message = str(info.value)
    assert "\n" not in message and "2 image name(s)" in message and "1 in" in message and "'b'" in message


def test_folder_pairs_read_per_split_folders_and_refuse_a_missing_domain(tmp_path):
    write_images(tmp_path / "train" / "A", ["a.png", "b.png"])
    write_images(tmp_path / "train" / "B", ["a.png", "b.png"])
    write_images(tmp_path / "test" / "A", ["c.png"])
    write_images(tmp_path / "test" / "B", ["c.png"])
    assert len(folder_pairs(tmp_path, "train", False, path=str(tmp_path), image_size=8)) == 2
    assert len(folder_pairs(tmp_path, "test", False, path=str(tmp_path), image_size=8)) == 1
    (tmp_path / "only").mkdir()
    write_images(tmp_path / "only" / "A", ["a.png"])
    with pytest.raises(DataError, match="B/ is missing"):
        folder_pairs(tmp_path, "train", False, path=str(tmp_path / "only"), image_size=8)


def test_folder_unpaired_covers_both_domains_and_reshuffles_with_the_seed(tmp_path):
    write_images(tmp_path / "A", [f"a{i}.png" for i in range(3)])
    write_images(tmp_path / "B", [f"b{i}.png" for i in range(5)])
    data = folder_unpaired(tmp_path, "train", False, path=str(tmp_path), image_size=8)
    assert len(data) == 5 and not data.info["paired"]
    assert len(torch.unique(data.x, dim=0)) == 5 and len(torch.unique(data.y, dim=0)) == 3
    again = folder_unpaired(tmp_path, "train", False, path=str(tmp_path), image_size=8)
    other = folder_unpaired(tmp_path, "train", False, path=str(tmp_path), image_size=8, seed=1)
    assert torch.equal(again.x, data.x) and torch.equal(again.y, data.y)
    assert not (torch.equal(other.x, data.x) and torch.equal(other.y, data.y))


def test_mnist_demos_keep_their_digits(mnist_root):
    data = mnist_edges(mnist_root, "test", False, limit=50)
    assert data.info["paired"] and torch.equal(data.extras["digits"], data.extras["target_digits"])
    outline = data.y > 0
    assert outline.any() and not (outline & (data.x > 0)).any(), "the outline lies outside the binarized digit"
    strokes = ENGINE.load_data({"dataset": {"name": "mnist-strokes", "limit": 200}}, "train", mnist_root)
    assert len(strokes) == 100 and not strokes.info["paired"]
    ink = lambda x: (x + 1).sum((1, 2, 3)).mean()  # noqa: E731
    assert ink(strokes.x) > 1.8 * ink(strokes.y), "domain B (thick) carries far more ink than A (thin)"


# --- networks -------------------------------------------------------------------------------------
def test_unet_skips_join_mirrored_encoder_and_decoder_layers():
    torch.manual_seed(0)
    G = UNetGenerator(SPEC28, width=4).eval()
    shapes = {"down": [], "up": []}
    for kind in shapes:
        for layer in getattr(G, kind):
            layer.register_forward_hook(lambda m, i, o, kind=kind: shapes[kind].append(tuple(o.shape[1:])))
    source = torch.rand(2, 1, 28, 28) * 2 - 1
    out = G(torch.zeros(2, 0), source)
    assert out.shape == (2, 1, 28, 28) and G.latent_dim == 0
    assert shapes["down"] == [(4, 16, 16), (8, 8, 8), (16, 4, 4), (32, 2, 2), (32, 1, 1)]
    assert shapes["up"] == [(32, 2, 2), (16, 4, 4), (8, 8, 8), (4, 16, 16)]
    with torch.no_grad():  # with the bottleneck cut, the skips alone still carry the source through
        G.down[-1][1].weight.zero_()
        G.down[-1][1].bias.zero_()
        assert not torch.equal(G(torch.zeros(2, 0), source), G(torch.zeros(2, 0), -source))


def test_patchgan_gives_a_map_of_patch_logits_each_seeing_its_receptive_field():
    assert receptive_field(3) == 70 and receptive_field(1) == 16
    D = PatchDiscriminator(1, width=4, layers=1).eval()
    x = torch.randn(2, 1, 28, 28, requires_grad=True)
    logits = D(x)
    assert logits.shape == (2, 12, 12)
    (grad,) = torch.autograd.grad(logits[0, 5, 5], x)
    rows, cols = grad[0, 0].abs().sum(1).nonzero(), grad[0, 0].abs().sum(0).nonzero()
    assert grad[1].abs().sum() == 0
    assert int(rows.max() - rows.min()) + 1 <= 16 and int(cols.max() - cols.min()) + 1 <= 16
    assert int(rows.max() - rows.min()) + 1 >= 12, "one logit sees a patch, not a pixel"


def test_cycle_and_identity_losses_vanish_for_identity_generators():
    torch.manual_seed(0)  # an untrained generator's losses exceed 0.01 on most draws, not all of them
    G = CycleGenerator(DataSpec((1, 16, 16), condition_shape=(1, 16, 16)), width=4, blocks=1)
    a, b, z = torch.rand(3, 1, 16, 16), torch.rand(3, 1, 16, 16), torch.zeros(3, 0)
    _, _, cycle, identity = translations_and_reconstructions(G, z, a, b, identity=True)
    assert float(cycle) > 0.01 and float(identity) > 0.01
    G.ab, G.ba = torch.nn.Identity(), torch.nn.Identity()
    fake_b, fake_a, cycle, identity = translations_and_reconstructions(G, z, a, b, identity=True)
    assert torch.equal(fake_b, a) and torch.equal(fake_a, b) and float(cycle) == 0 and float(identity) == 0


# --- the history pool -----------------------------------------------------------------------------
def test_history_pool_fills_then_swaps_half_the_time():
    pool = ImagePool(4, seed=0)
    first = torch.arange(3.0).view(3, 1)
    assert torch.equal(pool.query(first), first) and pool.count == 3
    assert torch.equal(pool.query(torch.tensor([[3.0]])), torch.tensor([[3.0]]))
    assert pool.count == 4 and pool.images.flatten().tolist() == [0, 1, 2, 3]
    fresh = torch.arange(100.0, 2100.0).view(-1, 1)
    out = pool.query(fresh)
    swapped = out != fresh
    assert 0.45 < swapped.float().mean() < 0.55, "each new image is swapped for an old one with probability 1/2"
    assert set(out[swapped].tolist()) <= set(range(4)) | set(fresh.flatten().tolist())
    assert ImagePool(0, seed=0).query(fresh) is not None and torch.equal(ImagePool(0, seed=0).query(fresh), fresh)


def test_history_pool_state_continues_the_same_swaps():
    pool = ImagePool(5, seed=3)
    pool.query(torch.randn(7, 1, 2, 2))
    saved = pool.state_dict()
    batch = torch.randn(6, 1, 2, 2)
    expected = pool.query(batch)
    restored = ImagePool(5, seed=99)
    restored.load_state_dict(saved)
    assert torch.equal(restored.query(batch), expected) and torch.equal(restored.images, pool.images)


# --- training ---------------------------------------------------------------------------------------
def test_cyclegan_killed_and_resumed_equals_an_uninterrupted_run(tmp_path, mnist_root):
    """A run stopped at step 2 (checkpointed by the signal path) and resumed ends bitwise where an uninterrupted run
    does: weights, both optimizers, the history pools with their generators, data position and RNG."""
    kwargs = dict(steps=4, overrides=TINY_CYCLE, data_root=mnist_root, progress=False, device="cpu")
    whole = ganzoo.train("cyclegan-mnist-strokes", out=tmp_path / "whole", **kwargs)
    calls = iter(range(100))
    stopped = ganzoo.train("cyclegan-mnist-strokes", out=tmp_path / "cut", **kwargs,
                           should_stop=lambda: signal.SIGTERM if next(calls) == 1 else None)
    assert stopped.stopped_by == signal.SIGTERM and stopped.step == 2
    cut_state = state(tmp_path / "cut" / "checkpoints" / "last.pt")
    assert cut_state["schedule"]["pools"]["a"]["count"] == 6, "the pool is full and must resume with its contents"
    ganzoo.resume(tmp_path / "cut", progress=False, device="cpu")
    ours = training_state(state(tmp_path / "cut" / "checkpoints" / "last.pt"))
    assert bitwise_equal(ours, training_state(state(whole.run_dir / "checkpoints" / "last.pt"))) == []


# --- the metric -------------------------------------------------------------------------------------
def oracle_context(data, n: int, root: Path) -> EvalContext:
    """A context whose "translations" are the true targets of the sources asked for (looked up in the data)."""
    def sample(count, sources):
        index = [int((data.y == s).flatten(1).all(1).nonzero()[0]) for s in sources]
        return data.x[index]

    return EvalContext(spec=data.spec, real=data, sample=sample, n=n, seed=0, device=torch.device("cpu"),
                       dataset={"name": "mnist-edges"}, cache_dir=user_cache_dir(), data_root=root)


def test_content_kept_is_high_for_true_targets_and_low_for_shuffled_digits(mnist_root):
    data = mnist_edges(mnist_root, "test", False, limit=600)
    ctx = oracle_context(data, 200, mnist_root)
    result = content_kept(ctx)
    sources, real = ctx.fake()[1], ctx.real_subset()
    assert not any(torch.equal(s, r) for s in sources[:20] for r in real.y[:200]), "conditions are disjoint"
    assert result.values["content_kept"] >= 0.95 and result.values["real_content_kept"] >= 0.95
    data.extras["digits"] = data.extras["digits"][torch.randperm(len(data), generator=torch.Generator().manual_seed(0))]
    assert content_kept(oracle_context(data, 200, mnist_root)).values["content_kept"] < 0.3


# --- ganzoo sample --input --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def pix2pix_run(tmp_path_factory, mnist_root):
    """A pix2pix run of two steps."""
    out = tmp_path_factory.mktemp("p2p") / "run"
    return ganzoo.train("pix2pix-mnist-edges", steps=2, overrides=TINY_PIX2PIX, data_root=mnist_root, out=out,
                        progress=False, device="cpu").run_dir


def test_training_grid_shows_source_translation_and_target_rows(pix2pix_run):
    with Image.open(pix2pix_run / "samples" / "final.png") as grid:
        assert grid.size == (4 * 30 + 2, 6 * 30 + 2), "two groups of three rows (source, translation, target)"
        pixels = np.asarray(grid.convert("L"), dtype=np.float32)
    source_row, target_row = pixels[2:30, 2:30], pixels[62:90, 2:30]
    assert set(np.unique(source_row)) <= {0, 255} and len(np.unique(target_row)) > 2, "binary outline, gray digit"
    assert ((source_row > 127) & (target_row > 127)).sum() == 0, "an outline never overlaps its own digit's ink"


def test_sample_input_translates_each_image_of_a_folder(pix2pix_run, tmp_path):
    write_images(tmp_path / "in", ["one.png", "two.jpg", "deep/three.png"], size=(40, 30))
    code, stdout, stderr = cli(["sample", str(pix2pix_run), "--input", str(tmp_path / "in"),
                                "-o", str(tmp_path / "out")])
    assert code == 0, stderr
    written = sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.png"))
    assert written == ["deep/three.png", "one.png", "two.png"] and len(stdout.strip().splitlines()) == 3
    with Image.open(tmp_path / "out" / "one.png") as image:
        assert image.size == (28, 28)
    code, stdout, stderr = cli(["sample", str(pix2pix_run), "--input", str(tmp_path / "in" / "one.png"),
                                "-o", str(tmp_path / "single.png")])
    assert code == 0 and (tmp_path / "single.png").is_file(), stderr


def test_sample_without_input_translates_the_data_or_asks_for_input(pix2pix_run, tmp_path, monkeypatch):
    code, stdout, stderr = cli(["sample", str(pix2pix_run), "-o", str(tmp_path / "grid.png")])
    assert code == 0 and (tmp_path / "grid.png").is_file(), stderr
    monkeypatch.setenv("GANZOO_DATA", str(tmp_path / "nothing"))
    import ganzoo.runs

    monkeypatch.setattr(ganzoo.runs, "recorded_data_root", lambda run_dir: None)  # as if its data root were gone
    code, _, stderr = cli(["sample", str(pix2pix_run)])
    assert code != 0 and len(stderr.strip().splitlines()) == 1 and "--input" in stderr


def test_sample_input_refuses_a_noise_model(tmp_path):
    run = ganzoo.train("gan-ring8", steps=2, overrides=["dataset.n=200", "network.hidden=8", "network.d_hidden=8",
                                                        "train.batch_size=32", "eval.metrics=[]",
                                                        "eval.primary=null"], out=tmp_path / "ring", progress=False,
                       device="cpu")
    write_images(tmp_path / "in", ["one.png"])
    code, _, stderr = cli(["sample", str(run.run_dir), "--input", str(tmp_path / "in")])
    assert code != 0 and len(stderr.strip().splitlines()) == 1 and "noise" in stderr


def test_a_translation_model_exports_and_translates_the_same(pix2pix_run, tmp_path):
    """TorchScript ``m(z, sources)`` and a safetensors export reproduce ``load(run).sample(inputs=...)`` bitwise."""
    from ganzoo.export import export_run
    from ganzoo.runs import load_run

    generator = ganzoo.load(pix2pix_run, device="cpu")
    export_run(load_run(pix2pix_run, torch.device("cpu"), ENGINE), "torchscript", tmp_path / "g.pt", ENGINE)
    export_run(load_run(pix2pix_run, torch.device("cpu"), ENGINE), "safetensors", tmp_path / "g.safetensors", ENGINE)
    sources = torch.rand(3, 1, 28, 28) * 2 - 1
    expected = generator.sample(inputs=sources)
    with torch.no_grad():
        scripted = torch.jit.load(str(tmp_path / "g.pt"))(torch.zeros(3, 0), sources)
    assert torch.equal(scripted, expected)
    assert torch.equal(ganzoo.load(tmp_path / "g.safetensors", device="cpu").sample(inputs=sources), expected)
    with pytest.raises(GanzooError, match="translates images"):
        generator.sample(4)
