"""The WebM / Ogg decoder of live streams: one long-lived ``ffmpeg`` process.

Container bytes go to ffmpeg's stdin as they arrive; ffmpeg writes s16le 16 kHz mono
to stdout as soon as it has decoded them. Everything runs with asyncio subprocesses,
so the event loop never blocks; :meth:`FfmpegDecoder.close` kills the process.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import Callable
from typing import Literal

import numpy as np

from core.streaming.decode import SAMPLE_RATE, AudioDecoder, DecodeError, Sink

__all__ = ["FfmpegDecoder"]

#: ffmpeg demuxer per container format.
_DEMUXERS = {"webm": "matroska", "ogg": "ogg"}
#: Bytes of ffmpeg's error output kept for the error message.
_STDERR_KEEP = 2000


class FfmpegDecoder(AudioDecoder):
    """WebM or Ogg (Opus, or any codec ffmpeg reads) through one ``ffmpeg`` process.

    Bytes written to its stdin come back on stdout as s16le 16 kHz mono as soon as
    ffmpeg has them (WebM: per block, about 20-60 ms; Ogg: per page, about 1 s). A
    reader task hands them to the sink. A failure of ffmpeg (bad data) is reported to
    ``on_error`` as a :class:`DecodeError` with ffmpeg's last error line.

    Args:
        sink: See :class:`AudioDecoder`.
        container: ``"webm"`` or ``"ogg"``.
        on_error: Called once, from the reader task, when ffmpeg fails mid-stream.
        binary: The ffmpeg executable.
    """

    def __init__(
        self,
        sink: Sink,
        container: Literal["webm", "ogg"],
        on_error: Callable[[DecodeError], None] | None = None,
        binary: str = "ffmpeg",
    ) -> None:
        super().__init__(sink)
        self.container = container
        self.on_error = on_error
        self.binary = binary
        self._process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._stderr: asyncio.Task[bytes] | None = None
        self._finishing = False

    async def start(self) -> None:
        """Start ffmpeg. Raises ``OSError`` when it cannot be run (a server fault)."""
        if shutil.which(self.binary) is None:
            raise OSError(f"{self.binary} is not installed")
        command = [
            self.binary, "-nostdin", "-hide_banner", "-loglevel", "error",
            "-f", _DEMUXERS[self.container], "-i", "pipe:0",
            "-vn", "-ac", "1", "-ar", str(SAMPLE_RATE), "-f", "s16le", "pipe:1",
        ]  # fmt: skip
        self._process = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        self._stderr = asyncio.create_task(self._read_stderr())
        self._reader = asyncio.create_task(self._read())

    async def feed(self, data: bytes) -> None:
        if self._process is None:
            await self.start()
        process = self._process
        assert process is not None and process.stdin is not None
        if process.returncode is not None:
            raise DecodeError(await self._reason())
        try:
            process.stdin.write(data)
            await process.stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            raise DecodeError(await self._reason()) from None

    async def finish(self) -> None:
        """Close ffmpeg's stdin and wait until it has written everything.

        Raises:
            DecodeError: ffmpeg failed on the data.
        """
        if self._process is None:
            return
        self._finishing = True
        assert self._process.stdin is not None
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self._process.stdin.close()
        if self._reader is not None:
            await self._reader
        if await self._process.wait() != 0:
            raise DecodeError(await self._reason())

    def abort(self) -> None:
        """Kill ffmpeg and cancel the reader tasks (no await: safe while cancelled)."""
        for task in (self._reader, self._stderr):
            if task is not None and not task.done():
                task.cancel()
        process = self._process
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()

    async def close(self) -> None:
        """:meth:`abort`, then reap the process (at most 5 s) and the tasks."""
        self.abort()
        process, self._process = self._process, None
        if process is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(process.wait(), 5)
        tasks = [task for task in (self._reader, self._stderr) if task is not None]
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _read(self) -> None:
        process = self._process
        assert process is not None and process.stdout is not None
        carry = b""
        while chunk := await process.stdout.read(8192):
            data = carry + chunk
            whole = len(data) - len(data) % 2
            carry = data[whole:]
            if whole:
                self.sink(np.frombuffer(data[:whole], "<i2").astype(np.float32) / 32768.0)
        if not self._finishing and await process.wait() != 0 and self.on_error is not None:
            self.on_error(DecodeError(await self._reason()))

    async def _read_stderr(self) -> bytes:
        assert self._process is not None and self._process.stderr is not None
        kept = b""
        while chunk := await self._process.stderr.read(4096):
            kept = (kept + chunk)[-_STDERR_KEEP:]
        return kept

    async def _reason(self) -> str:
        """A user-safe message from ffmpeg's last error line."""
        text = ""
        if self._stderr is not None:
            with contextlib.suppress(Exception):
                text = (await asyncio.wait_for(asyncio.shield(self._stderr), 2)).decode(
                    "utf-8", "replace"
                )
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        last = lines[-1] if lines else ""
        if "]" in last and last.startswith("["):  # "[matroska @ 0x55...] ..." prefix
            last = last.split("]", 1)[1].strip()
        message = f"The {self.container} audio could not be decoded"
        return f"{message}: {last[:200]}" if last else message
