"""Translating images with an image-to-image model (``ganzoo sample RUN --input DIR|IMAGE``).

A user's images are read in the model's source channels, scaled (shorter side) and centre-cropped to
its size (``ganzoo_plugins.image_files``), translated, and written one PNG per input. Without inputs,
a grid translates sources of the run's own data set: a row of sources, a row of translations and,
for paired data, a row of targets.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ganzoo.errors import GanzooError

if TYPE_CHECKING:
    import torch

    from ganzoo.api import TrainedGenerator
    from ganzoo.engine import Engine

#: Suffixes an output file may have when ``--input`` names one image.
OUTPUT_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")


def input_files(path: Path) -> tuple[list[Path], Path]:
    """The images to translate (one file, or every image under a folder) and the folder their names are relative to."""
    from ganzoo_plugins.image_files import IMAGE_SUFFIXES, list_images

    if path.is_file():
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            raise GanzooError(f"--input {path} is not an image ({', '.join(s.lstrip('.') for s in IMAGE_SUFFIXES)})")
        return [path], path.parent
    if not path.is_dir():
        raise GanzooError(f"--input {path} does not exist; pass an image or a folder of images")
    files = list_images(path)
    if not files:
        raise GanzooError(f"--input {path} holds no images (png, jpg, jpeg, webp, bmp)")
    return files, path


def read_sources(files: list[Path], shape: tuple[int, ...], value_range: tuple[float, float]) -> "torch.Tensor":
    """The files as source images (N, *shape) in ``value_range``: in ``shape``'s channels, scaled and cropped to fit."""
    import torch
    import torch.nn.functional as F

    from ganzoo_plugins.image_files import read_image

    channels, height, width = shape
    images = []
    for path in files:
        image = read_image(path, channels, max(height, width)).float()
        if image.shape[-2:] != (height, width):
            image = F.interpolate(image[None], size=(height, width), mode="bilinear", antialias=True)[0]
        images.append(image)
    lo, hi = value_range
    return torch.stack(images).div_(255.0).mul_(hi - lo).add_(lo)


def output_paths(files: list[Path], base: Path, output: Path | None, default_dir: Path) -> list[Path]:
    """Where each translation goes: ``output`` itself for one input named with an image suffix, else one PNG per
    input under ``output`` (default ``default_dir``) at the input's path relative to ``base``."""
    if output is not None and len(files) == 1 and output.suffix.lower() in OUTPUT_SUFFIXES:
        return [output]
    folder = output if output is not None else default_dir
    return [folder / file.relative_to(base).with_suffix(".png") for file in files]


def translate_files(generator: "TrainedGenerator", source: Path, output: Path | None) -> list[Path]:
    """Translate the image ``source`` or every image under the folder ``source``; returns the files written
    (default: RUN_DIR/samples/translated/)."""
    from torchvision.utils import save_image

    spec = generator.spec
    files, base = input_files(source)
    translations = generator.sample(inputs=read_sources(files, spec.condition_shape, spec.value_range))
    targets = output_paths(files, base, output, generator.loaded.run_dir / "samples" / "translated")
    for image, target in zip(translations, targets):
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            save_image(image, target, normalize=True, value_range=spec.value_range)
        except (OSError, ValueError) as exc:
            raise GanzooError(f"cannot write {target}: {getattr(exc, 'strerror', None) or exc}; "
                              "choose another -o") from None
    return targets


def translate_data(generator: "TrainedGenerator", engine: "Engine", n: int, seed: int, output: Path) -> Path:
    """A grid translating ``n`` sources of the run's evaluation split (drawn by ``seed``): rows of sources,
    translations and (paired data) targets; a data set that cannot be loaded asks for ``--input``."""
    from ganzoo.data import default_data_root
    from ganzoo.runs import recorded_data_root
    from ganzoo.samples import fixed_sources, save_image_grid, translation_rows

    config, run_dir = generator.config, generator.loaded.run_dir
    try:
        data = engine.load_data(config, config["eval"]["split"], default_data_root(None, recorded_data_root(run_dir)))
    except GanzooError as exc:
        raise GanzooError(f"this model translates images and its data set {config['dataset']['name']!r} cannot be "
                          f"loaded here ({exc}); translate your own images with --input DIR|IMAGE") from None
    sources, targets = fixed_sources(data, n, seed)
    columns = max(1, min(config["sample"]["nrow"], len(sources)))
    grid = translation_rows(sources, generator.sample(inputs=sources), targets, columns)
    return save_image_grid(grid, generator.spec, output, columns)
