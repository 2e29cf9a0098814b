"""Writing generated clips for people to watch: an animated GIF grid, a PNG strip, an MP4 when imageio is installed.

Clips are (N, C, T, H, W) tensors in the DataSpec's value range. GIFs are written with PIL
(a torchvision dependency); MP4 needs the optional extra ``ganzoo[video]`` (imageio[ffmpeg]).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import torch

from ganzoo.spec import DataSpec

#: Playback speed of GIFs and MP4s, in frames per second.
FPS = 8
#: Pixels between clips in a grid.
PADDING = 2


def to_uint8_frames(x: torch.Tensor, spec: DataSpec, nrow: int) -> torch.Tensor:
    """Clips (N, C, T, H, W) -> one grid image per time step, (T, H', W', C) uint8, all clips in sync."""
    from torchvision.utils import make_grid

    lo, hi = spec.value_range
    x = ((x.detach().float().cpu() - lo) / (hi - lo)).clamp(0, 1)
    grids = [make_grid(x[:, :, t], nrow=nrow, padding=PADDING) for t in range(x.shape[2])]
    frames = torch.stack(grids).mul(255).round().to(torch.uint8)
    if x.shape[1] == 1:
        frames = frames[:, :1]  # make_grid repeats one channel to three; keep the GIF grayscale
    return frames.permute(0, 2, 3, 1).contiguous()


def _pil_frames(frames: torch.Tensor) -> list:
    from PIL import Image

    mode = "L" if frames.shape[-1] == 1 else "RGB"
    return [Image.fromarray(f.squeeze(-1).numpy() if mode == "L" else f.numpy(), mode) for f in frames]


def save_gif(x: torch.Tensor, spec: DataSpec, path: Path, nrow: int, fps: int = FPS) -> Path:
    """Save clips as an animated GIF: a grid of clips playing in sync, looping."""
    images = _pil_frames(to_uint8_frames(x, spec, nrow))
    path.parent.mkdir(parents=True, exist_ok=True)
    images[0].save(path, save_all=True, append_images=images[1:], duration=round(1000 / fps), loop=0,
                   optimize=False)
    return path


def save_strip(x: torch.Tensor, spec: DataSpec, path: Path, clips: int = 8) -> Path:
    """Save a PNG with one row per clip (the first ``clips``) and one column per frame."""
    from torchvision.utils import save_image

    x = x[:clips].detach().float().cpu()
    frames = x.permute(0, 2, 1, 3, 4).flatten(0, 1)  # (N*T, C, H, W), clip by clip
    path.parent.mkdir(parents=True, exist_ok=True)
    save_image(frames, path, nrow=x.shape[2], normalize=True, value_range=spec.value_range, padding=PADDING)
    return path


def mp4_available() -> bool:
    """True when the optional MP4 writer (imageio with its ffmpeg plugin) is installed."""
    return importlib.util.find_spec("imageio") is not None and importlib.util.find_spec("imageio_ffmpeg") is not None


def save_mp4(x: torch.Tensor, spec: DataSpec, path: Path, nrow: int, fps: int = FPS) -> Path:
    """Save clips as an H.264 MP4 grid (needs ``ganzoo[video]``); frames are padded to even sides."""
    import imageio.v2 as imageio

    frames = to_uint8_frames(x, spec, nrow)
    pad_h, pad_w = frames.shape[1] % 2, frames.shape[2] % 2
    frames = torch.nn.functional.pad(frames.permute(0, 3, 1, 2), (0, pad_w, 0, pad_h)).permute(0, 2, 3, 1)
    if frames.shape[-1] == 1:
        frames = frames.expand(-1, -1, -1, 3)
    path.parent.mkdir(parents=True, exist_ok=True)
    imageio.mimwrite(path, list(frames.contiguous().numpy()), fps=fps, macro_block_size=1)
    return path


def save_video_samples(x: torch.Tensor, spec: DataSpec, stem: Path, nrow: int) -> list[Path]:
    """Write stem.gif (all clips in a grid), stem.png (a strip of frames) and stem.mp4 when imageio is installed."""
    stem = Path(stem)
    paths = [save_gif(x, spec, stem.with_suffix(".gif"), nrow), save_strip(x, spec, stem.with_suffix(".png"))]
    if mp4_available():
        paths.append(save_mp4(x, spec, stem.with_suffix(".mp4"), nrow))
    return paths
