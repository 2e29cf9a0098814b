"""Small types handed across the plugin boundary: what data looks like, and the data itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import torch

    from ganzoo.data import PixelFile

DataKind = Literal["points", "image", "video"]


@dataclass(frozen=True)
class DataSpec:
    """Shape of one sample and its labels.

    shape is (D,) for points, (C, H, W) for images and (C, T, H, W) for video;
    num_classes is 0 for unlabelled data; samples lie in value_range.
    condition_shape is () unless each sample's condition is itself an image: for image-to-image
    translation it is the (C, H, W) of the source image, which ``Data.y`` then holds (floats in
    value_range) and which G and D receive as their ``labels`` argument.
    """

    shape: tuple[int, ...]
    num_classes: int = 0
    value_range: tuple[float, float] = (-1.0, 1.0)
    condition_shape: tuple[int, ...] = ()

    @property
    def kind(self) -> DataKind:
        """points, image or video, from the number of dimensions."""
        return {1: "points", 3: "image", 4: "video"}[len(self.shape)]

    @property
    def conditional(self) -> bool:
        """True when samples carry class labels a conditional model can use."""
        return self.num_classes > 0

    @property
    def translation(self) -> bool:
        """True when each sample's condition is a source image (image-to-image translation)."""
        return bool(self.condition_shape)

    @property
    def channels(self) -> int:
        """Channels of an image or video sample (the width of a point)."""
        return self.shape[0]

    def to_dict(self) -> dict:
        """Plain form for config.yaml and checkpoints."""
        plain = {"shape": list(self.shape), "num_classes": self.num_classes, "value_range": list(self.value_range)}
        if self.condition_shape:
            plain["condition_shape"] = list(self.condition_shape)
        return plain

    @classmethod
    def from_dict(cls, d: dict) -> "DataSpec":
        """Inverse of to_dict (a dict written before ``condition_shape`` existed reads as ())."""
        return cls(tuple(d["shape"]), int(d["num_classes"]), tuple(d["value_range"]),
                   tuple(int(s) for s in d.get("condition_shape", ())))


@dataclass
class Data:
    """A data set held as tensors: x is (N, *spec.shape) float in spec.value_range, or, for images, uint8
    pixels 0..255 that map linearly onto spec.value_range (a quarter of float32's memory): ``floats()`` gives
    float samples either way, and training converts one batch at a time.

    y holds int64 class labels (N,) when spec.num_classes > 0, source images (N, *spec.condition_shape)
    in spec.value_range for image-to-image data, else None.
    extras holds per-sample tensors a metric may use (e.g. the digits of a Moving MNIST clip);
    info holds facts about the whole set (e.g. the modes of a mixture); its ``"record"`` entry, plain
    data, is written to the run's config.yaml as ``run.dataset`` (e.g. how many files were skipped).
    hflip makes training flip each image of a batch horizontally with probability 1/2, drawn from the
    run's seed and the batch's place in the data order (so a resumed run flips the same images).
    stream, for a set too large for memory (a ``ganzoo.data.PixelFile``), is the uint8 file x maps:
    training then reads batches from it in DataLoader workers instead of holding x on the device.
    """

    x: "torch.Tensor"
    y: "torch.Tensor | None"
    spec: DataSpec
    extras: dict[str, "torch.Tensor"] = field(default_factory=dict)
    info: dict = field(default_factory=dict)
    hflip: bool = False
    stream: "PixelFile | None" = None

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def floats(self, idx: "torch.Tensor | slice | None" = None) -> "torch.Tensor":
        """The samples (those at ``idx``, else all) as floats in spec.value_range, whatever x stores."""
        x = self.x if idx is None else self.x[idx]
        return pixels_to_floats(x, self.spec.value_range) if x.dtype == _uint8() else x


def pixels_to_floats(x: "torch.Tensor", value_range: tuple[float, float]) -> "torch.Tensor":
    """uint8 pixels 0..255 -> float32 in value_range, linearly (0 -> low end, 255 -> high end)."""
    lo, hi = value_range
    return x.float().div_(255.0 / (hi - lo)).add_(lo)


def floats_to_pixels(x: "torch.Tensor", value_range: tuple[float, float]) -> "torch.Tensor":
    """Samples in value_range -> uint8 pixels 0..255, rounded to the nearest (``pixels_to_floats``' inverse, so
    pixels that went through floats come back exactly); uint8 samples pass through unchanged."""
    if x.dtype == _uint8():
        return x
    lo, hi = value_range
    return ((x.float() - lo) * (255.0 / (hi - lo))).round().clamp(0, 255).to(_uint8())


def _uint8() -> "torch.dtype":
    import torch

    return torch.uint8
