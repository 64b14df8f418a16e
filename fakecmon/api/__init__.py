"""One module per RPC v2 path (``fakecmon/api/<path>.py``).

Importing this package imports every module in it, which registers their
operations (``@operation``), world file sections (``loader.SECTIONS``) and world
hooks (``controller.WORLD_HOOKS``). A new area is a new module here: no list to edit.
"""

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
