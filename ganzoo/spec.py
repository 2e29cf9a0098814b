"""Small types handed across the plugin boundary: what data looks like, and the data itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import torch

DataKind = Literal["points", "image", "video"]


@dataclass(frozen=True)
class DataSpec:
    """Shape of one sample and its labels.

    shape is (D,) for points, (C, H, W) for images and (C, T, H, W) for video;
    num_classes is 0 for unlabelled data; samples lie in value_range.
    """

    shape: tuple[int, ...]
    num_classes: int = 0
    value_range: tuple[float, float] = (-1.0, 1.0)

    @property
    def kind(self) -> DataKind:
        """points, image or video, from the number of dimensions."""
        return {1: "points", 3: "image", 4: "video"}[len(self.shape)]

    @property
    def conditional(self) -> bool:
        """True when samples carry class labels a conditional model can use."""
        return self.num_classes > 0

    @property
    def channels(self) -> int:
        """Channels of an image or video sample (the width of a point)."""
        return self.shape[0]

    def to_dict(self) -> dict:
        """Plain form for config.yaml and checkpoints."""
        return {"shape": list(self.shape), "num_classes": self.num_classes, "value_range": list(self.value_range)}

    @classmethod
    def from_dict(cls, d: dict) -> "DataSpec":
        """Inverse of to_dict."""
        return cls(tuple(d["shape"]), int(d["num_classes"]), tuple(d["value_range"]))


@dataclass
class Data:
    """A data set held as tensors: x is (N, *spec.shape) float in spec.value_range.

    y holds int64 class labels (N,) when spec.num_classes > 0, else None.
    extras holds per-sample tensors a metric may use (e.g. the digits of a Moving MNIST clip);
    info holds facts about the whole set (e.g. the modes of a mixture).
    """

    x: "torch.Tensor"
    y: "torch.Tensor | None"
    spec: DataSpec
    extras: dict[str, "torch.Tensor"] = field(default_factory=dict)
    info: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.x.shape[0])
