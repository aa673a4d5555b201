"""Running one plugin: load it once, call it on bytes, validate what it returns.

The model host deployment is a thin wrapper around ``PluginRunner``. Inputs come
as bytes (not paths) so model replicas need no access to the file storage, which
lets them run on GPU nodes that do not mount it. Results are the plugin types of
:mod:`core.plugins.types`, validated once here; putting OCR boxes in reading order
is the task runner's job (:func:`core.page.words.read_page`), done once per task.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import inspect
import logging
import tempfile
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any, TypeVar

from core.audio import split_silence
from core.page.deskew import upright_pages
from core.plugins import (
    BUNDLED_PLUGIN_DIR,
    AudioChunk,
    AudioProcessingResult,
    ImageProcessingResult,
    PluginInfo,
    get_plugin,
    instantiate_plugin,
    plugin_info,
)
from core.plugins.normalise import normalise_audio_result, normalise_image_result, upright_batch
from core.plugins.scoring import scoring_words
from core.reading.assess import heard_words
from core.reading.verify import VerifyOptions, verify_reading

__all__ = [
    "BatchItem",
    "DECODE_OPTIONS",
    "ModelCallTimeout",
    "PluginResult",
    "TimedCalls",
    "PluginRunner",
    "normalise_audio_result",
    "normalise_image_result",
]

#: One request of a batch: file content, file name suffix (``".mp3"``), reference text,
#: language (ISO 639-1; ``None``: the plugin's default or detection), decoding options.
BatchItem = tuple[bytes, str, "str | None", "str | None", "dict[str, Any] | None"]
#: Per-request decoding options an ASR plugin may take as ``process_audio`` keywords:
#: ``hot_words`` (word -> boost; > 0 favour, < 0 suppress), ``prompt`` (decoding
#: prompt), ``temperature`` (sampling temperature, 0..1).
DECODE_OPTIONS = ("hot_words", "prompt", "temperature")
#: What a plugin run gives, validated.
PluginResult = AudioProcessingResult | ImageProcessingResult

logger = logging.getLogger(__name__)

T = TypeVar("T")


class ModelCallTimeout(TimeoutError):
    """A model call ran longer than its configured timeout; the message says how long."""


class TimedCalls:
    """Runs blocking model calls in threads, each bounded by a timeout.

    A Python thread cannot be stopped, so a call that times out is abandoned: its
    caller gets ``ModelCallTimeout`` at once and the thread runs on until the
    model returns (or forever). ``stuck`` counts such threads, so a host can ask
    to be replaced once too many are stuck.

    Args:
        timeout_s: Longest one call may run, in seconds.
    """

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._stuck: set[concurrent.futures.Future[Any]] = set()
        # Own pool: abandoned threads must not starve the event loop's default one.
        self._pool = concurrent.futures.ThreadPoolExecutor(thread_name_prefix="model-call")

    @property
    def stuck(self) -> int:
        """Timed-out calls whose threads are still running."""
        return len(self._stuck)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in a thread.

        Raises:
            ModelCallTimeout: the call did not return within ``timeout_s``.
            Whatever ``fn`` raises.
        """
        future = self._pool.submit(fn, *args)
        try:
            return await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(future)),
                                          self.timeout_s)
        except asyncio.TimeoutError:
            self._stuck.add(future)
            future.add_done_callback(self._stuck.discard)
            raise ModelCallTimeout(
                f"the model did not answer within {self.timeout_s:g} s"
            ) from None


class PluginRunner:
    """One loaded plugin.

    Args:
        plugin: Registered plugin name (``plugins/{plugin}_plugin.py`` is tried first).
        options: Keyword arguments for the plugin's ``__init__`` (model path, device...).
        plugin_dirs: Folders holding ``*_plugin.py`` files.
        name: Name the model is offered under (defaults to the plugin's name), so
            one plugin can be served twice with different weights.
        deskew: For image plugins, measure each photo's skew from its pixels and
            let the plugin read an upright copy, its boxes mapped back to the
            photo's pixels (:mod:`core.page.deskew`). Ignored for audio plugins and
            for plugins whose class sets ``reads_rotated_text = True``.

    Raises:
        KeyError: unknown plugin. TypeError: bad options. Whatever the plugin's
        model loading raises (missing weights...).
    """

    def __init__(
        self,
        plugin: str,
        options: dict[str, Any] | None = None,
        plugin_dirs: Sequence[str | Path] = (),
        name: str | None = None,
        deskew: bool = True,
    ) -> None:
        cls = get_plugin(plugin, list(plugin_dirs) or [BUNDLED_PLUGIN_DIR])
        described = plugin_info(cls)
        self.supports_gpu = bool(getattr(cls, "supports_gpu", False))
        self._impl = instantiate_plugin(cls, options)
        # An instance may narrow or widen its class's languages and description to
        # what its options loaded (multilingual weights, Tesseract's ``lang``).
        self.info = PluginInfo(
            name=name or described.name,
            languages=[str(c) for c in getattr(self._impl, "languages", described.languages)],
            description=str(getattr(self._impl, "description", described.description)),
            kind=described.kind,
        )
        process = getattr(self._impl, "process_audio", None)
        parameters = inspect.signature(process).parameters if process is not None else {}
        self.accepts_reference = "reference_text" in parameters
        self.accepts_language = "language" in parameters
        #: The decoding options (``DECODE_OPTIONS``) this plugin takes; others are ignored.
        self.accepted_options = {name for name in DECODE_OPTIONS if name in parameters}
        scorer = getattr(self._impl, "reading_scorer", None)
        self._scorer_accepts_language = callable(scorer) and (
            "language" in inspect.signature(scorer).parameters
        )
        self._batch = getattr(
            self._impl,
            "process_audio_batch" if self.info.kind == "audio" else "process_image_batch",
            None,
        )
        self.batch_accepts_reference = self._batch is not None and (
            "reference_texts" in inspect.signature(self._batch).parameters
        )
        # Checked at load, so a bad override fails the deployment, not each request;
        # ``reading_check_languages`` overrides the thresholds per language.
        self._check_options: dict[str | None, VerifyOptions] = {}
        if self.checks_readings:
            common = dict(getattr(self._impl, "reading_check", {}))
            per = dict(getattr(self._impl, "reading_check_languages", None) or {})
            self._check_options = {
                code: VerifyOptions(**{**common, **dict(extra or {})})
                for code, extra in {None: {}, **per}.items()
            }
        # Plugins that read turned text themselves say so (``reads_rotated_text``).
        self.deskew = (
            deskew and self.info.kind == "image" and not getattr(cls, "reads_rotated_text", False)
        )
        if self.deskew and self._batch is not None:
            self._batch = functools.partial(upright_batch, self._batch)

    @property
    def has_batch_method(self) -> bool:
        """Whether the plugin implements batched inference itself."""
        return callable(self._batch)

    def run_file(
        self,
        path: str,
        reference_text: str | None = None,
        language: str | None = None,
        options: dict[str, Any] | None = None,
    ) -> PluginResult:
        """Run the plugin on a file; returns its validated result.

        Args:
            path: The input file.
            reference_text: For ASR in a comparison, the text the reader should be
                reading. Passed on only to plugins whose ``process_audio`` takes a
                ``reference_text`` argument (the plugin decides whether to use it,
                e.g. as a decoding prompt); ignored otherwise.
            language: For ASR, the ISO 639-1 code of the speech, passed on to plugins
                whose ``process_audio`` takes ``language`` (others decode the one
                language they list); ``None`` leaves it to the plugin (detection).
            options: For ASR, decoding options (``DECODE_OPTIONS``); each one given is
                passed to a plugin whose ``process_audio`` takes it, and listed in the
                result's ``ignored_options`` otherwise.
        """
        if self.info.kind == "audio":
            kwargs: dict[str, Any] = {}
            if reference_text is not None and self.accepts_reference:
                kwargs["reference_text"] = reference_text
            if language is not None and self.accepts_language:
                kwargs["language"] = language
            given = {k: v for k, v in (options or {}).items() if v is not None}
            kwargs |= {k: v for k, v in given.items() if k in self.accepted_options}
            raw = self._impl.process_audio(path, **kwargs)
            result = self._normalise(raw, path)
            if language is not None and result.language is None:  # type: ignore[union-attr]
                result = result.model_copy(update={"language": language})
            ignored = sorted(k for k in given if k not in self.accepted_options)
            if ignored:
                result = result.model_copy(update={"ignored_options": ignored})
            return self.check_reading(path, reference_text, result)  # type: ignore[arg-type]
        else:
            with upright_pages([path], self.deskew) as (page,):
                raw = page.restore(normalise_image_result(self._impl.process_image(page.path)))
        return self._normalise(raw, path)

    def run_files(
        self,
        paths: Sequence[str],
        reference_texts: Sequence[str | None] | None = None,
        languages: Sequence[str | None] | None = None,
        options: Sequence[dict[str, Any] | None] | None = None,
    ) -> list[PluginResult | Exception]:
        """Run the plugin on several files; one result (or the error) per file, in order.

        With a batch method (``process_audio_batch(filenames, reference_texts=None)``
        or ``process_image_batch(filenames)``, each returning one result per file)
        the plugin gets all files in one call. If that call raises, or the plugin
        has no batch method, each file is run alone, so one bad file fails only its
        own request. A request with decoding options runs alone too (a batch method
        takes none).

        Returns:
            For each path, the validated result, or the exception its run raised
            (returned, not raised).
        """
        references = list(reference_texts or [None] * len(paths))
        spoken = list(languages or [None] * len(paths))
        decoding = list(options or [None] * len(paths))
        if not len(references) == len(spoken) == len(decoding) == len(paths):
            raise ValueError("reference_texts, languages and options need one entry per path")
        # A batch method has no language argument: requests that name another language
        # than the one a single-language model reads run alone.
        only = set(self.info.languages) if len(self.info.languages) == 1 else set()
        plain = not any(v is not None for o in decoding for v in (o or {}).values())
        if self._batch is not None and len(paths) > 1 and plain and all(
            code is None or code in only for code in spoken
        ):
            try:
                if self.batch_accepts_reference:
                    raws = self._batch(list(paths), reference_texts=references)
                else:
                    raws = self._batch(list(paths))
                if len(raws) != len(paths):
                    raise ValueError(f"batch method returned {len(raws)} results for {len(paths)}")
                results = [
                    self._normalise(raw, path) for raw, path in zip(raws, paths, strict=True)
                ]
                if self.info.kind == "audio":
                    results = [
                        self.check_reading(path, reference, result)  # type: ignore[arg-type]
                        for path, reference, result in zip(paths, references, results, strict=True)
                    ]
                return results
            except Exception:  # noqa: BLE001 - isolate the failing file below
                logger.warning("Batch call of %s failed; running files one by one",
                               self.info.name, exc_info=True)
        results: list[PluginResult | Exception] = []
        for path, reference, language, extra in zip(
            paths, references, spoken, decoding, strict=True
        ):
            try:
                results.append(self.run_file(path, reference, language, extra))
            except Exception as error:  # noqa: BLE001 - reported per request
                results.append(error)
        return results

    def run_bytes_batch(self, items: Sequence[BatchItem]) -> list[PluginResult | Exception]:
        """``run_files`` on in-memory file contents (each written to a temp file)."""
        with ExitStack() as stack:
            paths = []
            for data, suffix, *_ in items:
                handle = stack.enter_context(tempfile.NamedTemporaryFile(suffix=suffix))
                handle.write(data)
                handle.flush()
                paths.append(handle.name)
            return self.run_files(
                paths,
                [item[2] for item in items],
                [item[3] for item in items],
                [item[4] for item in items],
            )

    @property
    def checks_readings(self) -> bool:
        """Whether comparisons get the reading check (:mod:`core.reading.verify`): the
        plugin has ``reading_scorer`` and its ``check_reading`` attribute is not false."""
        return callable(getattr(self._impl, "reading_scorer", None)) and bool(
            getattr(self._impl, "check_reading", True)
        )

    def check_reading(
        self, path: str, reference_text: str | None, result: AudioProcessingResult
    ) -> AudioProcessingResult:
        """``result`` with the reading check of it against ``reference_text``.

        Only for a comparison (a reference text) and a plugin that can score readings;
        otherwise ``result`` unchanged. The check runs in ``result.language`` (the
        language decoded; English when the plugin does not say). A failure of the
        check is logged and leaves the result unchecked: the transcript alone still
        answers the comparison.
        """
        if not reference_text or not self.checks_readings:
            return result
        language = result.language or "en"
        try:
            if self._scorer_accepts_language:
                scorer = self._impl.reading_scorer(path, language=language)
            else:
                scorer = self._impl.reading_scorer(path)
            verification = verify_reading(
                scoring_words(reference_text, language), heard_words(result.segments), scorer,
                self._check_options.get(language, self._check_options[None]),
                language=language,
            )
        except Exception:  # noqa: BLE001 - the unchecked transcript is still an answer
            logger.warning("Reading check failed with %s", self.info.name, exc_info=True)
            return result
        return result.model_copy(update={"verification": verification})

    def _normalise(self, raw: Any, path: str) -> PluginResult:
        if self.info.kind == "audio":
            result = normalise_audio_result(raw)
            if not result.segments and result.text.strip():
                result = self._segment_by_silence(path)
            return result
        return normalise_image_result(raw)

    def _segment_by_silence(self, path: str) -> AudioProcessingResult:
        """For models that return text without timings: transcribe silence-split pieces."""
        segments: list[AudioChunk] = []
        with tempfile.TemporaryDirectory() as folder:
            ids, intervals = split_silence(path, folder)
            for file_id, (start_ms, end_ms) in zip(ids, intervals, strict=True):
                piece = normalise_audio_result(
                    self._impl.process_audio(str(Path(folder) / f"{file_id}.mp3"))
                )
                if piece.text.strip():
                    segments.append(
                        AudioChunk(start=start_ms / 1000, end=end_ms / 1000, text=piece.text)
                    )
        return AudioProcessingResult(text=" ".join(s.text for s in segments), segments=segments)
