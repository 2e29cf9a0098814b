"""The standard FID: the published protocol's Inception network, weights, resizing and 8-bit input.

Heusel et al. 2017 ("GANs Trained by a Two Time-Scale Update Rule Converge to a Local Nash
Equilibrium") defined the FID on the 2048 pool3 features of the TensorFlow Inception graph of
2015-12-05 that their TTUR code ships. torch-fidelity (Obukhov et al. 2020) ports that graph and
its weights (``pt_inception-2015-12-05``, the file ``weights-inception-2015-12-05-6726825d.pth``)
to PyTorch together with TensorFlow 1.x's bilinear resize, and documents agreement with the
reference code to a relative error of 1e-6 on the FID (1e-4 on the features; its "precision"
page); torchmetrics' ``FrechetInceptionDistance`` builds its network from torch-fidelity
(``NoTrainInceptionV3``). ganzoo uses that network with ``antialias=False``, i.e. torch-fidelity's
own TensorFlow-compatible resize: recent torchmetrics (1.9 here) resizes with antialiasing by
default, which its own documentation says differs from the original Inception pipeline. So a value here is the FID
that TTUR, torch-fidelity and torchmetrics (``antialias=False``) report for the same two image
sets, and is comparable with published FIDs measured the same way (same reference split and
sample counts; 50,000 generated images are the usual count, and FID is biased upwards for fewer).

Images go in as 8-bit RGB, as published numbers were computed from image files: samples in the
data's value range are mapped to 0..255 and rounded (real data stored as 8-bit comes back exactly);
the network resizes them to 299x299 itself. Grayscale images are repeated to 3 channels, as
torch-fidelity does for 1-channel input: such a number compares with other grayscale numbers
computed the same way, never with the published FIDs of RGB data sets.

The weights are read from the torch hub cache, where torch-fidelity and torchmetrics download
them (``$TORCH_HOME/hub/checkpoints``); with ``GANZOO_OFFLINE=1`` ganzoo never downloads them
and says in one line where to put the file. torch-fidelity is the optional extra ``fid``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import nn

from ganzoo.metrics.features import MetricError
from ganzoo.spec import floats_to_pixels

if TYPE_CHECKING:
    from ganzoo.metrics.base import EvalContext

WEIGHTS_FILE = "weights-inception-2015-12-05-6726825d.pth"
#: Where torch-fidelity downloads the weights from (its ``URL_INCEPTION_V3``).
WEIGHTS_URL = f"https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/{WEIGHTS_FILE}"
INPUT_SIZE = 299
FEATURE_DIM = 2048
INSTALL_HINT = "pip install 'ganzoo[fid]' (or, in a clone, uv sync --extra fid)"
EVALUATOR = "pt_inception-2015-12-05 (TTUR's FID Inception, through torch-fidelity)"


def weights_path() -> Path:
    """Where the FID Inception weights must be: the torch hub cache (``$TORCH_HOME/hub/checkpoints``), under the
    file name torch-fidelity downloads them as."""
    return Path(torch.hub.get_dir()) / "checkpoints" / WEIGHTS_FILE


def to_uint8_rgb(x: torch.Tensor, value_range: tuple[float, float]) -> torch.Tensor:
    """(N, 1 or 3, H, W) images in ``value_range`` (or uint8 pixels) -> (N, 3, H, W) uint8, 1-channel images
    repeated to 3 channels: the FID network's input."""
    if x.dim() != 4 or x.shape[1] not in (1, 3):
        raise MetricError(f"metric 'fid' takes (N, 1 or 3, H, W) images, got shape {tuple(x.shape)}")
    pixels = floats_to_pixels(x, value_range)
    return pixels.repeat(1, 3, 1, 1) if pixels.shape[1] == 1 else pixels.contiguous()


@torch.no_grad()
def fid_features(network: nn.Module, x: torch.Tensor, value_range: tuple[float, float], device: torch.device,
                 batch: int = 50) -> torch.Tensor:
    """(N, D) float64 features of images in ``value_range``: 8-bit RGB through ``network`` (the FID Inception, which
    resizes to 299x299 itself), in batches on ``device``."""
    pixels = to_uint8_rgb(x, value_range)
    network = network.to(device)
    return torch.cat([network(pixels[i : i + batch].to(device)).double().cpu() for i in range(0, len(pixels), batch)])


def _require_extra() -> None:
    import importlib.util

    if importlib.util.find_spec("torch_fidelity") is None:
        raise MetricError(f"metric 'fid' needs torch-fidelity, which is not installed: {INSTALL_HINT}")


def _fetch(path: Path) -> None:
    """Download the weights to ``path`` when the network may be used, else a one-line error saying where to put them."""
    from ganzoo.data import downloads_allowed

    if not downloads_allowed():
        raise MetricError(f"metric 'fid' needs the FID Inception weights at {path}; GANZOO_OFFLINE=1 forbids "
                          f"downloading them: fetch {WEIGHTS_URL} and save it there (or point TORCH_HOME at a "
                          "cache that holds hub/checkpoints/" + WEIGHTS_FILE + ")")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        torch.hub.download_url_to_file(WEIGHTS_URL, str(path), progress=False)
    except Exception as exc:  # any network or disk failure: one line, never a traceback
        raise MetricError(f"metric 'fid' could not download {WEIGHTS_URL} to {path} ({type(exc).__name__}); "
                          "fetch it by hand and save it there") from None


def check_weights(path: Path) -> str:
    """The sha256 of the weight file, after checking it against the hash prefix in its name and that it holds
    tensors only (a weights-only load); torch-fidelity then loads the same file."""
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    prefix = path.stem.rsplit("-", 1)[-1]
    if not sha.startswith(prefix):
        raise MetricError(f"{path} is not the FID Inception weight file (sha256 {sha[:8]}..., expected {prefix}...); "
                          f"delete it and fetch {WEIGHTS_URL}")
    try:
        torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise MetricError(f"{path} does not load as plain weights ({type(exc).__name__}); delete it and fetch "
                          f"{WEIGHTS_URL}") from None
    return sha


_MEMO: dict[str, tuple[nn.Module, str]] = {}


def load_fid_inception(path: Path | None = None) -> tuple[nn.Module, str]:
    """The FID Inception (uint8 (N, 3, H, W) -> (N, 2048)) and its weight file's sha256: torchmetrics'
    ``NoTrainInceptionV3`` from torch-fidelity with TensorFlow's resize, weights from ``path`` (default:
    ``weights_path()``, downloaded there unless GANZOO_OFFLINE=1)."""
    _require_extra()
    path = Path(path) if path is not None else weights_path()
    if str(path) in _MEMO:
        return _MEMO[str(path)]
    if not path.is_file():
        _fetch(path)
    sha = check_weights(path)
    from torchmetrics.image.fid import NoTrainInceptionV3

    network = NoTrainInceptionV3(name="inception-v3-compat", features_list=[str(FEATURE_DIM)],
                                 feature_extractor_weights_path=str(path), antialias=False)
    _MEMO[str(path)] = network, sha
    return network, sha


def fid_protocol(sha: str, channels: int) -> dict:
    """What identifies the FID's feature extractor and input pipeline, for a protocol block."""
    from importlib.metadata import version

    return {"evaluator": EVALUATOR, "evaluator_sha256": sha, "features": f"pool3 ({FEATURE_DIM})",
            "input": "8-bit RGB" if channels == 3 else "8-bit grayscale repeated to RGB (not comparable with RGB FIDs)",
            "resize": f"bilinear to {INPUT_SIZE}x{INPUT_SIZE}, TensorFlow 1.x-compatible (torch-fidelity), "
                      "no antialiasing",
            "torch_fidelity_version": version("torch-fidelity")}


def fid_values(ctx: "EvalContext", network: nn.Module) -> tuple[float, int, int]:
    """(FID, real count, generated count) of a context's real subset and generated samples in ``network``'s
    features."""
    from ganzoo.metrics.frechet import frechet_distance

    vr = ctx.spec.value_range
    real = fid_features(network, ctx.real_subset().x, vr, ctx.device)
    fake = fid_features(network, ctx.fake()[0], vr, ctx.device)
    return frechet_distance(real, fake), len(real), len(fake)
