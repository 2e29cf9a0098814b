"""The image history pool of Shrivastava et al. 2017 ("Learning from Simulated and Unsupervised Images
through Adversarial Training", section 2.3), as CycleGAN uses it (Zhu et al. 2017, section 4): the
discriminator is updated on a mix of the newest translations and ones made by earlier generators,
which damps oscillation between G and D.
"""

from __future__ import annotations

import torch


class ImagePool:
    """Keeps up to ``size`` generated images. ``query(batch)`` returns a batch of the same size: while the
    pool fills, the new images themselves (each stored); once full, each new image is, with probability
    1/2, returned as it is, else swapped for a stored one drawn at random (the new one takes its place).

    Its random draws come from its own generator, seeded once and saved in ``state_dict``, so a resumed
    run draws the same swaps; ``size`` 0 turns the pool off.
    """

    def __init__(self, size: int, seed: int) -> None:
        if size < 0:
            raise ValueError(f"the pool size must be 0 or more, got {size}")
        self.size = size
        self.images: torch.Tensor | None = None
        self.count = 0
        self.rng = torch.Generator().manual_seed(seed)

    def query(self, batch: torch.Tensor) -> torch.Tensor:
        """A batch for D: the new images, some swapped for older ones (see the class docs); no gradients."""
        batch = batch.detach()
        if self.size == 0:
            return batch
        if self.images is None:
            self.images = batch.new_empty((self.size, *batch.shape[1:]))
        elif self.images.device != batch.device or self.images.dtype != batch.dtype:
            self.images = self.images.to(batch.device, batch.dtype)
        out = batch.clone()
        for i, image in enumerate(batch):
            if self.count < self.size:
                self.images[self.count] = image
                self.count += 1
            elif float(torch.rand((), generator=self.rng)) < 0.5:
                j = int(torch.randint(self.size, (), generator=self.rng))
                out[i] = self.images[j]
                self.images[j] = image
        return out

    def state_dict(self) -> dict:
        """The stored images, their count and the generator's state (tensors and ints: weights-only loadable)."""
        images = self.images[: self.count].cpu() if self.images is not None else torch.empty(0)
        return {"images": images.clone(), "count": self.count, "rng": self.rng.get_state()}

    def load_state_dict(self, state: dict) -> None:
        """Restore what state_dict() saved."""
        self.count = int(state["count"])
        self.rng.set_state(state["rng"])
        stored = state["images"]
        if self.count == 0:
            self.images = None
            return
        self.images = stored.new_empty((self.size, *stored.shape[1:]))
        self.images[: self.count] = stored
