"""DiffAugment (Zhao et al. 2020): each policy's effect, video clips sharing one draw, and D seeing it in training."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ganzoo.engine import Engine
from ganzoo.errors import ConfigError
from ganzoo.spec import DataSpec

ENGINE = Engine()  # loads this checkout's built-ins under their import name, ganzoo_plugins

from ganzoo_plugins import augment  # noqa: E402
IMAGES = DataSpec((1, 16, 16))


def dot_images(n: int, row: int = 8, col: int = 8) -> torch.Tensor:
    """n black 16x16 images with one white pixel at (row, col)."""
    x = torch.full((n, 1, 16, 16), -1.0)
    x[:, 0, row, col] = 1.0
    return x


def test_policies_parse_in_application_order_and_typos_are_config_errors():
    """Names may come in any order; an unknown one is a ConfigError listing the policies."""
    assert augment.parse_policy("cutout, translation") == ("translation", "cutout")
    assert augment.parse_policy("") == ()
    with pytest.raises(ConfigError, match="color, translation, cutout"):
        augment.parse_policy("translate")


def test_translation_shifts_by_at_most_an_eighth_and_fills_with_black():
    """The white pixel lands within ±2 px (1/8 of 16) of where it was, somewhere else for some samples."""
    torch.manual_seed(0)
    out = augment.translation(dot_images(200), fill=-1.0)
    assert out.shape == (200, 1, 16, 16)
    assert torch.all(out.flatten(1).eq(1.0).sum(1) == 1)
    where = out.flatten(1).argmax(1)
    rows, cols = where // 16, where % 16
    assert (rows - 8).abs().max() == 2 and (cols - 8).abs().max() == 2
    assert len(set(zip(rows.tolist(), cols.tolist()))) == 25
    edge = augment.translation(torch.ones(200, 1, 16, 16), fill=-1.0)
    assert edge.eq(-1.0).any() and set(edge.unique().tolist()) == {-1.0, 1.0}


def test_cutout_blanks_one_square_of_half_the_side():
    """Every sample loses between 1 and 8x8 pixels to the fill value, in one axis-aligned block."""
    torch.manual_seed(0)
    out = augment.cutout(torch.ones(100, 1, 16, 16), fill=-1.0)
    holes = out.eq(-1.0)[:, 0]
    counts = holes.flatten(1).sum(1)
    assert counts.min() >= 1 and counts.max() == 64
    for hole in holes:
        r, c = hole.any(1).nonzero().flatten(), hole.any(0).nonzero().flatten()
        assert hole[r.min():r.max() + 1, c.min():c.max() + 1].all()


def test_color_changes_brightness_and_contrast_differentiably():
    """Each sample gets its own colour transform, and the gradient reaches the input."""
    torch.manual_seed(0)
    x = torch.rand(8, 3, 4, 4, requires_grad=True)
    y = augment.color(x, fill=-1.0)
    assert not torch.allclose(y, x)
    assert y.mean((1, 2, 3)).std() > 0.05
    y.sum().backward()
    assert x.grad.abs().sum() > 0


def test_video_frames_share_one_draw():
    """A clip of identical frames stays a clip of identical frames: augmentation adds no motion."""
    torch.manual_seed(0)
    clip = dot_images(6).unsqueeze(2).repeat(1, 1, 4, 1, 1)
    out = augment.DiffAugment("translation,cutout", DataSpec((1, 4, 16, 16)))(clip)
    assert out.shape == clip.shape
    assert torch.equal(out[:, :, :1].expand_as(out), out)


def test_augmentation_refuses_data_that_is_not_images_or_video():
    """2D points have nothing to translate: a ConfigError that says to leave schedule.augment empty."""
    with pytest.raises(ConfigError, match="leave schedule.augment empty"):
        augment.DiffAugment("translation", DataSpec((2,)))


class SpyDiscriminator(nn.Module):
    """A linear D that remembers every batch it was shown."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(16 * 16, 1)
        self.seen: list[torch.Tensor] = []

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        self.seen.append(x.detach().clone())
        return self.linear(x.flatten(1)).squeeze(1)


class ConstantGenerator(nn.Module):
    """G whose images are white everywhere (plus a learnable offset that starts at zero)."""

    latent_dim = 4

    def __init__(self) -> None:
        super().__init__()
        self.offset = nn.Parameter(torch.zeros(()))

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return torch.ones(z.shape[0], 1, 16, 16) + self.offset


@pytest.mark.parametrize("policy", ["", "cutout"])
def test_the_schedule_shows_d_augmented_real_and_fake_batches(engine, policy):
    """With schedule.augment=cutout every batch D sees in a step has holes; without it none does."""
    torch.manual_seed(0)
    G, D = ConstantGenerator(), SpyDiscriminator()
    loss = engine.registry.get("losses", "non-saturating").obj()
    schedule = engine.registry.get("schedules", "alternating").obj(G, D, loss, IMAGES, augment=policy)
    schedule.step(lambda: (torch.ones(8, 1, 16, 16), None))
    assert len(D.seen) == 3  # real and fake for D's update, fake for G's
    holed = [batch.eq(-1.0).flatten(1).any(1).all().item() for batch in D.seen]
    assert holed == [bool(policy)] * 3
    assert G.offset.grad is not None and G.offset.grad.abs() > 0
