"""Writing generated samples for people to look at: image grids, 2D scatter plots."""

from __future__ import annotations

from pathlib import Path

import torch

from ganzoo.spec import DataSpec


def fixed_inputs(spec: DataSpec, latent_dim: int, n: int, nrow: int, seed: int) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Noise (and labels) that stay the same all run, so grids show progress; a row per class."""
    g = torch.Generator().manual_seed(seed + 7919)
    labels = None
    if spec.conditional and spec.kind != "points":
        per_class = nrow
        n = spec.num_classes * per_class
        labels = torch.arange(spec.num_classes).repeat_interleave(per_class)
    elif spec.conditional:
        labels = torch.randint(0, spec.num_classes, (n,), generator=g)
    z = torch.randn(n, latent_dim, generator=g)
    return z, labels


def grid_columns(spec: DataSpec, n: int, nrow: int) -> int:
    """Images per grid row: one row per class for conditional models."""
    return nrow if spec.conditional else max(1, min(nrow, n))


def save_image_grid(x: torch.Tensor, spec: DataSpec, path: Path, nrow: int) -> Path:
    """Save (N, C, H, W) samples as one PNG grid, mapping value_range to [0, 1]."""
    from torchvision.utils import save_image

    path.parent.mkdir(parents=True, exist_ok=True)
    save_image(x.float().cpu(), path, nrow=nrow, normalize=True, value_range=spec.value_range, padding=2)
    return path


def save_scatter(x: torch.Tensor, real: torch.Tensor | None, path: Path, title: str = "") -> Path:
    """Save 2D generated points over the real ones as a PNG scatter plot."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(5, 5), dpi=100)
    if real is not None:
        ax.scatter(real[:, 0].cpu(), real[:, 1].cpu(), s=4, c="#bbbbbb", label="real")
    ax.scatter(x[:, 0].float().cpu(), x[:, 1].float().cpu(), s=4, c="#d62728", alpha=0.6, label="generated")
    ax.set_aspect("equal")
    ax.legend(loc="upper right", fontsize=8)
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def save_samples(x: torch.Tensor, spec: DataSpec, stem: Path, nrow: int, real: torch.Tensor | None = None,
                 title: str = "") -> list[Path]:
    """Save samples in the form that suits the data kind; returns the files written."""
    if spec.kind == "points":
        return [save_scatter(x, real, stem.with_suffix(".png"), title)]
    if spec.kind == "video":
        from ganzoo.video import save_video_samples

        return save_video_samples(x, spec, stem, nrow)
    return [save_image_grid(x, spec, stem.with_suffix(".png"), nrow)]
