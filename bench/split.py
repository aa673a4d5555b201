"""The benchmark's fixed dev/test split: by passage, decided by a seed.

Every threshold of the reading check (the verification margin, the calibration of
``confidence``) is chosen on the *dev* half only; figures are reported on the *test*
half. The split is by passage (the source text), not by item, so no page the
thresholds were tuned on is read again in the test half, whatever voice or miscues a
build gives it.

    split_of(12)  # -> "dev" or "test", the same on every machine
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence

__all__ = ["DEV", "SPLIT_SEED", "TEST", "split_of", "split_items"]

#: The seed of the split. Changing it changes which passages are tuned on: don't.
SPLIT_SEED = 20261203
#: Passages in ``bench/passages.json`` (ids 0..46); ids beyond it split the same way.
_PASSAGES = 47
DEV, TEST = "dev", "test"


def _dev_passages() -> frozenset[int]:
    ids = list(range(_PASSAGES))
    random.Random(SPLIT_SEED).shuffle(ids)
    return frozenset(ids[: _PASSAGES // 2])


_DEV = _dev_passages()


def split_of(passage: int) -> str:
    """``"dev"`` or ``"test"`` for a passage id of ``bench/passages.json``.

    Ids past the committed passages are assigned by parity (even: dev).
    """
    if passage >= _PASSAGES:
        return DEV if passage % 2 == 0 else TEST
    return DEV if passage in _DEV else TEST


def split_items(items: Iterable[dict], which: str | Sequence[str]) -> list[dict]:
    """The manifest items (with a ``passage`` field) of one split, or of several."""
    wanted = {which} if isinstance(which, str) else set(which)
    return [item for item in items if split_of(int(item["passage"])) in wanted]
