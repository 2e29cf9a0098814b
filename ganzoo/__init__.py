"""ganzoo: a plugin-based, modular GAN zoo.

A plugin author needs one import: ``from ganzoo import hookimpl``.
"""

from ganzoo.hookspecs import hookimpl
from ganzoo.spec import Data, DataSpec

__version__ = "0.1.0"
__all__ = ["hookimpl", "Data", "DataSpec", "__version__"]
