"""Unsupervised keyword extraction: TF-IDF-weighted words and short phrases from the report.

Every keyword is copied verbatim from the text (the taxonomy requires it), so the
candidates are spans of the original string, scored by term frequency in the report times
inverse document frequency in the training corpus.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

_STOPWORDS_FILE = Path(__file__).with_name("stopwords_sv.txt")
STOPWORDS: frozenset[str] = frozenset(
    word
    for line in _STOPWORDS_FILE.read_text(encoding="utf-8").splitlines()
    if not line.startswith("#")
    for word in line.split()
)
_TOKEN = re.compile(r"[^\W\d_][\w\-]*|\d+[a-zA-Z]?", re.UNICODE)
# Reports beyond this length add no keyword candidates worth the time.
_MAX_CHARS = 20_000


def _tokens(text: str) -> list[re.Match]:
    return list(_TOKEN.finditer(text[:_MAX_CHARS]))


def _useful(word: str) -> bool:
    return len(word) >= 3 and word.casefold() not in STOPWORDS and not word.isdigit()


def candidates(text: str) -> list[str]:
    """Candidate keywords in order of appearance: content words, two-word phrases, addresses."""
    found: list[str] = []
    matches = _tokens(text)
    for index, match in enumerate(matches):
        word = match.group()
        if _useful(word):
            found.append(word)
        if index + 1 < len(matches):
            following = matches[index + 1]
            between = text[match.end() : following.start()]
            if between != " ":
                continue
            phrase = text[match.start() : following.end()]
            # Two content words, or "Storgatan 14": a capitalised name and a house number.
            is_address = word[:1].isupper() and following.group()[:1].isdigit()
            if _useful(word) and (is_address or _useful(following.group())):
                found.append(phrase)
    return found


class KeywordExtractor:
    """Learns document frequencies from a corpus; extracts the top terms of one report."""

    def __init__(self, max_keywords: int = 4, phrase_bonus: float = 1.0, min_phrase_df: int = 2):
        self.max_keywords = max_keywords
        self.phrase_bonus = phrase_bonus
        self.min_phrase_df = min_phrase_df
        self.document_frequency: dict[str, int] = {}
        self.documents = 0

    def fit(self, texts: Iterable[str]) -> KeywordExtractor:
        counts: Counter[str] = Counter()
        documents = 0
        for text in texts:
            documents += 1
            counts.update({c.casefold() for c in candidates(text)})
        # A two-word phrase is kept only where it recurs (a collocation such as "fel
        # hållplats"); one-off word pairs are noise that rare-term weighting would promote.
        self.document_frequency = {
            term: n for term, n in counts.items() if " " not in term or n >= self.min_phrase_df
        }
        self.documents = documents
        return self

    def idf(self, term: str) -> float:
        frequency = self.document_frequency.get(term.casefold(), 0)
        return math.log((1 + self.documents) / (1 + frequency)) + 1

    def _known_phrase(self, phrase: str) -> bool:
        first, second = phrase.split(" ", 1)
        is_address = first[:1].isupper() and second[:1].isdigit()
        return is_address or phrase.casefold() in self.document_frequency

    def extract(self, text: str) -> list[str]:
        """The best keywords of one text, verbatim, without case-insensitive repeats."""
        found = candidates(text)
        term_frequency = Counter(c.casefold() for c in found)
        scored: dict[str, tuple[float, int, str]] = {}
        for position, candidate in enumerate(found):
            key = candidate.casefold()
            if key in scored or (" " in key and not self._known_phrase(candidate)):
                continue
            bonus = self.phrase_bonus if " " in candidate else 1.0
            score = term_frequency[key] * self.idf(candidate) * bonus
            scored[key] = (score, position, candidate)
        ranked = sorted(scored.values(), key=lambda item: (-item[0], item[1]))
        chosen: list[str] = []
        for _, _, candidate in ranked:
            folded = candidate.casefold()
            # Skip a word already covered by a chosen phrase, and vice versa.
            if any(folded in c.casefold() or c.casefold() in folded for c in chosen):
                continue
            chosen.append(candidate)
            if len(chosen) == self.max_keywords:
                break
        return chosen

    def to_dict(self) -> dict:
        return {
            "max_keywords": self.max_keywords,
            "phrase_bonus": self.phrase_bonus,
            "min_phrase_df": self.min_phrase_df,
            "documents": self.documents,
            "document_frequency": self.document_frequency,
        }

    @classmethod
    def from_dict(cls, state: dict) -> KeywordExtractor:
        extractor = cls(state["max_keywords"], state["phrase_bonus"], state["min_phrase_df"])
        extractor.documents = state["documents"]
        extractor.document_frequency = state["document_frequency"]
        return extractor
