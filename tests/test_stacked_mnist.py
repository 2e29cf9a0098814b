"""Stacked MNIST: the data set, the stacked-modes metric and its real-data reference, PacGAN's packed DCGAN."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from reliability import cli

from ganzoo.errors import DataError, GanzooError
from ganzoo.metrics.base import EvalContext
from ganzoo.metrics.stacked import CONFIDENCE, MODES, mode_statistics, real_reference, stacked_modes_metric
from ganzoo.spec import Data, DataSpec

TINY_RUN = ["--set", "dataset.n=256", "--set", "dataset.test_n=300", "--set", "network.width=4", "--steps", "4",
            "--set", "eval.n=300", "--set", "train.log_every=2", "--set", "train.checkpoint_every=2",
            "--set", "sample.n=16", "--no-progress"]


@pytest.fixture(scope="module")
def fixture_root(tmp_path_factory) -> Path:
    """A data root with the conformance kit's tiny MNIST (ten digits 0..9 per split)."""
    from ganzoo_plugins.stacked_mnist import stacked_mnist

    root = tmp_path_factory.mktemp("stacked-root")
    for split in ("train", "test"):
        stacked_mnist.write_fixture(root, split)
    return root


def load(engine, root: Path, split: str, **opts):
    return engine.load_data({"dataset": {"name": "stacked-mnist", **opts}}, split, root)


def test_channels_are_mnist_digits_whose_labels_make_the_mode(engine, fixture_root):
    from torchvision.datasets import MNIST

    source = MNIST(str(fixture_root), train=True, download=False)
    data = load(engine, fixture_root, "train", n=50, seed=3)
    assert tuple(data.x.shape) == (50, 3, 28, 28) and data.y is None and data.spec == DataSpec((3, 28, 28))
    digits, mode = data.extras["digits"], data.extras["mode"]
    assert digits.shape == (50, 3) and torch.equal(mode, digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2])
    pixels = ((data.x + 1) * 127.5).round().to(torch.uint8)
    for i in range(50):
        for c in range(3):  # each channel is a source image of the digit recorded for it
            found = [j for j in range(len(source)) if torch.equal(source.data[j], pixels[i, c])]
            assert found and all(int(source.targets[j]) == int(digits[i, c]) for j in found)


def test_deterministic_for_a_seed_and_sized_per_split(engine, fixture_root):
    a, b = load(engine, fixture_root, "train", n=40, seed=1), load(engine, fixture_root, "train", n=40, seed=1)
    assert torch.equal(a.x, b.x) and torch.equal(a.extras["mode"], b.extras["mode"])
    assert not torch.equal(a.x, load(engine, fixture_root, "train", n=40, seed=2).x)
    assert len(load(engine, fixture_root, "test", n=40, test_n=7)) == 7


@pytest.mark.parametrize("split, opts, message", [
    ("valid", {}, "unknown split 'valid'"),
    ("train", {"n": 0}, "dataset.n must be at least 1"),
    ("test", {"test_n": -1}, "dataset.test_n must be at least 1"),
])
def test_bad_options_are_one_line(engine, fixture_root, split, opts, message):
    with pytest.raises(DataError, match=message) as info:
        load(engine, fixture_root, split, **opts)
    assert "\n" not in str(info.value)


def test_mode_statistics_follow_pacgan():
    every = torch.tensor([[m // 100, m // 10 % 10, m % 10] for m in range(MODES)])
    sure = torch.ones(MODES, 3)
    stats = mode_statistics(every, sure)
    assert stats == {"modes": 1000.0, "kl": pytest.approx(0.0, abs=1e-12), "kl_channels": pytest.approx(0.0, abs=1e-12),
                     "dependence": pytest.approx(0.0, abs=1e-12), "confident": 1.0}
    two = torch.tensor([[1, 2, 3], [4, 5, 6]]).repeat(50, 1)
    stats = mode_statistics(two, torch.full((100, 3), 0.5))
    assert stats["modes"] == 2 and stats["kl"] == pytest.approx(math.log(MODES / 2)) and stats["confident"] == 0
    shaky = torch.ones(4, 3)
    shaky[0, 2] = CONFIDENCE - 1e-3  # one doubtful channel makes the sample not confident
    assert mode_statistics(every[:4], shaky)["confident"] == 0.75


def test_the_kl_splits_into_channel_balance_and_dependence():
    sure = torch.ones(MODES, 3)
    # every channel shows the same digit: each channel's digits are uniform, the triples are not
    same = torch.arange(10).repeat_interleave(100)[:, None].repeat(1, 3)
    stats = mode_statistics(same, sure)
    assert stats["kl"] == pytest.approx(math.log(100)) and stats["kl_channels"] == pytest.approx(0.0, abs=1e-12)
    assert stats["dependence"] == pytest.approx(math.log(100))
    # red always 0, green and blue independent and uniform: all of the KL is the red channel's balance
    red_zero = torch.tensor([[0, m // 10 % 10, m % 10] for m in range(MODES)])
    stats = mode_statistics(red_zero, sure)
    assert stats["kl"] == pytest.approx(math.log(10)) and stats["kl_channels"] == pytest.approx(math.log(10))
    assert stats["dependence"] == pytest.approx(0.0, abs=1e-12)
    # any histogram: the two parts add up to the KL
    mixed = torch.randint(0, 10, (5000, 3), generator=torch.Generator().manual_seed(0))
    mixed[:800, 1] = mixed[:800, 0]
    stats = mode_statistics(mixed, torch.ones(5000, 3))
    assert stats["kl_channels"] > 0 and stats["dependence"] > 0
    assert stats["kl"] == pytest.approx(stats["kl_channels"] + stats["dependence"])


@pytest.fixture(scope="module")
def real_context(engine, mnist_root, tmp_path_factory):
    """An evaluation context over 600 real stacked test digits whose 'generated' samples are given by the test."""
    from ganzoo.data import user_cache_dir

    real = load(engine, mnist_root, "test", n=10, test_n=600)

    def context(fake: torch.Tensor, against: Data = real) -> EvalContext:
        return EvalContext(spec=real.spec, real=against, sample=lambda n, labels: fake[:n], n=len(fake), seed=0,
                           device=torch.device("cpu"), dataset={"name": "stacked-mnist", "test_n": 600},
                           cache_dir=user_cache_dir(), data_root=mnist_root)

    return real, context


def test_real_reference_is_the_metric_on_real_digits_with_the_evaluator_accuracy(real_context):
    real, context = real_context
    ctx = context(real.x)
    result = stacked_modes_metric(ctx)
    reference = real_reference(ctx, result)
    assert reference.samples == 600
    for key in ("modes", "kl", "kl_channels", "dependence", "confident"):  # the same samples, in another order
        assert reference.values[key] == pytest.approx(result.values[key])
    assert 400 < result.values["modes"] <= 600 and 0.3 < result.values["kl"] < 1.5
    for channel in "rgb":
        assert reference.values[f"accuracy_{channel}"] > 0.95
    assert reference.values["mode_accuracy"] <= min(reference.values[f"accuracy_{c}"] for c in "rgb")
    protocol = result.protocol
    assert protocol["fake_samples"] == 600 and protocol["evaluator_sha256"] and protocol["modes_total"] == 1000
    assert protocol["confidence_threshold"] == CONFIDENCE and protocol["kl"] == "KL(generated || uniform)"


def test_the_channels_are_read_in_rgb_order(real_context):
    real, context = real_context
    swapped = stacked_modes_metric(context(real.x[:, [2, 1, 0]])).values
    straight = stacked_modes_metric(context(real.x)).values
    assert swapped["confident"] == pytest.approx(straight["confident"])
    # the same histogram, relabelled: swapping R and B permutes the modes
    assert swapped["modes"] == straight["modes"] and swapped["kl"] == pytest.approx(straight["kl"])
    collapsed = stacked_modes_metric(context(real.x[:1].repeat(300, 1, 1, 1))).values
    assert collapsed["modes"] == 1 and collapsed["kl"] == pytest.approx(math.log(MODES))


def test_metric_refuses_other_data(real_context):
    real, context = real_context
    with pytest.raises(GanzooError, match="needs Stacked MNIST"):
        stacked_modes_metric(context(real.x, Data(real.x, None, real.spec)))


def test_packed_discriminator_judges_consecutive_samples_together():
    from ganzoo.engine import Engine

    Engine()  # makes ganzoo_plugins the checkout's plugins/
    from ganzoo_plugins.dcgan import build_dcgan
    from ganzoo_plugins.dcgan_nets import pack_samples

    torch.manual_seed(0)
    spec = DataSpec((3, 28, 28))
    G, D = build_dcgan(spec, latent_dim=8, width=4, layout="deep", dropout=0.0, pack=2)
    D.eval()
    x = G(torch.randn(6, 8))
    assert tuple(x.shape) == (6, 3, 28, 28) and tuple(D(x).shape) == (3,)
    pairs = pack_samples(x, 2)
    assert tuple(pairs.shape) == (3, 6, 28, 28) and torch.equal(pairs[1, 3:], x[3])
    swapped = x[[1, 0, 2, 3, 4, 5]]  # the order inside a pack matters, other packs do not change
    out, out_swapped = D(x), D(swapped)
    assert not torch.allclose(out[0], out_swapped[0]) and torch.allclose(out[1:], out_swapped[1:])
    with pytest.raises(ValueError, match="packs of 2"):
        D(x[:5])
    for layout in ("paper", "tutorial"):
        _, D = build_dcgan(DataSpec((1, 28, 28)), latent_dim=8, width=4, layout=layout, pack=3)
        assert tuple(D(torch.randn(6, 1, 28, 28)).shape) == (2,)


def test_minibatch_std_lets_the_deep_discriminator_see_the_variety_of_a_group():
    """minibatch_std=g: each logit depends on the other samples of its group of g (their spread), not on other
    groups; without it, on nothing but its own sample. Other layouts and negative sizes are config errors."""
    from ganzoo.engine import Engine
    from ganzoo.errors import ConfigError

    Engine()  # makes ganzoo_plugins the checkout's plugins/
    from ganzoo_plugins.dcgan import build_dcgan

    torch.manual_seed(0)
    spec = DataSpec((3, 28, 28))
    x = torch.randn(8, 3, 28, 28, requires_grad=True)
    # groups are strided, as in ProGAN: of 8 samples in groups of 4, sample 0 goes with 2, 4 and 6
    for group, coupled in ((4, [0, 2, 4, 6]), (0, [0])):
        _, D = build_dcgan(spec, latent_dim=8, width=4, layout="deep", dropout=0.0, minibatch_std=group)
        D.eval()  # BatchNorm from running statistics: only the minibatch channel mixes samples
        (grad,) = torch.autograd.grad(D(x)[0], x)
        touched = grad.flatten(1).abs().sum(1) > 0
        assert touched.nonzero().flatten().tolist() == coupled
    with pytest.raises(ConfigError, match="layout=deep"):
        build_dcgan(DataSpec((1, 28, 28)), layout="tutorial", minibatch_std=4)
    with pytest.raises(ConfigError, match=">= 0"):
        build_dcgan(spec, layout="deep", minibatch_std=-1)


def test_pacdcgan2_trains_and_is_scored_end_to_end(tmp_path, mnist_root, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    out = tmp_path / "run"
    code, stdout, stderr = cli(["run", "pacdcgan2-stacked-mnist", "--out", str(out), "--data-root", str(mnist_root),
                           *TINY_RUN])
    assert code == 0, stderr
    result = json.loads((out / "eval.json").read_text())["stacked-modes"]
    assert set(result["values"]) == {"modes", "kl", "kl_channels", "dependence", "confident"}
    assert 1 <= result["values"]["modes"] <= 300
    reference = result["protocol"]["reference"]
    assert reference["samples"] == 300 and reference["values"]["accuracy_r"] > 0.9
    assert "(real stacked digits, same evaluator:" in stdout + stderr
