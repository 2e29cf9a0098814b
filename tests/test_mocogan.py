"""MoCoGAN (Tulyakov et al. 2018): content held for a clip, recurrent motion, two discriminators, class-conditional
clips, longer clips than training, and the clip-accuracy metric."""

import json

import pytest
import torch
import torch.nn.functional as F
from PIL import Image, ImageSequence

from ganzoo.cli import main
from ganzoo.engine import Engine
from ganzoo.errors import ConfigError, DataError, GanzooError
from ganzoo.spec import Data, DataSpec
from ganzoo.video import FPS

ENGINE = Engine()  # loads this checkout's built-ins under their import name, ganzoo_plugins

from ganzoo_plugins.mocogan_nets import FRAMES_HEAD  # noqa: E402

SPEC = DataSpec((1, 8, 16, 16))
TINY_NET = {"content_dim": 5, "motion_dim": 3, "noise_dim": 2, "width": 4, "d_width": 4}
#: cmocogan-moving-mnist shrunk to seconds: 16x16 clips of 4 frames, 4-channel layers.
TINY_RUN = ["--set", "dataset.frame_size=16", "--set", "dataset.frames=4", "--set", "dataset.digit_size=0",
            "--set", "dataset.sequences=64", "--set", "network.width=4", "--set", "network.d_width=4",
            "--set", "network.content_dim=6", "--set", "train.batch_size=8", "--set", "train.log_every=1",
            "--set", "train.sample_every=100", "--set", "sample.n=4", "--set", "sample.nrow=2",
            "--set", "eval.n=20", "--set", "eval.metrics=[clip-accuracy,motion]"]


@pytest.fixture(autouse=True)
def cache_home(tmp_path, monkeypatch):
    """Moving MNIST caches go to a temporary directory."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def build(spec: DataSpec = SPEC, **params):
    """G and D of the registered mocogan family, in eval mode (BatchNorm uses its running statistics)."""
    G, D = ENGINE.registry.get("networks", "mocogan").obj(spec, **{**TINY_NET, **params})
    return G.eval(), D.eval()


def test_latent_vector_holds_content_initial_state_and_one_noise_per_frame():
    G, _ = build()
    assert G.latent_dim == 5 + 3 + 8 * 2
    z = torch.randn(4, G.latent_dim)
    content, h0, noise = G.split(z)
    assert content.shape == (4, 5) and h0.shape == (4, 3) and noise.shape == (4, 8, 2)
    assert torch.equal(torch.cat([content, h0, noise.flatten(1)], 1), z)
    assert G(z).shape == (4, 1, 8, 16, 16)


def test_every_frame_shares_the_content_code_and_only_motion_changes_a_frame():
    """With one motion code for all frames, every frame is the same image; the same motion codes under another
    content code give other frames; the motion network's codes differ from step to step."""
    G, _ = build()
    torch.manual_seed(0)
    content, motion = torch.randn(2, 5), torch.randn(2, 1, 3).expand(2, 8, 3)
    clip = G.render(content, motion, None)
    assert all(torch.equal(clip[:, :, t], clip[:, :, 0]) for t in range(8))
    assert not torch.allclose(G.render(torch.randn(2, 5), motion, None), clip)
    codes = G.motion_codes(torch.randn(2, 3), torch.randn(2, 8, 2))
    assert codes.shape == (2, 8, 3) and not torch.allclose(codes[:, 1:], codes[:, :-1])


def test_warp_motion_moves_one_image_per_clip_and_fills_in_background():
    G, _ = build(motion="warp")
    assert G.image[0].in_channels == 5  # the content code alone makes the clip's image
    torch.manual_seed(0)
    z = torch.randn(3, G.latent_dim)
    clip = G(z)
    image = G.image(G.split(z)[0][:, :, None, None])
    # started at the identity map: every frame is the clip's image, whatever its motion codes
    assert all(torch.allclose(clip[:, :, t], image, atol=1e-6) for t in range(8))
    # a map that shifts by 2 pixels (of 16) moves the image 2 pixels left, with background at the right edge
    with torch.no_grad():
        G.warp.bias.copy_(torch.tensor([1.0, 0.0, 4 / 16, 0.0, 1.0, 0.0]))
    moved = G(z)[:, :, 3]
    assert torch.allclose(moved[..., :-2], image[..., 2:], atol=1e-5)
    assert torch.allclose(moved[..., -2:], torch.full_like(moved[..., -2:], -1.0))
    # the motion codes choose the map: with weights on them, frames of one clip differ
    with torch.no_grad():
        G.warp.weight.normal_(0, 0.3)
    clip = G(z)
    assert not torch.allclose(clip[:, :, 0], clip[:, :, 7], atol=1e-3)
    # shifts alone: the same 2-pixel move from two numbers
    G, _ = build(motion="translate")
    with torch.no_grad():
        G.warp.bias.copy_(torch.atanh(torch.tensor([4 / 16, 0.0])))  # shift = max_shift·tanh(...)
    image = G.image(G.split(z)[0][:, :, None, None])
    assert G.warp.out_features == 2 and torch.allclose(G(z)[:, :, 5, :, :-2], image[..., 2:], atol=1e-5)
    # whole pixels: 1.6 pixels become an exact 2-pixel copy, 0.3 none at all; gradients still reach the shift
    G, _ = build(motion="translate", whole_pixels=True)
    image = G.image(G.split(z)[0][:, :, None, None])
    for shift, moved in ((1.6, 2), (0.3, 0)):
        with torch.no_grad():
            G.warp.bias.copy_(torch.atanh(torch.tensor([shift * 2 / 16, 0.0])))
        frame = G(z)[:, :, 4]
        assert torch.allclose(frame[..., : 16 - moved], image[..., moved:], atol=1e-6)
    G(z).sum().backward()
    assert G.warp.bias.grad.abs().sum() > 0
    # however far the map pushes, the image's centre stays in the frame, so gradients still reach the image
    G, _ = build(motion="translate", whole_pixels=True, max_shift=0.5)
    with torch.no_grad():
        G.warp.bias.copy_(torch.tensor([50.0, -50.0]))
    G.zero_grad()
    clip = G(z)
    image = G.image(G.split(z)[0][:, :, None, None])
    assert torch.allclose(clip[:, :, 3, 4:, :12], image[..., :12, 4:], atol=1e-6)  # 4 px = 0.5 half-frames
    clip.sum().backward()
    assert G.image[0].weight.grad.abs().sum() > 0
    with pytest.raises(ConfigError, match="max_shift must be positive"):
        build(motion="translate", max_shift=0)
    with pytest.raises(ConfigError, match="whole_pixels rounds shifts; it needs network.motion=translate"):
        build(motion="warp", whole_pixels=True)
    with pytest.raises(ConfigError, match="network.motion must be 'code', 'warp' or 'translate', got 'flow'"):
        build(motion="flow")


def test_longer_clips_continue_the_trained_ones_with_the_same_content():
    G, _ = build()
    z = torch.randn(3, G.latent_dim)
    long = G.clips(z, None, 20, generator=torch.Generator().manual_seed(1))
    assert long.shape == (3, 1, 20, 16, 16)
    assert torch.allclose(long[:, :, :8], G(z), atol=1e-6)
    again = G.clips(z, None, 20, generator=torch.Generator().manual_seed(1))
    assert torch.equal(long, again)
    assert torch.allclose(G.clips(z, None, 3), G(z)[:, :, :3], atol=1e-6)


def test_two_discriminators_the_image_one_on_distinct_random_frames_with_its_own_gan_loss():
    _, D = build(frame_picks=3, image_weight=0.5)
    clips = torch.randn(4, 1, 8, 16, 16)
    out = D(clips, heads=True)
    assert out["logits"].shape == (4,) and out[FRAMES_HEAD].shape == (12,)
    assert torch.equal(D(clips), out["logits"])
    fake = {"logits": torch.zeros(2), FRAMES_HEAD: torch.tensor([0.5, -1.0])}
    real = {"logits": torch.zeros(2), FRAMES_HEAD: torch.tensor([2.0, 0.0])}
    expected = 0.5 * (F.softplus(-real[FRAMES_HEAD]).mean() + F.softplus(fake[FRAMES_HEAD]).mean())
    assert torch.allclose(D.d_aux_loss(real, fake, None, torch.zeros(2, 1)), expected)
    assert torch.allclose(D.g_aux_loss(fake, None, torch.zeros(2, 1)), 0.5 * F.softplus(-fake[FRAMES_HEAD]).mean())
    # a picked frame's logit is D_I's logit of that frame: a clip of one repeated frame gives it for every pick
    still = clips[:, :, :1].expand_as(clips)
    assert torch.allclose(D.frame_logits(still, None).view(4, 3), D.image_logit(D.image(clips[:, :, 0])).expand(4, 3))


def test_a_conditional_model_needs_labels_and_projects_them_in_both_discriminators():
    spec = DataSpec((1, 8, 16, 16), 10)
    G, D = build(spec)
    z, labels = torch.randn(4, G.latent_dim), torch.tensor([0, 1, 2, 3])
    with pytest.raises(ValueError, match="needs labels"):
        G(z)
    clips = G(z, labels)
    assert not torch.allclose(clips, G(z, torch.tensor([4, 5, 6, 7])))
    torch.manual_seed(0)
    a = D(clips, labels, heads=True)
    torch.manual_seed(0)
    b = D(clips, torch.tensor([9, 9, 9, 9]), heads=True)
    assert not torch.allclose(a["logits"], b["logits"]) and not torch.allclose(a[FRAMES_HEAD], b[FRAMES_HEAD])


def test_moving_mnist_labels_each_one_digit_clip_with_its_digit(mnist_root):
    factory = ENGINE.registry.get("datasets", "moving-mnist").obj
    data = factory(mnist_root, "test", False, frame_size=16, frames=4, digits=1, sequences=32, labels=True)
    assert data.spec.num_classes == 10 and torch.equal(data.y, data.extras["digits"][:, 0])
    with pytest.raises(DataError, match="dataset.digits=1"):
        factory(mnist_root, "test", False, frame_size=16, frames=4, digits=2, sequences=32, labels=True)


def test_clip_accuracy_counts_clips_classified_as_their_digit_in_every_frame(mnist_root, monkeypatch):
    """Real labelled clips score near their own ceiling; the same clips under shuffled labels score near chance."""
    from ganzoo.data import user_cache_dir
    from ganzoo.metrics.base import EvalContext

    monkeypatch.delenv("XDG_CACHE_HOME")  # the evaluator lives in the user cache, trained there once
    factory = ENGINE.registry.get("datasets", "moving-mnist").obj
    real = factory(mnist_root, "test", False, frame_size=32, frames=16, digits=1, sequences=240, labels=True)
    half = Data(real.x[:120], real.y[:120], real.spec, {k: v[:120] for k, v in real.extras.items()})
    others, other_labels = real.x[120:], real.y[120:]

    def context(labels_for_fake):
        return EvalContext(spec=real.spec, real=half, sample=lambda n, labels: others[:n], n=120, seed=0,
                           device=torch.device("cpu"), dataset={"name": "moving-mnist"}, cache_dir=user_cache_dir(),
                           data_root=mnist_root, split="test", _fake=(others, labels_for_fake))

    metric = ENGINE.metric("clip-accuracy")
    right = metric.fn(context(other_labels)).values
    wrong = metric.fn(context((other_labels + 1) % 10)).values
    assert right["fake"] > 0.6 and right["real"] > 0.6 and right["fake_frames"] >= right["fake"]
    assert wrong["fake"] < 0.1 and wrong["fake_frames"] < 0.2


def test_conditional_run_samples_a_requested_digit_in_longer_clips(tmp_path, capsys, mnist_root, monkeypatch):
    """A tiny cmocogan-moving-mnist run trains and evaluates clip-accuracy; sample --label --frames writes a GIF
    of longer clips; --frames with --dump is refused on one line."""
    monkeypatch.delenv("XDG_CACHE_HOME")  # the MNIST evaluator lives in the user cache, trained there once
    run_dir = tmp_path / "run"
    code = main(["run", "cmocogan-moving-mnist", "--steps", "3", "--no-progress", "--out", str(run_dir),
                 "--data-root", str(mnist_root), *TINY_RUN])
    assert code == 0, capsys.readouterr().err
    result = json.loads((run_dir / "eval.json").read_text())
    assert {"fake", "real", "fake_frames", "real_frames"} <= set(result["clip-accuracy"]["values"])
    assert "d_aux" in (run_dir / "metrics.jsonl").read_text(), "D_I's loss is trained and logged"
    capsys.readouterr()
    gif = tmp_path / "sevens.gif"
    assert main(["sample", str(run_dir), "--label", "7", "--frames", "10", "-n", "4", "-o", str(gif),
                 "--device", "cpu"]) == 0
    with Image.open(gif) as image:  # PIL stores a run of identical frames once, with their summed duration
        durations = [frame.info["duration"] for frame in ImageSequence.Iterator(image)]
    assert sum(durations) == 10 * round(1000 / FPS)
    capsys.readouterr()
    assert main(["sample", str(run_dir), "--frames", "10", "--dump", str(tmp_path / "d.npz")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--frames" in err
    # eval --frames scores clips of that length, beside the run's own eval.json
    assert main(["eval", str(run_dir), "--frames", "10", "--metrics", "clip-accuracy,digit-consistency,motion",
                 "--n", "8", "--device", "cpu", "--json"]) == 0
    longer = json.loads(capsys.readouterr().out)
    assert set(longer) == {"clip-accuracy", "digit-consistency", "motion"}
    assert all(block["protocol"]["frames_per_clip"] == 10 for block in longer.values())
    assert json.loads((run_dir / "eval-frames10.json").read_text())["motion"] == longer["motion"]
    assert json.loads((run_dir / "eval.json").read_text()) == result
    assert main(["eval", str(run_dir), "--frames", "10", "--metrics", "frechet-video", "--device", "cpu"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "frechet-video" in err and "trained on" in err


def test_eval_at_another_length_leaves_out_the_metrics_of_the_trained_length_unless_named():
    from ganzoo.metrics.evaluate import any_length

    warnings = []
    assert any_length(ENGINE, ["motion", "frechet-video", "digit-consistency"], False, warnings.append) == \
        ["motion", "digit-consistency"]
    assert len(warnings) == 1 and "frechet-video" in warnings[0]
    with pytest.raises(GanzooError, match="frechet-video"):
        any_length(ENGINE, ["motion", "frechet-video"], True, warnings.append)


def test_class_head_classifies_judged_frames_and_trains_both_networks_as_in_acgan():
    """With class_weight, D_I's class logits come with its frame logits, on the same frames; D's aux loss adds the
    class cross-entropy of real and generated frames, G's that of its frames for the requested digits."""
    from ganzoo.testing import BATCH, _check_heads
    from ganzoo_plugins.mocogan_nets import CLASS_HEAD

    spec = DataSpec((1, 8, 16, 16), 10)
    G, D = build(spec, frame_picks=2, class_weight=0.5)
    assert D.heads == (FRAMES_HEAD, CLASS_HEAD) and build(spec)[1].heads == (FRAMES_HEAD,)
    labels = torch.tensor([0, 1, 2, 3])
    clips = G(torch.randn(4, G.latent_dim), labels)
    torch.manual_seed(0)
    out = D(clips, labels, heads=True)
    torch.manual_seed(0)
    frames = D.frame_features(clips)
    assert out[CLASS_HEAD].shape == (8, 10) and torch.allclose(out[CLASS_HEAD], D.classify(frames))
    real = {"logits": torch.zeros(2), FRAMES_HEAD: torch.tensor([2.0, 0.0]), CLASS_HEAD: torch.randn(2, 10)}
    fake = {"logits": torch.zeros(2), FRAMES_HEAD: torch.tensor([0.5, -1.0]), CLASS_HEAD: torch.randn(2, 10)}
    _, D1 = build(spec, frame_picks=1, image_weight=0.25, class_weight=0.5)
    two = torch.tensor([3, 7])
    adversarial = 0.25 * (F.softplus(-real[FRAMES_HEAD]).mean() + F.softplus(fake[FRAMES_HEAD]).mean())
    classes = 0.5 * (F.cross_entropy(real[CLASS_HEAD], two) + F.cross_entropy(fake[CLASS_HEAD], two))
    assert torch.allclose(D1.d_aux_loss(real, fake, two, torch.zeros(2, 1)), adversarial + classes)
    g_expected = 0.25 * F.softplus(-fake[FRAMES_HEAD]).mean() + 0.5 * F.cross_entropy(fake[CLASS_HEAD], two)
    assert torch.allclose(D1.g_aux_loss(fake, two, torch.zeros(2, 1)), g_expected)
    # the contract's check: both heads present for real and generated clips, the losses reach them and G
    G1, D1 = build(spec, class_weight=0.5)
    z, labels = torch.randn(BATCH, G1.latent_dim), torch.arange(BATCH) % 10
    assert _check_heads(D1, spec, G1(z, labels), labels, z).dim() == 0


def test_class_head_needs_labelled_clips_and_a_non_negative_weight():
    with pytest.raises(ConfigError, match="needs labelled clips"):
        build(SPEC, class_weight=1.0)
    with pytest.raises(ConfigError, match="class_weight must be non-negative"):
        build(DataSpec((1, 8, 16, 16), 10), class_weight=-1.0)
