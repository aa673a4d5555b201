"""LocalAgreement-2 (core.streaming.policy) and the session's decoding, emission and
trimming (core.streaming.session), with a scripted fake transcriber."""

from __future__ import annotations

import asyncio

import pytest

from core.plugins.types import AudioChunk, AudioProcessingResult, Word
from core.streaming import HypothesisBuffer, Partial, StreamConfig, StreamSession, TimedWord
from core.streaming.policy import timed_words
from tests.core.streaming.scripted import ScriptedSpeech, script_of, silence


def words(*items: tuple[str, float, float]) -> list[TimedWord]:
    return [TimedWord(text, start, end) for text, start, end in items]


def test_commits_exactly_the_common_prefix_of_the_last_two_hypotheses():
    buffer = HypothesisBuffer()
    buffer.insert(words(("The", 0.0, 0.3), ("little", 0.3, 0.6), ("bro", 0.6, 0.8)))
    assert buffer.flush() == []  # nothing to agree with yet
    buffer.insert(
        words(("The", 0.0, 0.3), ("little", 0.3, 0.6), ("brown", 0.6, 0.9), ("d", 0.9, 1.0))
    )
    committed = buffer.flush()
    assert [w.text for w in committed] == ["The", "little"]
    assert [w.text for w in buffer.complete()] == ["brown", "d"]
    assert buffer.last_committed_time == 0.6
    # The next hypothesis re-decodes the committed words too: they are skipped.
    buffer.insert(
        words(("The", 0.0, 0.3), ("little", 0.3, 0.6), ("brown", 0.6, 0.9), ("dog.", 0.9, 1.2))
    )
    assert [w.text for w in buffer.flush()] == ["brown"]
    assert [w.text for w in buffer.complete()] == ["dog."]


def test_words_agree_by_spoken_form_not_punctuation_or_case():
    buffer = HypothesisBuffer()
    buffer.insert(words(("Tree.", 1.0, 1.3)))
    buffer.flush()
    buffer.insert(words(("tree,", 1.0, 1.3), ("And", 1.4, 1.6)))
    assert [w.text for w in buffer.flush()] == ["tree,"]


def test_a_disagreement_stops_the_commit_even_if_later_words_agree():
    buffer = HypothesisBuffer()
    buffer.insert(words(("a", 0, 0.2), ("b", 0.2, 0.4), ("c", 0.4, 0.6)))
    buffer.flush()
    buffer.insert(words(("a", 0, 0.2), ("x", 0.2, 0.4), ("c", 0.4, 0.6)))
    assert [w.text for w in buffer.flush()] == ["a"]
    assert [w.text for w in buffer.complete()] == ["x", "c"]


def test_words_repeating_the_committed_tail_are_dropped():
    buffer = HypothesisBuffer()
    buffer.committed_in_buffer = words(("ran", 1.0, 1.3), ("across", 1.3, 1.7))
    buffer.last_committed_time = 1.7
    # A later window starts a little after the committed words but repeats them.
    buffer.insert(words(("ran", 1.75, 1.9), ("across", 1.9, 2.0), ("the", 2.0, 2.2)))
    assert [w.text for w in buffer.new] == ["the"]


def test_timed_words_are_absolute():
    result = AudioProcessingResult(
        text="hello world",
        segments=[
            AudioChunk(
                start=0.1,
                end=0.9,
                text="hello world",
                words=[
                    Word(word=" hello", start=0.1, end=0.4),
                    Word(word=" world", start=0.5, end=0.9),
                ],
            )
        ],
    )
    assert timed_words(result, 12.5) == words(("hello", 12.6, 12.9), ("world", 13.0, 13.4))


def run_stream(speech: ScriptedSpeech, seconds: float, config: StreamConfig, chunk_s=0.25):
    """Feed ``seconds`` of audio in chunks, stepping whenever the session is ready."""

    async def go():
        session = StreamSession(speech, config)
        events = []
        fed = 0.0
        while fed < seconds - 1e-9:
            session.feed(silence(min(chunk_s, seconds - fed)))
            fed += chunk_s
            if session.ready():
                events += await session.step()
        final, end = await session.finish()
        return session, events, final, end

    return asyncio.run(go())


def test_a_stream_commits_the_script_with_monotonic_segments():
    text = "the little brown dog ran across the green field to find his red ball"
    speech = ScriptedSpeech(script_of(text))
    session, events, final, end = run_stream(speech, 7.5, StreamConfig(min_chunk_s=1.0))
    partials = [e for e in events + final if isinstance(e, Partial)]
    finals = [p for p in partials if p.final]
    assert " ".join(p.text for p in finals) == text == end.text
    assert [p.segment_id for p in finals] == list(range(len(finals)))
    ids = [p.segment_id for p in partials]
    assert ids == sorted(ids)
    # Words were committed before the end of the stream, not only at finalize.
    assert len([p for p in events if isinstance(p, Partial) and p.final]) >= 3
    # Tentative partials carry the id the next final segment takes.
    for index, partial in enumerate(partials):
        if not partial.final and partial.text:
            following = [p for p in partials[index:] if p.final]
            assert not following or following[0].segment_id == partial.segment_id
    assert end.duration == pytest.approx(7.5)


def test_trimming_bounds_the_window_and_keeps_absolute_times():
    text = " ".join(f"word{i}" for i in range(40))  # 20 s of speech
    script = script_of(text, start=0.5)
    speech = ScriptedSpeech(script)
    config = StreamConfig(min_chunk_s=1.0, buffer_trim_s=4.0)
    session, _, _, end = run_stream(speech, 21.0, config, chunk_s=0.5)
    assert [w.text for w in session.committed] == text.split()
    for word, (_, start, stop) in zip(session.committed, script, strict=True):
        assert word.start == pytest.approx(start, abs=1e-6)
        assert word.end == pytest.approx(stop, abs=1e-6)
    longest = max(len(w.samples) for w in speech.windows) / 16000
    assert longest <= config.buffer_trim_s + config.min_chunk_s + 0.5 + 1e-6
    assert max(w.start for w in speech.windows) > 10  # the buffer moved on
    # The prompt is committed text from before the window (whisper_streaming's).
    late = speech.windows[-1]
    assert late.prompt and late.prompt.split()[-1] in text.split()
    assert all(
        w.end <= late.start + 1e-6 for w in session.committed if w.text in late.prompt.split()
    )


def test_silence_is_trimmed_and_commits_nothing():
    speech = ScriptedSpeech([])
    config = StreamConfig(min_chunk_s=1.0, buffer_trim_s=3.0)
    session, events, final, end = run_stream(speech, 12.0, config, chunk_s=1.0)
    assert events == [] and final == [] and end.text == ""
    assert max(len(w.samples) for w in speech.windows) / 16000 <= 4.0 + 1e-6


def test_unagreed_words_are_forced_out_past_the_longest_window():
    class Flickering(ScriptedSpeech):
        async def __call__(self, window):
            result = await super().__call__(window)
            # Every decode changes the first word: LocalAgreement never agrees.
            first = result.segments[0].words[0] if result.segments else None
            if first is not None:
                first.word = f" v{len(self.windows)}"
            return result

    speech = Flickering(script_of(" ".join(["la"] * 20), start=0.2))
    config = StreamConfig(min_chunk_s=1.0, buffer_trim_s=3.0, max_window_s=5.0)
    session, events, _, _ = run_stream(speech, 11.0, config)
    assert any(isinstance(e, Partial) and e.final for e in events)
    assert max(len(w.samples) for w in speech.windows) / 16000 <= 6.0 + 1e-6


def test_audio_past_the_maximum_duration_is_dropped():
    session = StreamSession(ScriptedSpeech([]), StreamConfig(max_duration_s=2.0))
    session.feed(silence(1.5))
    assert not session.full
    session.feed(silence(1.0))
    assert session.full and session.duration == pytest.approx(2.0)


def test_audio_sent_faster_than_real_time_is_decoded_window_by_window():
    text = " ".join(f"w{i}" for i in range(140))  # 70 s of speech, all fed at once
    script = script_of(text)
    speech = ScriptedSpeech(script)
    config = StreamConfig(min_chunk_s=1.0, buffer_trim_s=15.0, max_window_s=28.0)

    async def go():
        session = StreamSession(speech, config)
        session.feed(silence(71.0))
        events = await session.step()
        final, end = await session.finish()
        return session, events + final, end

    session, events, end = asyncio.run(go())
    assert end.text == text
    assert max(len(w.samples) for w in speech.windows) / 16000 <= 28.0 + 1e-6
    assert len(speech.windows) <= 8
    for word, (_, start, stop) in zip(session.committed, script, strict=True):
        assert (word.start, word.end) == pytest.approx((start, stop), abs=1e-6)
