"""``WS /v1/audio/stream``: live transcription, and the reading check as it goes.

The protocol (messages, parameters) is documented in :mod:`api.schemas.stream`; the
streaming policy in :mod:`core.streaming.session`. Authentication is the access token
of the HTTP API, in the query (``?token=``), an ``Authorization: Bearer`` header, or
the first text message: no HTTP dependency runs on a WebSocket route.

Close codes: 1000 after ``done``; 1003 a message the protocol does not know; 1007
audio that cannot be decoded; 1008 a bad or missing token, a bad parameter, an
unknown model, the stream's maximum duration reached (after the final results), no
message for ``idle_timeout_s``; 1009 a message over ``max_message_bytes``; 1011 the
model or the server failed. Every close but 1000 follows a ``{"type": "error"}``
message, and its reason repeats the message (cut to the 123 bytes a close frame holds).

Limits (:class:`core.streaming.limits.StreamLimits`) come from the settings when they
have them (``stream_max_duration_s``...), else from ``DEFAULT_LIMITS``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import numpy as np
from fastapi import APIRouter, HTTPException, WebSocket, WebSocketDisconnect
from pydantic import BaseModel, ValidationError

from api.deps import token_subject
from api.schemas.stream import (
    StreamCheck,
    StreamDone,
    StreamError,
    StreamMiscue,
    StreamParams,
    StreamPartial,
    StreamReady,
    StreamSummary,
)
from api.services import Services
from api.stream_protocol import (
    REASON_BYTES,
    StreamClose,
    bearer_token,
    model_failure,
    start_message,
)
from api.task_service import check_recording
from core.errors import MediaError
from core.reading.assess import Miscue
from core.stores.users import User
from core.streaming import (
    DEFAULT_LIMITS,
    SAMPLE_RATE,
    AudioDecoder,
    DecodeError,
    Partial,
    StreamConfig,
    StreamLimits,
    StreamSession,
    Window,
    encode_wav,
    make_decoder,
    sniff_format,
)

__all__ = ["DEFAULT_LIMITS", "StreamLimits", "router"]

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/audio", tags=["audio"])


@router.websocket("/stream")
async def stream_audio(websocket: WebSocket) -> None:
    """Live transcription over a WebSocket (protocol: :mod:`api.schemas.stream`)."""
    services: Services = websocket.app.state.services
    await _Stream(websocket, services).run()


class _Stream:
    """One WebSocket stream; every event goes through one queue so that messages are
    sent and the socket closed from one coroutine (:meth:`_loop`)."""

    def __init__(self, websocket: WebSocket, services: Services) -> None:
        self.ws = websocket
        self.services = services
        self.limits = StreamLimits.from_settings(services.settings, DEFAULT_LIMITS)
        self.queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self.params = StreamParams()
        self.session: StreamSession | None = None
        self.decoder: AudioDecoder | None = None
        self.decoding: asyncio.Task[list[Any]] | None = None
        self.receiver: asyncio.Task[None] | None = None
        self.audio_seen = False
        self.segments = 0
        self.user: User | None = None
        #: Every sample received (float32, 16 kHz), for the final check.
        self.recorded: list[np.ndarray] = []

    async def run(self) -> None:
        """Serve the stream; never raises (a client gone is just the end)."""
        try:
            await self.ws.accept()
            await self._serve()
        except StreamClose as close:
            await self._close(close)
        except WebSocketDisconnect:
            pass
        except Exception:  # noqa: BLE001 - the handler never raises out
            logger.exception("Live transcription stream failed")
            await self._close(StreamClose(1011, "internal", "The server failed"))
        finally:
            await self._cleanup()

    async def _serve(self) -> None:
        header = self.ws.headers.get("authorization")
        token = self.ws.query_params.get("token") or bearer_token(header)
        start: dict[str, Any] = {}
        if not token:
            try:
                first = await asyncio.wait_for(self.ws.receive(), self.limits.auth_timeout_s)
            except asyncio.TimeoutError:
                raise StreamClose(1008, "unauthorized", "No access token was sent") from None
            if first["type"] == "websocket.disconnect":
                return
            start = start_message(first.get("text"))
            token = start.pop("token", None)
        await self._authenticate(token)
        await self._configure(start)
        self.receiver = asyncio.create_task(self._receive())
        await self._loop()

    async def _authenticate(self, token: str | None) -> None:
        unauthorized = StreamClose(1008, "unauthorized", "Could not validate credentials")
        if not token:
            raise unauthorized
        username = token_subject(self.ws.scope, token, self.services)
        user = await self.services.users.get(username) if username else None
        if user is None or user.disabled:
            raise unauthorized
        self.user = user

    async def _configure(self, start: dict[str, Any]) -> None:
        """Parse the parameters (query, then ``start``), check the model, set up the
        session and send ``ready``."""
        query = {k: v for k, v in self.ws.query_params.items() if k != "token"}
        try:
            self.params = StreamParams.model_validate({**query, **start})
        except ValidationError as error:
            issue = error.errors()[0]
            where = ".".join(str(part) for part in issue["loc"])
            raise StreamClose(1008, "bad_request", f"{where}: {issue['msg']}") from None
        words = len((self.params.reference_text or "").split())
        if words > self.services.settings.max_text_words:
            limit = self.services.settings.max_text_words
            message = f"reference_text too long: {words} words (maximum {limit} words)"
            raise StreamClose(1008, "bad_request", message)
        if self.services.speech is None:
            raise StreamClose(1011, "unavailable", "Live transcription is not available here")
        if not await self.services.models.has("audio", self.params.model):
            raise StreamClose(1008, "unknown_model", f"Unknown audio model {self.params.model!r}")
        config = StreamConfig(
            min_chunk_s=self.limits.min_chunk_s,
            buffer_trim_s=self.limits.buffer_trim_s,
            max_duration_s=self.limits.max_duration_s,
        )
        self.session = StreamSession(
            self._transcribe, config, self.params.language or "en", self.params.reference_text
        )
        ready = StreamReady(
            model=self.params.model,
            format=self.params.format,
            sample_rate=self.params.sample_rate,
            reading_check=self.session.reading is not None,
        )
        await self._send(ready)

    async def _transcribe(self, window: Window) -> Any:
        speech = self.services.speech
        assert speech is not None
        return await speech.transcribe_bytes(
            self.params.model,
            encode_wav(window.samples),
            ".wav",
            language=self.params.language,
            prompt=window.prompt,
        )

    async def _receive(self) -> None:
        """Move the client's messages into the queue until it disconnects."""
        while True:
            message = await self.ws.receive()
            self.queue.put_nowait(("ws", message))
            if message["type"] == "websocket.disconnect":
                return

    async def _loop(self) -> None:
        while True:
            try:
                kind, item = await asyncio.wait_for(self.queue.get(), self.limits.idle_timeout_s)
            except asyncio.TimeoutError:
                seconds = f"{self.limits.idle_timeout_s:g}"
                raise StreamClose(1008, "idle_timeout", f"No message for {seconds} s") from None
            if kind == "ws":
                if item["type"] == "websocket.disconnect":
                    return
                if item.get("bytes") is not None:
                    await self._audio(item["bytes"])
                elif await self._text(item.get("text") or ""):
                    return
            elif kind == "failed":
                raise StreamClose(1007, "undecodable_audio", str(item))
            elif kind == "decoded" and item is self.decoding:
                self.decoding = None
                await self._send_events(self._result(item))
            if self.session is not None and self.session.full:
                await self._finalize("max_duration")
                return
            self._maybe_decode()

    async def _audio(self, data: bytes) -> None:
        if len(data) > self.limits.max_message_bytes:
            limit = self.limits.max_message_bytes
            raise StreamClose(1009, "message_too_big", f"A message may have at most {limit} bytes")
        assert self.session is not None
        self.audio_seen = True
        try:
            if self.decoder is None:
                fmt = self.params.format or sniff_format(data)
                self.decoder = make_decoder(
                    fmt, self._keep, self.params.sample_rate, self._decode_failed
                )
            await self.decoder.feed(data)
        except DecodeError as error:
            raise StreamClose(1007, "undecodable_audio", str(error)) from None
        except OSError as error:  # ffmpeg missing or not startable: a server fault
            logger.error("Live transcription: the audio decoder failed: %s", error)
            raise StreamClose(1011, "unavailable", "The audio decoder is not available") from None

    def _keep(self, samples: np.ndarray) -> None:
        """The decoders' sink: the session's audio, also kept whole for the final check."""
        assert self.session is not None
        if self.params.reference_text and self.params.final_check and not self.session.full:
            self.recorded.append(samples)
        self.session.feed(samples)

    async def _check(self) -> StreamCheck:
        """The whole recording checked as a comparison task (the reading check, as for
        an upload), waited for up to ``FMR_WAIT_TIMEOUT_S``."""
        assert self.user is not None and self.params.reference_text
        samples = np.concatenate(self.recorded)[: int(self.limits.max_duration_s * SAMPLE_RATE)]
        try:
            outcome = await check_recording(
                self.services, self.user, self.ws, encode_wav(samples), self.params.model,
                self.params.reference_text, self.params.language,
            )
        except (HTTPException, MediaError) as error:
            detail = error.detail if isinstance(error, HTTPException) else str(error)
            return StreamCheck(state="FAILURE", error=str(detail))
        return StreamCheck.of(outcome)

    async def _text(self, text: str) -> bool:
        """Handle a text message; True when the stream is over."""
        if len(text) > self.limits.max_message_bytes:
            limit = self.limits.max_message_bytes
            raise StreamClose(1009, "message_too_big", f"A message may have at most {limit} bytes")
        command = text.strip()
        if command.startswith("{"):
            start = start_message(command)
            if start.get("type") == "finalize":
                command = "finalize"
            elif not self.audio_seen and start.get("type", "start") == "start":
                start.pop("token", None)
                await self._configure(start)
                return False
        if command == "finalize":
            await self._finalize("finalize")
            return True
        message = "Unknown message: send audio as binary, or 'finalize'"
        raise StreamClose(1003, "bad_request", message)

    def _decode_failed(self, error: DecodeError) -> None:
        self.queue.put_nowait(("failed", error))

    def _maybe_decode(self) -> None:
        """Start a decode when enough new audio arrived and none is running."""
        if self.decoding is None and self.session is not None and self.session.ready():
            task = asyncio.create_task(self.session.step())
            task.add_done_callback(lambda done: self.queue.put_nowait(("decoded", done)))
            self.decoding = task

    def _result(self, task: asyncio.Task[list[Any]]) -> list[Any]:
        """A decode's events, or the stream closed on the model's failure."""
        try:
            return task.result()
        except Exception as error:  # noqa: BLE001 - the model's failure, reported
            raise model_failure(error) from None

    async def _finalize(self, reason: str) -> None:
        """Decode the rest, send the final results, ``done``, and close."""
        assert self.session is not None
        if self.decoder is not None:
            try:
                await self.decoder.finish()
            except DecodeError as error:
                raise StreamClose(1007, "undecodable_audio", str(error)) from None
        if self.decoding is not None:
            task, self.decoding = self.decoding, None
            await asyncio.wait({task})
            await self._send_events(self._result(task))
        try:
            events, end = await self.session.finish()
        except Exception as error:  # noqa: BLE001 - the model's failure, reported
            raise model_failure(error) from None
        await self._send_events(events)
        if end.summary is not None:
            await self._send(StreamSummary(summary=end.summary))
        if self.recorded:
            await self._send(await self._check())
        done = StreamDone(
            text=end.text,
            duration=round(end.duration, 3),
            segments=self.segments,
            reason="max_duration" if reason == "max_duration" else "finalize",
        )
        await self._send(done)
        if reason == "max_duration":
            limit = f"{self.limits.max_duration_s:g}"
            message = f"The stream reached its maximum duration of {limit} s"
            await self._close(StreamClose(1008, "max_duration", message), error_sent=False)
        else:
            await self.ws.close(1000)

    async def _send_events(self, events: list[Any]) -> None:
        for event in events:
            if isinstance(event, Partial):
                self.segments += event.final
                await self._send(
                    StreamPartial(
                        segment_id=event.segment_id,
                        text=event.text,
                        start=round(event.start, 3),
                        end=round(event.end, 3),
                        final=event.final,
                    )
                )
            elif isinstance(event, Miscue):
                await self._send(
                    StreamMiscue(
                        miscue=event.type,
                        expected=event.expected,
                        found=event.found,
                        ref_index=event.ref_start,
                        start=event.start,
                        end=event.end,
                    )
                )

    async def _send(self, message: BaseModel) -> None:
        await self.ws.send_text(message.model_dump_json())

    async def _close(self, close: StreamClose, error_sent: bool = False) -> None:
        """Send the error message (once) and the close frame; the client may be gone."""
        with contextlib.suppress(Exception):
            if close.code is not None and not error_sent:
                await self._send(StreamError(code=close.code, message=close.message))
        reason = close.message.encode()[:REASON_BYTES].decode(errors="ignore")
        with contextlib.suppress(Exception):
            await self.ws.close(close.close_code, reason)

    async def _cleanup(self) -> None:
        """Stop the receiver and any decode, kill ffmpeg: first without awaiting (the
        handler may itself be cancelled), then reap them."""
        tasks = [task for task in (self.receiver, self.decoding) if task is not None]
        for task in tasks:
            task.cancel()
        if self.decoder is not None:
            self.decoder.abort()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self.decoder is not None:
            try:
                await self.decoder.close()
            except Exception:  # noqa: BLE001 - nothing left to tell the client
                logger.warning("Live transcription: closing the decoder failed", exc_info=True)
