"""Writing generated samples for people to look at: image grids, 2D scatter plots."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import torch

from ganzoo import contracts
from ganzoo.errors import GanzooError
from ganzoo.spec import Data, DataSpec

#: The values a continuous code sweeps in a ``--vary`` grid, one per row (Chen et al. 2016 vary theirs
#: from -2 to 2, beyond the [-1, 1] they trained on).
CONTINUOUS_SWEEP = (-2.0, 2.0)
CONTINUOUS_ROWS = 9


def underlying(G: torch.nn.Module) -> torch.nn.Module:
    """The network inside training wrappers (DDP, the EMA's ``AveragedModel``), whose optional members count."""
    from torch.nn.parallel import DistributedDataParallel
    from torch.optim.swa_utils import AveragedModel

    while isinstance(G, (DistributedDataParallel, AveragedModel)):
        G = G.module
    return G


def clip_maker(G: torch.nn.Module, spec: DataSpec, frames: int | None, seed: int | None,
               device: torch.device | str) -> "Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor]":
    """``G`` itself, or for ``frames`` its ``clips`` at that length, the motion noise past the trained length
    drawn from ``seed``; a generator without a motion network, or fewer than one frame, is a GanzooError."""
    if frames is None:
        return G
    clips = contracts.optional(G, contracts.Generator, "clips")
    if clips is None:
        made = f"clips of {spec.shape[1]} frames only" if spec.kind == "video" else "no video"
        raise GanzooError(f"--frames: this generator makes {made}; generators with a motion network make "
                          "clips of any length (e.g. network 'mocogan')")
    if frames < 1:
        raise GanzooError(f"--frames must be at least 1, got {frames}")
    gen = torch.Generator(device=device).manual_seed(1_000_003 + (seed or 0))
    return lambda z, labels: clips(z, labels, frames, generator=gen)


def draw_latent(G: torch.nn.Module, n: int, generator: torch.Generator | None = None,
                device: torch.device | str | None = None) -> torch.Tensor:
    """n latent inputs for G: its ``sample_latent`` where it has one, else exactly
    ``torch.randn(n, G.latent_dim, generator=generator, device=device)``."""
    net = underlying(G)
    sample_latent = contracts.optional(net, contracts.Generator, "sample_latent")
    if sample_latent is None:
        return torch.randn(n, net.latent_dim, generator=generator, device=device)
    return sample_latent(n, generator=generator, device=device)


def latent_codes(G: torch.nn.Module) -> dict[str, int]:
    """The latent codes G declares, {name: categories, 0 for a continuous code}; {} for none."""
    return dict(contracts.optional(underlying(G), contracts.Generator, "codes") or {})


def code_values(G: torch.nn.Module, code: str) -> torch.Tensor:
    """The values a grid that varies ``code`` shows, one per row: each category, or a continuous sweep."""
    codes = latent_codes(G)
    if not codes:
        raise GanzooError("this generator declares no latent codes to vary; --vary works with generators "
                          "that do (e.g. network 'infogan')")
    if code not in codes:
        raise GanzooError(f"unknown latent code {code!r}; this generator's codes are {', '.join(codes)}")
    size = int(codes[code])
    return torch.arange(size) if size else torch.linspace(*CONTINUOUS_SWEEP, CONTINUOUS_ROWS)


def varied_latent(G: torch.nn.Module, code: str, columns: int,
                  generator: torch.Generator | None = None) -> torch.Tensor:
    """Latent inputs (rows * columns, latent_dim), row-major, for a grid that varies one code: a row per
    value of ``code`` (``code_values``), a column per latent input drawn once and held across the rows."""
    values = code_values(G, code)
    base = draw_latent(G, columns, generator=generator)
    with_code = contracts.optional(underlying(G), contracts.Generator, "with_code")
    return with_code(base.repeat(len(values), 1), code, values.repeat_interleave(columns))


def fixed_inputs(spec: DataSpec, G: torch.nn.Module, n: int, nrow: int, seed: int) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Latent inputs (and labels) for G that stay the same all run, so grids show progress; a row per class, or
    for an unconditional image generator with a categorical latent code, a row per category of its first one."""
    g = torch.Generator().manual_seed(seed + 7919)
    category = next((code for code, size in latent_codes(G).items() if size), None)
    if category is not None and spec.kind != "points" and not contracts.optional(underlying(G), contracts.Generator,
                                                                                   "num_classes"):
        return varied_latent(G, category, nrow, generator=g), None
    labels = None
    if spec.conditional and spec.kind != "points":
        per_class = nrow
        n = spec.num_classes * per_class
        labels = torch.arange(spec.num_classes).repeat_interleave(per_class)
    elif spec.conditional:
        labels = torch.randint(0, spec.num_classes, (n,), generator=g)
    return draw_latent(G, n, generator=g), labels


def fixed_sources(data: Data, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Image-to-image data: up to ``n`` source images drawn once in a seeded order (so grids show progress), and
    their targets where the data is paired (``Data.info["paired"]``), else None."""
    g = torch.Generator().manual_seed(seed + 7919)
    idx = torch.randperm(len(data), generator=g)[:n]
    return data.y[idx], (data.floats(idx) if data.info.get("paired") else None)


def translation_rows(sources: torch.Tensor, translations: torch.Tensor, targets: torch.Tensor | None,
                     columns: int) -> torch.Tensor:
    """A translation grid's images, row-major: for every ``columns`` sources, a row of them, a row of their
    translations and, for paired data, a row of their targets (one-channel rows shown in the translations'
    channels); a last incomplete group is left out."""
    rows = [sources, translations] + ([targets] if targets is not None else [])
    channels = max(r.shape[1] for r in rows)
    rows = [r.float().cpu().expand(-1, channels, -1, -1) if r.shape[1] == 1 else r.float().cpu() for r in rows]
    columns = max(1, min(columns, len(sources)))
    groups = [r[i : i + columns] for i in range(0, len(sources) - columns + 1, columns) for r in rows]
    return torch.cat(groups)


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
