"""ganzoo's built-in plugins: ordinary plugin modules, registered through the ``ganzoo`` entry points.

Installed wheels ship this directory as the ``ganzoo_plugins`` package; a source checkout
loads it under the same name by path.
"""
