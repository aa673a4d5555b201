"""The plugin contract: what a ``plugins/*_plugin.py`` file imports.

``from core.plugins import AudioChunk, AudioProcessingResult, register_plugin`` and
``from core.plugins import ImageProcessingResult, ImageTextBox, Point, Rectangle,
register_plugin`` work exactly as in the original project.
"""

from core.plugins.registry import (
    BUNDLED_PLUGIN_DIR,
    PluginInfo,
    PluginKind,
    get_plugin,
    instantiate_plugin,
    list_registered,
    load_plugins,
    plugin_info,
    plugin_kind,
    register_plugin,
)
from core.plugins.types import (
    AudioChunk,
    AudioProcessingResult,
    ImageProcessingResult,
    ImageTextBox,
    Point,
    Rectangle,
    Word,
)

__all__ = [
    "BUNDLED_PLUGIN_DIR",
    "AudioChunk",
    "AudioProcessingResult",
    "ImageProcessingResult",
    "ImageTextBox",
    "PluginInfo",
    "PluginKind",
    "Point",
    "Rectangle",
    "Word",
    "get_plugin",
    "instantiate_plugin",
    "list_registered",
    "load_plugins",
    "plugin_info",
    "plugin_kind",
    "register_plugin",
]
