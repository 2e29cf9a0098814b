"""Built-in plugin ``mocogan``: MoCoGAN, video from a fixed content code and recurrent motion codes
(Tulyakov, Liu, Yang & Kautz 2018); class-conditional with labelled clips."""

from __future__ import annotations

from ganzoo import hookimpl
from ganzoo.errors import ConfigError
from ganzoo.spec import DataSpec


def build_mocogan(spec: DataSpec, content_dim: int = 50, motion_dim: int = 10, noise_dim: int = 10, width: int = 32,
                  d_width: int = 32, frame_picks: int = 1, image_weight: float = 1.0, upsampling: str = "resize",
                  motion: str = "code", whole_pixels: bool = False, max_shift: float = 1.0, class_weight: float = 0.0):
    """MoCoGAN's generator (content code, GRU motion codes, one image generator for every frame) and its two
    discriminators (clips and single frames), sized from the DataSpec: ``width``/``d_width`` are the channels
    of G's last and D's first layers (doubling per layer), ``frame_picks`` the random frames per clip that
    D_I judges (1 in the paper), ``image_weight`` the weight of D_I's GAN loss, ``upsampling`` G's x2
    layers ("resize": resize-convolution, or "transposed"), ``motion`` how a motion code makes a frame
    ("code": an input of the image generator, as in the paper; "warp": the affine map that moves the clip's
    one image; "translate": its shift alone, at most ``max_shift`` half-frames each way (1.0: the image's
    centre stays in the frame); ``whole_pixels`` rounds those shifts to whole pixels). Labelled clips make it
    class-conditional; ``class_weight`` > 0 adds a class head to D_I and ACGAN's class losses (Odena et al.
    2017) at that weight."""
    from ganzoo_plugins.mocogan_nets import MOTIONS, MoCoGANDiscriminator, MoCoGANGenerator
    from ganzoo_plugins.vgan_nets import check_upsampling

    if min(content_dim, motion_dim, noise_dim, width, d_width, frame_picks) < 1:
        raise ConfigError("mocogan: network.content_dim, motion_dim, noise_dim, width, d_width and frame_picks "
                          "must be at least 1")
    if image_weight < 0:
        raise ConfigError(f"mocogan: network.image_weight must be non-negative, got {image_weight}")
    check_upsampling(upsampling=upsampling)
    if motion not in MOTIONS:
        choices = ", ".join(map(repr, MOTIONS[:-1])) + f" or {MOTIONS[-1]!r}"
        raise ConfigError(f"mocogan: network.motion must be {choices}, got {motion!r}")
    if isinstance(max_shift, bool) or not isinstance(max_shift, (int, float)) or max_shift <= 0:
        raise ConfigError(f"mocogan: network.max_shift must be positive (half-frames), got {max_shift}")
    if isinstance(class_weight, bool) or not isinstance(class_weight, (int, float)) or class_weight < 0:
        raise ConfigError(f"mocogan: network.class_weight must be non-negative, got {class_weight}")
    if class_weight and not spec.num_classes:
        raise ConfigError("mocogan: network.class_weight trains a class head, which needs labelled clips; "
                          "set dataset.labels=true or network.class_weight=0")
    if whole_pixels and motion != "translate":
        raise ConfigError("mocogan: network.whole_pixels rounds shifts; it needs network.motion=translate")
    return (MoCoGANGenerator(spec, content_dim, motion_dim, noise_dim, width, upsampling, motion,
                             bool(whole_pixels), float(max_shift)),
            MoCoGANDiscriminator(spec, d_width, frame_picks, image_weight, float(class_weight)))


build_mocogan.example_specs = [DataSpec((1, 4, 8, 8)), DataSpec((3, 8, 16, 16)), DataSpec((1, 8, 16, 16), 10)]
build_mocogan.tiny_params = {"content_dim": 4, "motion_dim": 3, "noise_dim": 2, "width": 4, "d_width": 4}


@hookimpl
def ganzoo_networks(register):
    """The MoCoGAN family."""
    register("mocogan", build_mocogan, "content code + recurrent motion codes, image and video discriminators "
                                       "(Tulyakov et al. 2018)")
