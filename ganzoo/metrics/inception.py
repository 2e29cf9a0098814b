"""Inception-v3 features for ``fid-inception``, a Fréchet distance on RGB data (Heusel et al. 2017), from weights
already on disk.

These are torchvision's ImageNet Inception-v3 weights, not the TensorFlow graph of 2015-12-05 that the
published FID uses, and the resize differs too: its numbers are not comparable with published FIDs.
``ganzoo.metrics.fid`` is the standard FID.

ganzoo never downloads them: the FID uses torchvision's ImageNet Inception-v3 weights only
when the file torchvision itself would download already sits in the torch hub cache
(``$TORCH_HOME/hub/checkpoints``). Features are the 2048 pooled activations before the
classifier; images in [-1, 1] are resized to 299 x 299, which is the input scaling Google's
weights expect (torchvision's ``transform_input`` maps ImageNet-normalised input to it).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ganzoo.metrics.features import MetricError

INPUT_SIZE = 299


def weights_url() -> str:
    """The URL torchvision downloads Inception-v3 from (its file name carries its sha256 prefix)."""
    from torchvision.models import Inception_V3_Weights

    return Inception_V3_Weights.IMAGENET1K_V1.url


def weights_path() -> Path:
    """Where the weight file must already be: the torch hub cache, under torchvision's file name."""
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(weights_url()).name


def build_inception(state_dict: dict) -> nn.Module:
    """Inception-v3 with these weights, its classifier replaced by the identity (2048 features), in eval mode."""
    from torchvision.models import inception_v3

    model = inception_v3(weights=None, aux_logits=True, init_weights=False, transform_input=False)
    model.load_state_dict(state_dict)
    model.fc = nn.Identity()
    return model.eval()


def load_inception() -> tuple[nn.Module, str]:
    """The pretrained feature extractor and the sha256 of its weight file, or a clear error naming the file."""
    path = weights_path()
    if not path.is_file():
        raise MetricError(
            f"Inception FID needs torchvision's Inception-v3 weights at {path} and ganzoo never downloads them; "
            f"put {path.name} there (or point TORCH_HOME at a cache that holds it)"
        )
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    prefix = path.stem.rsplit("-", 1)[-1]
    if not sha.startswith(prefix):
        raise MetricError(f"{path} does not match torchvision's published hash (sha256 {sha[:8]}..., expected {prefix}...)")
    state = torch.load(path, map_location="cpu", weights_only=True)
    return build_inception(state), sha


@torch.no_grad()
def inception_features(model: nn.Module, x: torch.Tensor, device: torch.device, batch: int = 50) -> torch.Tensor:
    """(N, 2048) float64 features of (N, 3, H, W) RGB images in [-1, 1]."""
    if x.dim() != 4 or x.shape[1] != 3:
        raise MetricError(f"Inception FID takes RGB images (N, 3, H, W), got shape {tuple(x.shape)}")
    model = model.to(device)
    out = []
    for i in range(0, len(x), batch):
        chunk = x[i : i + batch].float().to(device)
        chunk = F.interpolate(chunk, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", antialias=True, align_corners=False)
        out.append(model(chunk).double().cpu())
    return torch.cat(out)
