"""The set's plan (``bench/build_set.py``): engines, rate changes and room tone in the
stated shares, ids that stay unique over seeds, every item's split recorded."""

from __future__ import annotations

from collections import Counter

import pytest

from bench.build_set import (
    MIN_RATE_CHANGE,
    RATE_RANGE,
    item_id,
    load_passages,
    plan_items,
)
from bench.composition import summarize
from bench.noise import SNR_RANGE_DB
from bench.split import split_of
from bench.tts import ENGINES, PIPER


@pytest.fixture(scope="module")
def passages():
    return load_passages()[1]


def test_a_plan_shares_engines_rates_and_noise_by_thirds(passages):
    plans = plan_items(passages, 7)
    n = len(plans)
    engines = Counter(p.voice.engine for p in plans)
    assert set(engines) == set(ENGINES) and max(engines.values()) - min(engines.values()) <= 1
    changed = [p.rate_factor for p in plans if p.rate_factor != 1.0]
    assert len(changed) == round(n / 3)
    assert all(RATE_RANGE[0] <= f <= RATE_RANGE[1] and abs(f - 1) >= MIN_RATE_CHANGE
               for f in changed)
    noisy = [p.noise for p in plans if p.noise is not None]
    assert len(noisy) == round(n / 3)
    assert all(SNR_RANGE_DB[0] <= z.snr_db <= SNR_RANGE_DB[1] and z.hum_hz in (50, 60)
               for z in noisy)
    assert sum(1 for p in plans if not p.kinds) >= 10
    assert all(p.voice.model is not None for p in plans if p.voice.engine == PIPER)


def test_seeds_give_different_plans_and_unique_ids(passages):
    a, b = plan_items(passages, 7), plan_items(passages, 11)
    assert [p.voice for p in a] != [p.voice for p in b]
    assert plan_items(passages, 7) == a  # deterministic
    ids = {item_id(p.passage, seed) for seed, plans in ((7, a), (11, b)) for p in plans}
    assert len(ids) == len(a) + len(b)
    assert item_id(3) == "p03" and item_id(3, 11) == "s11-p03"


def test_the_summary_gives_the_composition_per_split():
    def item(passage: int, clean: bool) -> dict:
        miscues = [] if clean else [{"type": "omission", "detail": "function_word"}]
        return {
            "split": split_of(passage), "clean": clean, "miscues": miscues,
            "tts": {"engine": "piper", "voice": "v"}, "rate_factor": 1.1,
            "noise": {"kind": "brown+hum", "hum_hz": 50, "snr_db": 20.0},
            "duration_s": 10.0, "hyphenated": [], "distortions": {}, "font": "F",
        }

    dev = next(p for p in range(47) if split_of(p) == "dev")
    test = next(p for p in range(47) if split_of(p) == "test")
    text = summarize([item(dev, True), item(dev, False), item(test, False)], 1.0)
    assert "items: 3 (dev 2, test 1); clean: 1 (dev 1, test 0)" in text
    assert "omission: function_word 2, word 0, two_words 0" in text
    assert "noise: 3 items, SNR 20.0–20.0 dB, hum 50 Hz x3" in text
