"""ganzoo: a plugin-based, modular GAN zoo.

A plugin author needs one import: ``from ganzoo import hookimpl`` (and the component protocols,
``ganzoo.Loss``, ``ganzoo.Schedule``, ... from ``ganzoo.contracts``). A user's Python API is
``ganzoo.train``, ``resume``, ``load``, ``evaluate``, ``list_components``, ``resolve_config`` and
``explain_config`` (``ganzoo.api``), imported on first use so that ``import ganzoo`` stays light.
"""

from importlib import import_module
from typing import Any

from ganzoo.contracts import (DatasetFactory, Discriminator, Generator, Loss, LossFactory, MetricFunction,
                              NetworkBuilder, Schedule, ScheduleFactory)
from ganzoo.hookspecs import hookimpl
from ganzoo.spec import Data, DataSpec

__version__ = "0.1.0"

#: The Python API, loaded from ganzoo.api on first access.
API = ("train", "resume", "load", "evaluate", "list_components", "resolve_config", "explain_config", "Run")


def __getattr__(name: str) -> Any:
    if name in API:
        return getattr(import_module("ganzoo.api"), name)
    raise AttributeError(f"module 'ganzoo' has no attribute {name!r}")


__all__ = ["hookimpl", "Data", "DataSpec", "__version__", "DatasetFactory", "Discriminator", "Generator", "Loss",
           "LossFactory", "MetricFunction", "NetworkBuilder", "Schedule", "ScheduleFactory", *API]
