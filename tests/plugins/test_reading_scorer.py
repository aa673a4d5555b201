"""The Whisper plugin's reading scorer, on a real recording with planted miscues.

tests/data/miscue.mp3 is espeak-ng reading "The little black dog ran across the field
..." for the page "The little brown dog ran across the green field ..." (a
substitution and an omission; tests/data/miscue.json).
"""

from __future__ import annotations

import json

import pytest

from core.plugins.host import PluginRunner
from tests.conftest import DATA

FIXTURE = json.loads((DATA / "miscue.json").read_text())
PAGE = FIXTURE["reference"].split()
SPOKEN = FIXTURE["spoken"].split()


@pytest.fixture(scope="module")
def whisper() -> PluginRunner:
    return PluginRunner("whisper", {"compute_type": "int8"})


@pytest.fixture(scope="module")
def window(whisper):
    scorer = whisper._impl.reading_scorer(str(DATA / "miscue.mp3"))
    assert scorer.duration == pytest.approx(FIXTURE["duration_s"], abs=0.05)
    return scorer.window(0.0, scorer.duration)


def test_the_page_prediction_has_every_word_and_doubts_the_misread_one(window):
    predictions = window.page(PAGE)
    assert len(predictions) == len(PAGE)
    assert all(p.log_prob is not None and p.log_prob <= 0 for p in predictions)
    # "brown" was read "black": the decoder does not expect the printed word there.
    assert predictions[PAGE.index("brown")].rank > 0
    assert predictions[PAGE.index("little")].rank == 0
    assert all(alt and alt[0].isalpha() for alt, _ in predictions[2].alternatives)


def test_the_spoken_reading_outscores_the_page(window):
    window.page(PAGE)
    page, spoken = window.log_likelihoods([PAGE, SPOKEN], [0, 0], [True, True])
    assert spoken > page + 3.0  # nats
    # Words before ``from_word`` are context only: the counted part is smaller.
    (tail,) = window.log_likelihoods([PAGE], [len(PAGE) - 3])
    assert page < tail <= 0


def test_first_token_log_probs_rank_what_was_said_above_a_stranger(window):
    window.page(PAGE)
    black, zebra = window.first_token_log_probs(PAGE.index("brown"), ["black", "zebra"])
    assert black is not None and zebra is not None and black > zebra


def test_a_comparison_is_checked_and_finds_both_planted_miscues(whisper):
    result = whisper.run_file(str(DATA / "miscue.mp3"), FIXTURE["reference"])
    checked = result.verification
    assert checked is not None and checked.windows == 1
    found = {(e.type, e.ref_start, e.ref_end) for e in checked.edits}
    assert ("substitution", 2, 3) in found
    assert ("omission", 7, 8) in found
    assert all(e.evidence.log_likelihood_margin > 0 for e in checked.edits)


def test_a_transcription_without_a_page_is_not_checked(whisper):
    assert whisper.run_file(str(DATA / "miscue.mp3")).verification is None


def test_the_check_can_be_turned_off():
    runner = PluginRunner("whisper", {"compute_type": "int8", "check_reading": False})
    assert not runner.checks_readings
    assert runner.run_file(str(DATA / "miscue.mp3"), FIXTURE["reference"]).verification is None
