"""Plugin registry: ``register_plugin`` records classes, lookups import lazily.

A plugin is a class in a file named ``*_plugin.py`` with the class attributes
``name``, ``languages`` and ``description`` and one of the methods
``process_audio(filename) -> AudioProcessingResult`` or
``process_image(filename) -> ImageProcessingResult`` (spec, section Plugins).

Importing a plugin file only registers its class. Bundled plugins load their model
in ``__init__``, so nothing heavy happens until a model host constructs one; a plugin
written for the original project may load its model at class creation, which then
happens on import inside the host replica, never in the ingress.

Modelled on vLLM's tool-parser registry: the decorator records name -> class, a
lookup imports the plugin's file if needed, and an unknown name raises ``KeyError``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

__all__ = [
    "BUNDLED_PLUGIN_DIR",
    "PluginInfo",
    "PluginKind",
    "get_plugin",
    "instantiate_plugin",
    "list_registered",
    "load_plugins",
    "plugin_info",
    "plugin_kind",
    "register_plugin",
]

logger = logging.getLogger(__name__)

PluginKind = Literal["audio", "image"]

#: The repository's own ``plugins/`` folder.
BUNDLED_PLUGIN_DIR = Path(__file__).resolve().parents[2] / "plugins"

_REGISTRY: dict[str, type] = {}


@dataclass(frozen=True)
class PluginInfo:
    """Public description of a plugin, as ``/v1/{audio,image}/models`` lists it."""

    name: str
    languages: list[str]
    description: str
    kind: PluginKind


def plugin_kind(cls: type) -> PluginKind:
    """Return ``"audio"`` or ``"image"`` for a plugin class.

    Raises:
        TypeError: if the class has neither ``process_audio`` nor ``process_image``.
    """
    if callable(getattr(cls, "process_audio", None)):
        return "audio"
    if callable(getattr(cls, "process_image", None)):
        return "image"
    raise TypeError(
        f"Plugin {cls.__name__} must define process_audio(filename) or process_image(filename)"
    )


def plugin_info(cls: type) -> PluginInfo:
    """Describe a registered plugin class."""
    return PluginInfo(
        name=cls.name,  # type: ignore[attr-defined]
        languages=list(cls.languages),  # type: ignore[attr-defined]
        description=cls.description,  # type: ignore[attr-defined]
        kind=plugin_kind(cls),
    )


def register_plugin(plugin_cls: type) -> type:
    """Class decorator that registers a plugin under its ``name``.

    Args:
        plugin_cls: The plugin class.

    Returns:
        The same class, so the decorator can be stacked.

    Raises:
        TypeError: if a required attribute or method is missing or of the wrong type.
    """
    for attribute, kind in (("name", str), ("description", str), ("languages", list)):
        value = getattr(plugin_cls, attribute, None)
        if not isinstance(value, kind):
            raise TypeError(
                f"Plugin {plugin_cls.__name__} needs a class attribute {attribute!r} "
                f"of type {kind.__name__}"
            )
    plugin_kind(plugin_cls)
    name = plugin_cls.name  # type: ignore[attr-defined]
    previous = _REGISTRY.get(name)
    if previous is not None and previous is not plugin_cls:
        logger.warning(
            "Plugin %r re-registered: %s.%s replaces %s.%s",
            name,
            plugin_cls.__module__,
            plugin_cls.__qualname__,
            previous.__module__,
            previous.__qualname__,
        )
    _REGISTRY[name] = plugin_cls
    return plugin_cls


def list_registered(kind: PluginKind | None = None) -> list[PluginInfo]:
    """Describe the plugins registered so far, optionally only of one kind."""
    infos = [plugin_info(cls) for cls in _REGISTRY.values()]
    return [info for info in infos if kind is None or info.kind == kind]


def _module_name(path: Path) -> str:
    if path.parent == BUNDLED_PLUGIN_DIR:
        return f"plugins.{path.stem}"
    # External folders get a stable private package name so two folders can hold
    # files with the same name.
    digest = hashlib.sha1(str(path.parent).encode()).hexdigest()[:10]
    return f"_fmr_plugins_{digest}.{path.stem}"


def _import_file(path: Path) -> ModuleType:
    name = _module_name(path)
    if name in sys.modules:
        return sys.modules[name]
    if name.startswith("plugins."):
        return importlib.import_module(name)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"Cannot import plugin file {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def _plugin_files(directories: Iterable[Path | str]) -> list[Path]:
    files: list[Path] = []
    for directory in directories:
        files.extend(sorted(Path(directory).glob("*_plugin.py")))
    return files


def load_plugins(directories: Iterable[Path | str] = (BUNDLED_PLUGIN_DIR,)) -> list[ModuleType]:
    """Import every ``*_plugin.py`` file of the given folders (spec: ``load_plugins``).

    Args:
        directories: Folders to scan, in order.

    Returns:
        The imported modules.
    """
    return [_import_file(path) for path in _plugin_files(directories)]


def get_plugin(
    name: str, directories: Iterable[Path | str] = (BUNDLED_PLUGIN_DIR,)
) -> type:
    """Return the plugin class registered as ``name``, importing its file if needed.

    The file ``{name}_plugin.py`` is tried first; only if that does not register the
    name are the other plugin files imported.

    Raises:
        KeyError: if no plugin file registers ``name``.
    """
    if name in _REGISTRY:
        return _REGISTRY[name]
    directories = [Path(d) for d in directories]
    for directory in directories:
        candidate = directory / f"{name}_plugin.py"
        if candidate.is_file():
            _import_file(candidate)
            if name in _REGISTRY:
                return _REGISTRY[name]
    for path in _plugin_files(directories):
        _import_file(path)
        if name in _REGISTRY:
            return _REGISTRY[name]
    known = sorted(_REGISTRY)
    raise KeyError(f"No plugin named {name!r} in {[str(d) for d in directories]}; known: {known}")


def instantiate_plugin(cls: type, options: dict[str, Any] | None = None) -> Any:
    """Create the object a model host calls.

    Bundled plugins take their options (model path, device, ...) in ``__init__`` and
    load their model there. Plugins in the original format have only static methods;
    for them the class itself is returned and options must be empty.

    Raises:
        TypeError: if options are given to a plugin whose ``__init__`` takes none.
    """
    options = options or {}
    if cls.__init__ is object.__init__:
        if options:
            raise TypeError(f"Plugin {cls.name} takes no options, got {sorted(options)}")  # type: ignore[attr-defined]
        return cls
    return cls(**options)
