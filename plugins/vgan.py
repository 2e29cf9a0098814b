"""Built-in plugin ``vgan``: the video GAN of Vondrick, Pirsiavash & Torralba 2016, and the video metrics."""

from __future__ import annotations

from ganzoo import hookimpl
from ganzoo.metrics.base import Metric, reported_real, scored_on_real
from ganzoo.spec import DataSpec


def build_vgan(spec, latent_dim: int = 100, width: int = 64, d_width: int = 64, mask_l1: float = 0.1,
               output_upsampling: str = "transposed", inner_upsampling: str = "transposed", base_frames: int = 0,
               d_minibatch_std: bool = False, d_frames: int = 0):
    """Two-stream VGAN generator and 3D-conv discriminator sized from the DataSpec.

    width/d_width are the channels of G's last and D's first layer (64 in the paper; they double
    per layer); mask_l1 weighs the mask sparsity term λ‖m‖₁ added to G's loss;
    output_upsampling is "transposed" (the paper's) or "resize" (nearest-neighbour x2 + 3x3
    convolution in G's output layers, Odena et al. 2016); inner_upsampling chooses the same for
    G's inner upsampling layers; base_frames is the time steps of G's first foreground volume
    (0: the paper's frames/2^k; fewer are grown by time-only layers built as inner_upsampling says);
    d_minibatch_std gives D's last layer the batch's feature spread (Karras et al. 2018) against mode collapse;
    d_frames > 0 adds a 2D frame discriminator on that many random frames per clip (Clark et al. 2019).
    Labelled clips make it class-conditional (a label embedding in G, projection terms in D).
    """
    from ganzoo_plugins.vgan_nets import VGANDiscriminator, VGANGenerator

    return (VGANGenerator(spec, latent_dim, width, mask_l1, output_upsampling, inner_upsampling, base_frames),
            VGANDiscriminator(spec, d_width, d_minibatch_std, d_frames))


build_vgan.example_specs = [DataSpec((1, 4, 8, 8)), DataSpec((3, 8, 16, 16)), DataSpec((1, 8, 16, 16), 10)]
build_vgan.tiny_params = {"latent_dim": 8, "width": 4, "d_width": 4, "d_frames": 2}


@hookimpl
def ganzoo_networks(register):
    """The VGAN family."""
    register("vgan", build_vgan, "two-stream video GAN with 3D convolutions (Vondrick et al. 2016)")


def frechet_frames(ctx):
    """Per-frame Fréchet distance (lazy import keeps torch out of `ganzoo list`)."""
    from ganzoo.metrics.video import frechet_frames_metric

    return frechet_frames_metric(ctx)


def digit_consistency(ctx):
    """Digit-identity consistency across frames, generated vs real."""
    from ganzoo.metrics.video import digit_consistency_metric

    return digit_consistency_metric(ctx)


def motion(ctx):
    """Mean absolute frame-to-frame difference, generated vs real."""
    from ganzoo.metrics.video import motion_metric

    return motion_metric(ctx)


def frechet_video(ctx):
    """Fréchet distance in the features of ganzoo's own clip classifier, generated vs real clips."""
    from ganzoo.metrics.video import frechet_video_metric

    return frechet_video_metric(ctx)


def clip_accuracy(ctx):
    """Class-conditional clips classified as the requested digit in every frame, generated vs real."""
    from ganzoo.metrics.video import clip_accuracy_metric

    return clip_accuracy_metric(ctx)


@hookimpl
def ganzoo_metrics(register):
    """Video metrics: per-frame Fréchet distance, digit-identity consistency, motion statistic; each with its
    reference (two disjoint sets of real clips, or the real clips' values the metric measures itself)."""
    register("frechet-frames", Metric(frechet_frames, kinds=("video",), goals={"fd": "min"},
                                      reference=scored_on_real(frechet_frames)),
             "Fréchet distance of per-frame evaluator features, generated vs real frames")
    register("digit-consistency", Metric(digit_consistency, kinds=("video",), goals={"fake": "max"},
                                         reference=reported_real("real clips", fake="real",
                                                                 fake_agreement="real_agreement")),
             "share of clips whose predicted digit stays the same in every frame (real clips: the ceiling)")
    register("motion", Metric(motion, kinds=("video",), goals={"gap": "min"},
                              reference=reported_real("real clips", fake="real")),
             "mean absolute frame-to-frame difference, generated vs real")
    register("frechet-video", Metric(frechet_video, kinds=("video",), goals={"fd": "min"}, fixed_length=True,
                                     reference=scored_on_real(frechet_video)),
             "Fréchet video distance in the features of a clip classifier ganzoo trains on the run's clips "
             "(not I3D's FVD)")
    register("clip-accuracy", Metric(clip_accuracy, kinds=("video",), conditional=True, goals={"fake": "max"},
                                     reference=reported_real("real clips", fake="real", fake_frames="real_frames")),
             "share of class-conditional clips whose every frame is classified as the requested digit")
