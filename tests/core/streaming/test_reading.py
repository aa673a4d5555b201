"""The incremental reading check (core.streaming.reading) and the session's miscue
events, with a scripted reader: a miscue is reported once the reader is past it,
never before, never twice; the rest at the end."""

from __future__ import annotations

import asyncio

from core.streaming import IncrementalReadingCheck, Partial, StreamConfig, StreamSession
from core.streaming.policy import TimedWord
from tests.core.streaming.scripted import ScriptedSpeech, script_of, silence

REFERENCE = "The little brown dog ran across the green field to find his red ball."
#: "brown" read as "black", "green" skipped, "big" added.
SPOKEN = "The little black dog ran across the field to find his big red ball."


def timed(text: str) -> list[TimedWord]:
    return [TimedWord(w, s, e) for w, s, e in script_of(text)]


def grow(check: IncrementalReadingCheck, spoken: str):
    """Commit the words one by one; ``{words committed: miscues reported then}``."""
    words = timed(spoken)
    return {n: check.update(words[:n]) for n in range(1, len(words) + 1)}


def test_a_substitution_is_reported_when_the_next_word_is_read_not_before():
    check = IncrementalReadingCheck(REFERENCE)
    reported = grow(check, SPOKEN)
    # "The little black": the reader may still be saying "brown" -> nothing yet.
    assert reported[3] == []
    (substitution,) = reported[4]  # "dog" read: "black" is settled
    assert (substitution.type, substitution.expected, substitution.found) == (
        "substitution",
        "brown",
        "black",
    )
    assert substitution.ref_start == 2
    assert (substitution.start, substitution.end) == (1.3, 1.7)  # the word "black"


def test_an_omission_is_reported_once_the_reader_is_past_it():
    check = IncrementalReadingCheck(REFERENCE)
    reported = grow(check, SPOKEN)
    # "... across the": "green" is not due yet.
    assert all(m.type != "omission" for n in range(1, 8) for m in reported[n])
    (omission,) = reported[8]  # "field"
    assert (omission.type, omission.expected, omission.found, omission.ref_start) == (
        "omission",
        "green",
        "",
        7,
    )
    assert omission.start == 3.7 and omission.end == 3.8  # between "the" and "field"


def test_every_miscue_once_and_the_summary_counts_what_was_sent():
    check = IncrementalReadingCheck(REFERENCE)
    reported = grow(check, SPOKEN)
    streamed = [m for batch in reported.values() for m in batch]
    insertion = [m for m in streamed if m.type == "insertion"]
    assert [(m.found, m.ref_start) for m in insertion] == [("big", 12)]
    assert sorted((m.type, m.ref_start) for m in streamed) == [
        ("insertion", 12),
        ("omission", 7),
        ("substitution", 2),
    ]
    rest, summary = check.finish(timed(SPOKEN), duration=7.0)
    assert rest == []  # everything was settled while reading
    assert (summary.substitutions, summary.omissions, summary.insertions) == (1, 1, 1)
    assert summary.words_in_reference == 14 and summary.words_correct == 12


def test_unread_words_become_omissions_only_at_the_end():
    check = IncrementalReadingCheck(REFERENCE)
    spoken = "The little brown dog ran across the green field"
    reported = grow(check, spoken)
    assert [m for batch in reported.values() for m in batch] == []
    rest, summary = check.finish(timed(spoken), duration=6.0)
    assert [(m.type, m.expected, m.ref_start) for m in rest] == [
        ("omission", "to find his red ball.", 9)
    ]
    assert summary.omissions == 5


def test_realignment_never_reports_a_settled_word_again():
    check = IncrementalReadingCheck("a b c d e f")
    first = check.update(timed("a x c"))
    assert [(m.type, m.expected) for m in first] == [("substitution", "b")]
    # Later words that could align "x" elsewhere do not bring "b" back.
    again = check.update(timed("a x c b d"))
    assert all(m.ref_start >= 3 for m in again)
    rest, _ = check.finish(timed("a x c b d"), 5.0)
    assert all(m.ref_start >= 3 for m in rest)
    everything = first + again + rest
    assert len({(m.type, m.ref_start) for m in everything}) == len(everything)


def test_the_session_sends_each_miscue_after_the_partial_that_settles_it():
    speech = ScriptedSpeech(script_of(SPOKEN))

    async def go():
        session = StreamSession(speech, StreamConfig(min_chunk_s=0.5), reference_text=REFERENCE)
        events = []
        for _ in range(16):  # 8 s in 0.5-s chunks
            session.feed(silence(0.5))
            if session.ready():
                events += await session.step()
        final, end = await session.finish()
        return events, final, end

    events, final, end = asyncio.run(go())
    miscues = [e for e in events if not isinstance(e, Partial)]
    assert sorted(m.type for m in miscues) == ["insertion", "omission", "substitution"]
    committed: list[str] = []
    for event in events:
        if isinstance(event, Partial):
            if event.final:
                committed += event.text.split()
            continue
        # The words committed when the miscue came out go past its reference words.
        assert len(committed) > event.heard_end or event.type == "omission"
    assert end.summary is not None and end.summary.substitutions == 1
    assert [e for e in final if not isinstance(e, Partial)] == []
