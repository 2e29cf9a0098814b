"""``random_affine``: the per-image rotation, shift and zoom that the MNIST evaluator trains on and InfoGAN's Q
reads its categorical code through."""

from __future__ import annotations

import torch

from ganzoo.jitter import random_affine


def spread(ink: torch.Tensor, dim: int) -> torch.Tensor:
    """Per image, the standard deviation of the ink's position along spatial axis ``dim`` (2 rows, 3 columns)."""
    shape = [1, 1, 1, 1]
    shape[dim] = ink.shape[dim]
    at = torch.arange(float(ink.shape[dim])).view(shape)
    mass = ink.sum((1, 2, 3))
    centre = (ink * at).sum((1, 2, 3), keepdim=True) / mass.view(-1, 1, 1, 1)
    return ((ink * (at - centre) ** 2).sum((1, 2, 3)) / mass).sqrt()


def bars(n: int = 64) -> torch.Tensor:
    """n 28x28 images in [-1, 1]: a horizontal bar through the centre."""
    x = torch.full((n, 1, 28, 28), -1.0)
    x[:, :, 13:15, 4:24] = 1.0
    return x


def test_random_affine_moves_each_image_within_its_bounds():
    """No rotation and no shift is the identity; background stays background; each image gets its own angle,
    within the bound (a bar turned by at most 30 degrees keeps most of its length along its axis); gradients pass."""
    x = bars()
    assert torch.allclose(random_affine(x, 0.0, 0.0), x, atol=1e-5)
    torch.manual_seed(0)
    moved = random_affine(x, 30.0, 2.0)
    assert torch.allclose(random_affine(torch.full_like(x, -1.0), 30.0, 2.0), torch.full_like(x, -1.0))
    assert len({round(float(m.sum()), 3) for m in moved}) > 32 and not torch.equal(moved[0], moved[1])
    ink = (moved + 1) / 2  # 0 background, 1 bar
    row_spread, col_spread = spread(ink, 2), spread(ink, 3)
    assert bool((col_spread > row_spread).all())  # never turned past 45 degrees
    assert float(row_spread.max()) > 2 * float(row_spread.min())  # turned by different angles
    x.requires_grad_(True)
    random_affine(x, 30.0, 2.0).sum().backward()
    assert x.grad is not None and bool(x.grad.ne(0).any())


def test_a_generator_makes_the_jitter_repeatable_and_fill_and_zoom_apply():
    """The same generator seed gives the same jitter without touching the global generator; ``fill`` is what moves
    in from outside (border continuation without it); ``scale`` zooms each image by its own factor."""
    x = bars()
    state = torch.random.get_rng_state()
    first = random_affine(x, 10.0, 2.0, scale=0.1, fill=-1.0, generator=torch.Generator().manual_seed(5))
    again = random_affine(x, 10.0, 2.0, scale=0.1, fill=-1.0, generator=torch.Generator().manual_seed(5))
    assert torch.equal(first, again) and torch.equal(torch.random.get_rng_state(), state)
    edge = torch.full((8, 1, 28, 28), 1.0)
    filled = random_affine(edge, 0.0, 3.0, fill=-1.0, generator=torch.Generator().manual_seed(1))
    continued = random_affine(edge, 0.0, 3.0, generator=torch.Generator().manual_seed(1))
    assert float(filled.min()) < 0 and torch.allclose(continued, edge)
    lengths = {round(float(spread((m + 1) / 2, 3)), 2)
               for m in random_affine(x, 0.0, 0.0, scale=0.3, generator=torch.Generator().manual_seed(2)).unsqueeze(1)}
    assert len(lengths) > 32  # a bar's length varies with each image's zoom
