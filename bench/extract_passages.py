"""Regenerate ``bench/passages.json`` from the English Wikipedia text shipped in gensim's wheel.

The gensim 4.4.0 wheel on PyPI carries two plain-text files of English Wikipedia article
text (New York and Berlin) as test data. This script reads them straight from the wheel
(a zip file; gensim itself is never installed or imported), deletes citation markers
and section headings, splits the text into sentences, drops every sentence that would be
awkward to read aloud or to score, and packs each paragraph's remaining sentences, in
order, into passages of 40–70 words. The output is deterministic: the same wheel gives
the same ``passages.json`` byte for byte.

Usage (from the repository root)::

    python -m bench.extract_passages                 # downloads the wheel with pip
    python -m bench.extract_passages --wheel /tmp/x/gensim-4.4.0-....whl
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

GENSIM_VERSION = "4.4.0"
SOURCE_FILES = ("para2para_text1.txt", "para2para_text2.txt")
MEMBER_DIR = "gensim/test/test_data/"
SOURCE_CITATION = (
    "English Wikipedia article text (CC BY-SA 4.0, https://creativecommons.org/licenses/"
    "by-sa/4.0/), as distributed in gensim 4.4.0's test data "
    "(gensim/test/test_data/para2para_text1.txt and para2para_text2.txt in the PyPI wheel)"
)
EDIT_NOTES = (
    "From text about New York State (para2para_text1.txt) and Berlin (para2para_text2.txt). "
    "Citation markers such as [4] and section headings were removed. Sentences with "
    "brackets, parentheses, semicolons, colons, quotation marks, slashes, stand-alone "
    "dashes, abbreviations, acronyms, Roman numerals or numbers with separators were left "
    "out. A passage's sentences come from one paragraph, in order; left-out sentences may "
    "lie between them. The sentence text itself is unchanged."
)
MIN_WORDS = 40
MAX_WORDS = 70
DEFAULT_OUT = Path(__file__).with_name("passages.json")

# A sentence ends at . ! or ? (optionally followed by citation markers such as "[4]")
# when whitespace and a capital letter or digit follow.
_SENTENCE_END = re.compile(r"[.!?](?:\[\d+\])*(?=\s+[A-Z0-9])")
# Words after which a full stop does not end the sentence.
_ABBREVIATIONS = frozenset({"st.", "mr.", "mrs.", "dr.", "u.s.", "a.k.a.", "vs.", "etc."})
# Characters a kept sentence may contain: ASCII letters, digits, space and light
# punctuation, plus curly quotes and en/em dashes.
_ALLOWED = re.compile(r"^[A-Za-z0-9 .,'\-\u2018\u2019\u201c\u201d\u2013\u2014]+$")
# Acronyms ("EU", "IT"): TTS engines read some of them as words.
_ACRONYM = re.compile(r"^[A-Z]{2,}$")
# Roman numerals ("World War II", "Frederick I"): TTS engines read them as "Roman two".
_ROMAN = re.compile(r"^(?:I{1,3}|IV|VI{0,3}|IX|XI{0,3})$")
# Wikipedia citation markers ("[4]", "[9][10]"), which are not read aloud.
_CITATION = re.compile(r"\[\d+\]")
# Section headings that the source runs into the first sentence of a paragraph.
HEADINGS = (
    "17th century",
    "American Revolution",
    "19th century",
    "Climate",
    "Geography",
    "History",
    "17th to 19th centuries",
    "20th century",
)
# A token that is a plain number, a year or an ordinal ("1776", "1776,", "17th", "46th").
_NUMBER_TOKEN = re.compile(r"^\d+(?:st|nd|rd|th|s)?[.,]?$")


class _Counted(Protocol):
    @property
    def words(self) -> int: ...


S = TypeVar("S", bound=_Counted)


@dataclass(frozen=True)
class Sentence:
    """One sentence of a source paragraph.

    Attributes:
        text: the sentence text, whitespace-normalised.
        file: source file name.
        paragraph: 0-based line number of the paragraph in the source file.
        index: 0-based sentence number within the paragraph.
        keep: whether the sentence is suitable for reading aloud.
    """

    text: str
    file: str
    paragraph: int
    index: int
    keep: bool

    @property
    def words(self) -> int:
        """Number of whitespace tokens."""
        return len(self.text.split())


def find_wheel(wheel: Path | None) -> Path:
    """Return the gensim wheel to read, downloading it with pip into a temp dir if needed."""
    if wheel is not None:
        return wheel
    target = Path(tempfile.mkdtemp(prefix="gensim-wheel-"))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "-q",
            "--no-deps",
            f"gensim=={GENSIM_VERSION}",
            "-d",
            str(target),
        ],
        check=True,
    )
    found = sorted(target.glob(f"gensim-{GENSIM_VERSION}-*.whl"))
    if not found:
        raise FileNotFoundError(f"pip did not leave a gensim {GENSIM_VERSION} wheel in {target}")
    return found[0]


def read_sources(wheel: Path) -> dict[str, str]:
    """Read the two Wikipedia text files from the wheel, keyed by file name."""
    with zipfile.ZipFile(wheel) as zf:
        return {name: zf.read(MEMBER_DIR + name).decode("utf-8") for name in SOURCE_FILES}


def split_sentences(paragraph: str) -> list[str]:
    """Split a paragraph into sentences, not breaking after known abbreviations."""
    sentences: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(paragraph):
        last_word = paragraph[start : match.start() + 1].split()[-1].lower()
        if last_word in _ABBREVIATIONS or re.fullmatch(r"[a-z]\.", last_word):
            continue
        sentences.append(" ".join(paragraph[start : match.end()].split()))
        start = match.end()
    tail = " ".join(paragraph[start:].split())
    if tail:
        sentences.append(tail)
    return sentences


def readable(sentence: str) -> bool:
    """Whether a sentence is plain prose that reads aloud and scores unambiguously.

    Rejects brackets, parentheses, semicolons, colons, quotes,
    slashes, stand-alone dashes, abbreviations, acronyms, Roman numerals, numbers with
    separators ("8,000,000", "3.4"), fragments without a final full stop, and sentences
    of fewer than 4 words.
    """
    if not _ALLOWED.match(sentence) or not sentence.endswith((".", "!", "?")):
        return False
    tokens = sentence.split()
    if len(tokens) < 4:
        return False
    for token in tokens:
        core = token.rstrip(".,!?")
        if not core or core in {"-", "\u2013", "\u2014"}:
            return False
        if "." in core:  # U.S., a.k.a, 3.4
            return False
        if any(ch.isdigit() for ch in core) and not _NUMBER_TOKEN.match(token):
            return False
        if core.lower() + "." in _ABBREVIATIONS or _ROMAN.match(core) or _ACRONYM.match(core):
            return False
    return True


def sentences_of(name: str, text: str) -> list[Sentence]:
    """All sentences of one source file, each marked keep or not.

    Citation markers ("[4]") are deleted first: they are footnote links, not prose.
    Every paragraph after the first starts with a section heading run into its first
    sentence ("Climate Lake-effect snow is ..."); a heading from ``HEADINGS`` is cut off,
    and where none matches (a picture caption) the whole first sentence is dropped.
    """
    out: list[Sentence] = []
    lines = [line for line in _CITATION.sub("", text).splitlines() if line.strip()]
    for p_index, paragraph in enumerate(lines):
        heading = next((h for h in HEADINGS if paragraph.startswith(h + " ")), None)
        if heading is not None:
            paragraph = paragraph[len(heading) + 1 :]
        for s_index, sentence in enumerate(split_sentences(paragraph)):
            caption = p_index > 0 and s_index == 0 and heading is None
            keep = readable(sentence) and not caption
            out.append(Sentence(sentence, name, p_index, s_index, keep))
    return out


def pack_run(
    run: list[S], min_words: int = MIN_WORDS, max_words: int = MAX_WORDS
) -> list[list[S]]:
    """Pack a paragraph's kept sentences (anything with a ``words`` count), in order,
    into as many ``min_words``–``max_words`` passages as fit (default 40–70).

    Dynamic programming over sentence boundaries; sentences left over between passages
    are dropped. Ties prefer starting a passage as early, and as short, as possible.
    """
    n = len(run)
    best: list[int] = [0] * (n + 1)
    choice: list[int | None] = [None] * (n + 1)  # end index of the passage starting here
    for i in range(n - 1, -1, -1):
        take, take_end, total = -1, None, 0
        for j in range(i, n):
            total += run[j].words
            if total > max_words:
                break
            if total >= min_words and 1 + best[j + 1] > take:
                take, take_end = 1 + best[j + 1], j + 1
        if take >= best[i + 1]:
            best[i], choice[i] = take, take_end
        else:
            best[i], choice[i] = best[i + 1], None
    passages: list[list[S]] = []
    i = 0
    while i < n:
        end = choice[i]
        if end is None:
            i += 1
        else:
            passages.append(run[i:end])
            i = end
    return passages


def has_number(text: str) -> bool:
    """Whether the passage contains a digit token (a year, an ordinal, a count)."""
    return any(any(ch.isdigit() for ch in token) for token in text.split())


def build_passages(sources: dict[str, str]) -> list[dict[str, object]]:
    """Passages from all source files, in source order, as JSON-ready dicts.

    A passage never crosses a paragraph (a section of the article). Within a paragraph the
    kept sentences are packed in order; a dropped sentence between two kept ones is
    skipped, so ``sentences`` (0-based indices within the paragraph) may have gaps.
    """
    passages: list[dict[str, object]] = []
    for name in SOURCE_FILES:
        paragraphs: dict[int, list[Sentence]] = {}
        for sentence in sentences_of(name, sources[name]):
            if sentence.keep:
                paragraphs.setdefault(sentence.paragraph, []).append(sentence)
        for paragraph, kept in paragraphs.items():
            for group in pack_run(kept):
                text = " ".join(s.text for s in group)
                passages.append(
                    {
                        "id": len(passages),
                        "file": name,
                        "paragraph": paragraph,
                        "sentences": [s.index for s in group],
                        "words": len(text.split()),
                        "has_number": has_number(text),
                        "text": text,
                    }
                )
    return passages


def main(argv: list[str] | None = None) -> None:
    """CLI entry point: write passages.json."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wheel", type=Path, help="a downloaded gensim 4.4.0 wheel")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output JSON path")
    args = parser.parse_args(argv)
    wheel = find_wheel(args.wheel)
    sources = read_sources(wheel)
    passages = build_passages(sources)
    doc = {
        "source": SOURCE_CITATION,
        "notes": EDIT_NOTES,
        "files": {
            name: {"sha256": hashlib.sha256(sources[name].encode("utf-8")).hexdigest()}
            for name in SOURCE_FILES
        },
        "word_range": [MIN_WORDS, MAX_WORDS],
        "passages": passages,
    }
    args.out.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    numbers = sum(1 for p in passages if p["has_number"])
    print(f"wrote {len(passages)} passages ({numbers} with numbers) to {args.out}")


if __name__ == "__main__":
    main()
