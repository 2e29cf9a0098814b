"""VGAN (Vondrick et al. 2016), video samples (GIF, PNG strip) and the video metrics, on tiny clips."""

import json
import re
from pathlib import Path

import pytest
import torch
from PIL import Image
from torchvision.transforms.functional import pil_to_tensor

from ganzoo.cli import main
from ganzoo.engine import Engine
from ganzoo.errors import ConfigError
from ganzoo.metrics.base import EvalContext
from ganzoo.metrics.video import consistent_share, frames_of, mean_motion
from ganzoo.spec import Data, DataSpec
from ganzoo.video import save_gif, save_strip, save_video_samples

ENGINE = Engine()  # loads this checkout's built-ins under their import name, ganzoo_plugins

from ganzoo_plugins.resize_conv import ResizeConv  # noqa: E402
from ganzoo_plugins.vgan_nets import UPSAMPLING, VIDEO_X2, upsample, upsampling_layers  # noqa: E402

SPEC = DataSpec((1, 8, 16, 16))
TINY_NET = {"latent_dim": 8, "width": 4, "d_width": 4}
#: vgan-moving-mnist shrunk to seconds: 16x16 clips of 4 frames, one digit scaled with the frame, 4-channel layers.
TINY_RUN = ["--set", "dataset.frame_size=16", "--set", "dataset.frames=4", "--set", "dataset.digits=1",
            "--set", "dataset.digit_size=0",
            "--set", "dataset.sequences=64", "--set", "network.width=4", "--set", "network.d_width=4",
            "--set", "network.latent_dim=8", "--set", "train.batch_size=8", "--set", "train.log_every=1",
            "--set", "train.sample_every=1", "--set", "sample.n=4", "--set", "sample.nrow=2",
            "--set", "eval.metrics=[motion]", "--set", "eval.primary=null", "--set", "eval.n=16"]


def build(spec: DataSpec = SPEC, **params):
    """G and D of the registered vgan family."""
    return ENGINE.registry.get("networks", "vgan").obj(spec, **{**TINY_NET, **params})


@pytest.fixture(autouse=True)
def cache_home(tmp_path, monkeypatch) -> Path:
    """Moving MNIST caches go to a temporary directory."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache"


# --- networks ---------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(1, 4, 8, 8), (3, 8, 16, 16), (1, 16, 32, 32), (1, 32, 64, 64)])
def test_architecture_is_sized_from_the_data_spec(shape):
    """Clips of the spec's shape in [-1, 1] (tanh/sigmoid mix), one logit per clip from D."""
    G, D = build(DataSpec(shape))
    x = G(torch.randn(2, 8))
    assert tuple(x.shape) == (2, *shape) and x.abs().max() <= 1
    assert tuple(D(x).shape) == (2,)


def test_the_paper_sizes_start_from_a_2x4x4_volume():
    """64x64 frames need four stride-2 layers; 32 frames then start from 2 time steps, as in the paper."""
    assert upsampling_layers(DataSpec((3, 32, 64, 64))) == 4
    G, _ = build(DataSpec((3, 32, 64, 64)), width=64)
    first = G.foreground[0]
    assert first.kernel_size == (2, 4, 4) and first.out_channels == 512


def test_clip_is_the_mask_blend_of_foreground_and_static_background():
    """G(z) = m ⊙ f + (1 − m) ⊙ b with one background frame for all time steps."""
    G, _ = build()
    G.eval()
    z = torch.randn(3, 8)
    with torch.no_grad():
        foreground, mask, background = G.streams(z)
        clip = G(z)
    assert tuple(mask.shape) == (3, 1, 8, 16, 16) and tuple(background.shape) == (3, 1, 16, 16)
    assert 0 <= float(mask.min()) and float(mask.max()) <= 1
    assert torch.allclose(clip, mask * foreground + (1 - mask) * background.unsqueeze(2), atol=1e-6)


def test_mask_sparsity_term_is_weighted_l1_of_the_last_mask_and_trains_the_mask():
    """regularization() = mask_l1 · mean |m| of the last forward pass, differentiable into the mask head."""
    G, _ = build(mask_l1=0.5)
    G(torch.randn(4, 8))
    term = G.regularization()
    assert torch.isclose(term, 0.5 * G.last_mask.abs().mean())
    term.backward()
    assert G.mask_head[0].weight.grad is not None and G.mask_head[0].weight.grad.abs().sum() > 0
    assert G.video_head[0].weight.grad is None


def test_resize_output_layers_make_the_same_clips_without_a_checkerboard():
    """output_upsampling=resize: same shapes and range; a constant input upsamples to a constant interior."""
    G, D = build(output_upsampling="resize")
    x = G(torch.randn(2, 8))
    assert tuple(x.shape) == (2, *SPEC.shape) and x.abs().max() <= 1 and tuple(D(x).shape) == (2,)
    flat = torch.ones(1, 4, 4, 4, 4)
    resized = upsample(4, 1, VIDEO_X2, "resize")(flat)[0, 0, 1:-1, 1:-1, 1:-1]
    strided = upsample(4, 1, VIDEO_X2, "transposed")(flat)[0, 0, 1:-1, 1:-1, 1:-1]
    assert resized.shape == strided.shape == (6, 6, 6)
    assert torch.allclose(resized, resized.flatten()[0].expand_as(resized), atol=1e-6)
    assert not torch.allclose(strided[:, :, 0::2], strided[:, :, 1::2], atol=1e-4)  # period-2 pattern


def test_resize_everywhere_makes_the_same_clips_from_resize_layers_only():
    """inner_upsampling=resize too: no transposed convolution is left but the first, shapes and range kept."""
    G, D = build(output_upsampling="resize", inner_upsampling="resize")
    x = G(torch.randn(2, 8))
    assert tuple(x.shape) == (2, *SPEC.shape) and x.abs().max() <= 1 and tuple(D(x).shape) == (2,)
    strided = [m for m in G.modules() if isinstance(m, (torch.nn.ConvTranspose2d, torch.nn.ConvTranspose3d))]
    assert all(m.stride in ((1, 1), (1, 1, 1)) for m in strided) and len(strided) == 2  # the 1x1 -> 4x4 seeds
    assert sum(isinstance(m, ResizeConv) for m in G.modules()) == 2 * (len(G.foreground) // 3 - 1) + 3


@pytest.mark.parametrize("scale", [(2, 2, 2), (2, 1, 1), (2, 2)])
def test_resize_conv_computes_upsample_then_conv_exactly(scale):
    """ResizeConv's one transposed convolution equals nearest x2 + 3x3(x3) convolution with its weight, gradients too."""
    torch.manual_seed(0)
    layer = ResizeConv(3, 2, scale).double()
    conv = (torch.nn.Conv3d if len(scale) == 3 else torch.nn.Conv2d)(3, 2, 3, padding=1, bias=False).double()
    conv.weight.data.copy_(layer.weight.data)
    x = torch.randn(2, 3, *(3, 4, 5)[: len(scale)], dtype=torch.double)
    reference = conv(torch.nn.Upsample(scale_factor=scale, mode="nearest")(x))
    out = layer(x)
    assert out.shape == reference.shape and torch.allclose(out, reference, atol=1e-12)
    out.square().sum().backward()
    reference.square().sum().backward()
    assert torch.allclose(layer.weight.grad, conv.weight.grad, atol=1e-10)


@pytest.mark.parametrize("upsampling", UPSAMPLING)
def test_one_base_frame_grows_time_from_a_single_volume(upsampling):
    """base_frames=1: G's first volume has one time step, and a time-only layer doubles it before the spatial ones."""
    G, D = build(base_frames=1, inner_upsampling=upsampling)
    shapes = []
    for layer in (G.foreground[0], G.foreground[3]):
        layer.register_forward_hook(lambda module, args, out: shapes.append(tuple(out.shape)))
    x = G(torch.randn(2, 8))
    assert shapes == [(2, 8, 1, 4, 4), (2, 8, 2, 4, 4)]  # the paper's sizing starts from (2, 4, 4)
    assert tuple(x.shape) == (2, *SPEC.shape) and x.abs().max() <= 1 and tuple(D(x).shape) == (2,)


def test_minibatch_std_gives_d_the_batch_spread_so_a_clip_is_judged_with_its_batch():
    """The extra map holds one value, ~0 for a batch of copies; D's logit for a clip then depends on the others."""
    from ganzoo_plugins.minibatch_std import MinibatchStd

    copies = torch.randn(1, 3, 2, 4, 4).expand(5, -1, -1, -1, -1)
    varied = torch.randn(5, 3, 2, 4, 4)
    for x in (copies, varied):
        out = MinibatchStd()(x)
        assert tuple(out.shape) == (5, 4, 2, 4, 4) and torch.equal(out[:, :3], x)
        assert torch.all(out[:, 3] == out[0, 3, 0, 0, 0])
    assert float(MinibatchStd()(copies)[0, 3].max()) < 1e-3 < float(MinibatchStd()(varied)[0, 3].max())
    clip, other = torch.randn(2, *SPEC.shape).chunk(2)
    for minibatch_std in (False, True):
        _, D = build(d_minibatch_std=minibatch_std)
        D.eval()
        with torch.no_grad():
            alone, beside_other = D(torch.cat([clip, clip]))[0], D(torch.cat([clip, other]))[0]
        assert torch.isclose(alone, beside_other) != minibatch_std


def test_frame_discriminator_adds_the_sum_of_distinct_random_frames_logits():
    """d_frames=k: D's logit is the video logit plus the frame net's logits summed over k distinct frames."""
    _, D = build(d_frames=SPEC.shape[1] + 3)  # more than the clip holds: every frame, once
    D.eval()
    frame_d = D.frame_discriminator
    assert frame_d.picks == SPEC.shape[1]
    clips = torch.randn(3, *SPEC.shape)
    with torch.no_grad():
        every_frame = frame_d.net(frames_of(clips)).view(3, -1).sum(dim=1)
        torch.testing.assert_close(frame_d(clips), every_frame)
        torch.testing.assert_close(D(clips), D.net(clips).flatten() + every_frame)
        _, D2 = build(d_frames=2)
        D2.eval()
        still = clips[:, :, :1].expand_as(clips)  # a frozen clip: any 2 frames give the same sum
        torch.testing.assert_close(D2.frame_discriminator(still), 2 * D2.frame_discriminator.net(still[:, :, 0]).flatten())


def test_labelled_clips_make_vgan_conditional_with_projection_in_both_discriminators():
    """A label embedding enters both streams of G; the clip and frame discriminators each add <embed(y), h> on
    their mean-pooled last features (embeddings that start at zero); a conditional G or D without labels is an
    error."""
    spec = DataSpec((1, 8, 16, 16), 10)
    G, D = build(spec, d_frames=2)
    G.eval(), D.eval()
    assert not D.embed.weight.any() and not D.frame_discriminator.embed.weight.any()
    with torch.no_grad():
        for embed in (D.embed, D.frame_discriminator.embed):
            embed.weight.normal_()
    z, labels = torch.randn(4, G.latent_dim), torch.tensor([0, 1, 2, 3])
    with pytest.raises(ValueError, match="needs labels"):
        G(z)
    with torch.no_grad():
        clips = G(z, labels)
        assert clips.shape == (4, *spec.shape) and not torch.allclose(clips, G(z, torch.tensor([4, 5, 6, 7])))
        with pytest.raises(ValueError, match="needs labels"):
            D(clips)
        still = clips[:, :, :1].expand_as(clips)  # a frozen clip: its two picked frames are the same frame
        f = D.frame_discriminator.net[:-1](still[:, :, 0])
        frame_logit = D.frame_discriminator.net[-1](f).flatten() + (D.frame_discriminator.embed(labels) * f.mean(dim=(2, 3))).sum(dim=1)
        torch.testing.assert_close(D.frame_discriminator(still, labels), 2 * frame_logit)
        D_clip_only = build(spec)[1].eval()
        D_clip_only.embed.weight.normal_()
        h = D_clip_only.net[:-1](clips)
        torch.testing.assert_close(D_clip_only(clips, labels), D_clip_only.net[-1](h).flatten()
                                   + (D_clip_only.embed(labels) * h.mean(dim=(2, 3, 4))).sum(dim=1))
        assert not torch.allclose(D(clips, labels), D(clips, torch.tensor([9, 9, 9, 9])))
    assert build()[0].embedding is None and build()[1].embed is None  # unlabelled clips: unconditional, as before


@pytest.mark.parametrize("base_frames", [3, 4, -1])
def test_a_base_frame_count_that_cannot_grow_to_the_clip_is_a_one_line_config_error(base_frames):
    """The error lists the counts that work for these clips."""
    with pytest.raises(ConfigError, match=r"base_frames=-?\d cannot grow .* 8-frame clips; set it to one of 2, 1 \(0 means 2\)") as info:
        build(base_frames=base_frames)
    assert "\n" not in str(info.value)
    with pytest.raises(ConfigError, match=r"base_frames=1 cannot grow .* 24-frame clips; set it to one of 3 \(0 means 3\)"):
        build(DataSpec((1, 24, 32, 32)), base_frames=1)  # 3 base steps cannot come from 1 by doubling


@pytest.mark.parametrize("option", ["output_upsampling", "inner_upsampling"])
def test_unknown_upsampling_is_a_one_line_config_error(option):
    """A typo names the option and the choices."""
    for spec in (SPEC, DataSpec((1, 4, 8, 8))):  # 8x8 clips have no inner upsampling layer, and are checked too
        with pytest.raises(ConfigError, match=f"{option} must be one of transposed, resize, got 'bilinear'"):
            build(spec, **{option: "bilinear"})


@pytest.mark.parametrize(("shape", "message"), [
    ((1, 16, 30, 30), "cannot make 30x30 frames.*8, 16, 32, 64, 128"),
    ((1, 16, 32, 16), "cannot make 32x16 frames"),
    ((1, 12, 32, 32), "cannot make 12-frame clips at 32x32.*multiple of 8 \\(8, 16, 24, 32"),
    ((1, 28, 28), "vgan makes video"),
])
def test_sizes_the_architecture_cannot_make_name_the_sizes_that_work(shape, message):
    """A one-line ConfigError that names the frame sizes or frame counts that work."""
    with pytest.raises(ConfigError, match=message) as info:
        build(DataSpec(shape))
    assert "\n" not in str(info.value)


# --- video files ------------------------------------------------------------------------------
def _clips(n: int = 4, frames: int = 5, size: int = 16) -> torch.Tensor:
    """Clips whose frame t of clip i is a bright square at column i + t over a dark ground."""
    x = torch.full((n, 1, frames, size, size), -1.0)
    for i in range(n):
        for t in range(frames):
            x[i, 0, t, 4:8, i + t : i + t + 4] = 1.0
    return x


def test_gif_is_a_grid_of_clips_playing_in_sync(tmp_path):
    """One GIF frame per time step, each the grid of every clip at that time step, lossless for gray."""
    x = _clips()
    path = save_gif(x, SPEC, tmp_path / "s.gif", nrow=2)
    with Image.open(path) as gif:
        assert gif.n_frames == 5 and gif.size == (2 * 18 + 2, 2 * 18 + 2)
        for t in (0, 3):
            gif.seek(t)
            frame = pil_to_tensor(gif.convert("L"))[0].float()
            for i, (row, col) in enumerate([(0, 0), (0, 1), (1, 0), (1, 1)]):
                top, left = 2 + row * 18, 2 + col * 18
                expected = (x[i, 0, t] + 1) * 127.5
                assert torch.allclose(frame[top : top + 16, left : left + 16], expected.round())


def test_png_strip_has_a_row_per_clip_and_a_column_per_frame(tmp_path):
    """The strip shows the first clips frame by frame, for documents."""
    path = save_strip(_clips(n=4, frames=5), SPEC, tmp_path / "s.png", clips=3)
    with Image.open(path) as png:
        assert png.size == (5 * 18 + 2, 3 * 18 + 2)
        pixels = png.convert("L")
        # clip 0's square covers columns t..t+3 of frame t: column 1 at frame 0, column 6 at frame 4 only
        assert pixels.getpixel((2 + 1, 6)) == 255 and pixels.getpixel((2 + 6, 6)) == 0
        assert pixels.getpixel((2 + 4 * 18 + 6, 6)) == 255 and pixels.getpixel((2 + 4 * 18 + 1, 6)) == 0


def test_save_samples_dispatches_video_to_gif_and_strip(tmp_path):
    """The trainer's and ganzoo sample's save_samples writes a GIF and a PNG strip for video."""
    from ganzoo.samples import save_samples

    paths = save_samples(_clips(), DataSpec((1, 5, 16, 16)), tmp_path / "final", 2)
    assert [p.name for p in paths][:2] == ["final.gif", "final.png"] and all(p.is_file() for p in paths)
    assert paths == save_video_samples(_clips(), DataSpec((1, 5, 16, 16)), tmp_path / "final", 2)


# --- metrics ----------------------------------------------------------------------------------
def test_frames_of_keeps_clips_together():
    """(N, C, T, H, W) -> (N*T, C, H, W), clip 0's frames first."""
    x = _clips(n=2, frames=3)
    frames = frames_of(x)
    assert tuple(frames.shape) == (6, 1, 16, 16) and torch.equal(frames[4], x[1, :, 1])


def test_digits_are_cropped_to_their_ink_and_centred():
    """An off-centre blob ends up centred in a 28x28 frame, 20 px across at its widest."""
    from ganzoo.metrics.video import centred_digits

    frames = torch.full((2, 1, 32, 32), -1.0)
    frames[0, 0, 2:12, 20:25] = 1.0
    frames[1, 0, 10:20, 10:20] = 1.0
    crops = centred_digits(frames, (-1.0, 1.0))
    assert tuple(crops.shape) == (2, 1, 28, 28)
    ink = crops[:, 0] > 0
    rows, cols = ink.any(dim=2), ink.any(dim=1)
    for i in range(2):
        assert 19 <= int(rows[i].sum()) <= 21 and int(rows[i].nonzero().min()) in (3, 4)
    assert 9 <= int(cols[0].sum()) <= 11 and 12 <= float(cols[0].nonzero().float().mean()) <= 15


def test_consistency_counts_clips_whose_prediction_never_changes():
    """Share of rows with a single value."""
    predictions = torch.tensor([[3, 3, 3], [3, 3, 5], [1, 1, 1], [0, 2, 0]])
    assert consistent_share(predictions) == 0.5


def test_agreement_is_the_mean_share_of_frames_giving_the_clips_most_frequent_digit():
    """Graded where the all-frames share is 0: 2 of 3 frames, then 3 of 3."""
    from ganzoo.metrics.video import majority_agreement

    assert majority_agreement(torch.tensor([[3, 3, 5], [1, 1, 1]])) == pytest.approx(5 / 6)
    assert majority_agreement(torch.tensor([[0, 1, 2, 2]])) == pytest.approx(0.5)


def test_motion_is_the_mean_frame_difference_on_a_unit_scale():
    """A frozen clip has no motion; a square sliding one pixel per frame moves 8/256 of a frame's pixels."""
    x = _clips(n=1, frames=4)
    assert mean_motion(x[:, :, :1].expand(-1, -1, 4, -1, -1), (-1.0, 1.0)) == 0
    assert mean_motion(x, (-1.0, 1.0)) == pytest.approx(8 / 256)


@pytest.fixture(scope="module")
def real_clips(mnist_root):
    """32x32 one-digit clips of 16 frames from the test split (the default experiment's shape)."""
    factory = ENGINE.registry.get("datasets", "moving-mnist").obj
    return factory(mnist_root, "test", False, frame_size=32, frames=16, digits=1, sequences=240)


def _context(real: Data, fake: torch.Tensor, mnist_root: Path) -> EvalContext:
    from ganzoo.data import user_cache_dir

    return EvalContext(spec=real.spec, real=real, sample=lambda n, labels: fake[:n], n=120, seed=0,
                       device=torch.device("cpu"), dataset={"name": "moving-mnist"}, cache_dir=user_cache_dir(),
                       data_root=mnist_root, split="test")


def test_video_metrics_tell_real_clips_from_frozen_ones(real_clips, mnist_root, monkeypatch):
    """Real vs real: small Fréchet distance, consistency at the ceiling, no motion gap; frozen clips fail motion."""
    monkeypatch.delenv("XDG_CACHE_HOME")  # the evaluator lives in the user cache, trained there once
    metric = {name: ENGINE.metric(name) for name in ("frechet-frames", "digit-consistency", "motion")}
    other_real = real_clips.x[120:]
    same = {name: m.fn(_context(real_clips, other_real, mnist_root)) for name, m in metric.items()}
    frozen_clips = other_real[:, :, :1].expand_as(other_real).contiguous()
    frozen = {name: m.fn(_context(real_clips, frozen_clips, mnist_root)) for name, m in metric.items()}
    assert same["motion"].values["gap"] < 0.1 * same["motion"].values["real"]
    assert frozen["motion"].values["fake"] == 0 and frozen["motion"].values["gap"] == same["motion"].values["real"]
    assert frozen["digit-consistency"].values["fake"] == frozen["digit-consistency"].values["fake_agreement"] == 1.0
    assert same["digit-consistency"].values["real"] > 0.5 and same["digit-consistency"].values["fake"] > 0.5
    assert same["digit-consistency"].values["real_agreement"] >= same["digit-consistency"].values["real"]
    blank = torch.full_like(other_real, -1.0)
    assert metric["frechet-frames"].fn(_context(real_clips, blank, mnist_root)).values["fd"] > \
        10 * same["frechet-frames"].values["fd"]
    protocol = same["frechet-frames"].protocol
    assert protocol["fake_samples"] == 120 and protocol["unit"] == "clips" and protocol["frames_per_clip"] == 16
    assert protocol["split"] == "test" and protocol["evaluator_sha256"]


# --- the command line -------------------------------------------------------------------------
def test_run_then_sample_a_video_model(tmp_path, capsys, mnist_root):
    """A tiny vgan-moving-mnist run writes GIF samples and eval; ganzoo sample writes a GIF; --label is refused."""
    run_dir = tmp_path / "run"
    code = main(["run", "vgan-moving-mnist", "--steps", "2", "--no-progress", "--out", str(run_dir),
                 "--data-root", str(mnist_root), *TINY_RUN])
    assert code == 0, capsys.readouterr().err
    assert {p.name for p in (run_dir / "samples").iterdir()} >= {"step_000001.gif", "final.gif", "final.png"}
    with Image.open(run_dir / "samples" / "final.gif") as gif:
        assert gif.n_frames == 4
    assert set(json.loads((run_dir / "eval.json").read_text())["motion"]["values"]) == {"fake", "real", "gap"}
    capsys.readouterr()
    assert main(["sample", str(run_dir), "--n", "6", "-o", str(tmp_path / "clips.gif"), "--device", "cpu"]) == 0
    with Image.open(tmp_path / "clips.gif") as gif:
        assert gif.n_frames == 4
    capsys.readouterr()
    assert main(["sample", str(run_dir), "--label", "3", "--device", "cpu"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "unconditional" in err
    for command in ("sample", "eval"):
        assert main([command, str(run_dir), "--frames", "8", "--device", "cpu"]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "clips of 4 frames only" in err and "mocogan" in err
    assert not (run_dir / "eval-frames8.json").exists()


def test_frame_size_vgan_cannot_make_exits_2_without_a_run_directory(tmp_path, capsys, mnist_root):
    """A 24px frame is refused on one line naming the sizes that work; no run directory is left."""
    out = tmp_path / "run"
    code = main(["run", "vgan-moving-mnist", "--no-progress", "--out", str(out), "--data-root", str(mnist_root),
                 "--set", "dataset.frame_size=24", "--set", "dataset.digit_size=0", "--set", "dataset.sequences=40"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert re.search(r"cannot make 24x24 frames.*8, 16, 32, 64", err) and not out.exists()
