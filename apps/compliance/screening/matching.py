"""Fuzzy name matching against a prepared watchlist index.

Names are normalised (NFKD, accents stripped, casefolded, punctuation removed, spaces collapsed)
and their tokens sorted, so "Bin Laden, Usama" and "usama bin laden" compare equal. A name with
Han characters gets pinyin variants too (pypinyin, no tones): surname first ("wang xiaoming")
and given name first ("xiaoming wang"), so a Chinese name matches its romanised form in either
order. Scores are rapidfuzz's normalised similarity (0-100) of the sorted forms; the index keeps
every variant of every entry in one list, and `process.extract` scans it in C (one name against
20,000 entries in a few milliseconds: bench/screening.py).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from pypinyin import Style, lazy_pinyin
from rapidfuzz import fuzz, process

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_NOT_WORD = re.compile(r"[^\w]+", re.UNICODE)
# Two-character Chinese surnames: the rest of the name is the given name.
_COMPOUND_SURNAMES = {"欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "令狐", "司徒", "夏侯"}


def normalise(name: str) -> str:
    """Casefolded ASCII-ish words in sorted order; Han characters are kept as they are."""
    decomposed = unicodedata.normalize("NFKD", name or "")
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    words = _NOT_WORD.sub(" ", stripped.casefold()).replace("_", " ").split()
    return " ".join(sorted(_fold(word) for word in words))


# Romanisation variants folded to one spelling (Gadhafi / Qaddafi / Kadafi, Mohammed / Muhamad,
# Yusuf / Youssef): digraphs first, then single letters, then doubled letters collapsed.
_DIGRAPHS = (("ph", "f"), ("dh", "d"), ("th", "t"), ("kh", "k"), ("gh", "g"), ("ck", "k"), ("ou", "u"), ("oo", "u"))
_LETTERS = str.maketrans({"q": "k", "c": "k", "o": "u", "y": "i", "e": "i"})
_DOUBLED = re.compile(r"(.)\1+")


def _fold(word: str) -> str:
    if not word.isascii():
        return word
    for digraph, single in _DIGRAPHS:
        word = word.replace(digraph, single)
    return _DOUBLED.sub(r"\1", word.translate(_LETTERS))


def _pinyin_variants(name: str) -> list[str]:
    han = "".join(_HAN.findall(name))
    if not han:
        return []
    split = 2 if han[:2] in _COMPOUND_SURNAMES and len(han) > 2 else 1
    surname = "".join(lazy_pinyin(han[:split], style=Style.NORMAL))
    given = "".join(lazy_pinyin(han[split:], style=Style.NORMAL))
    syllables = " ".join(lazy_pinyin(han, style=Style.NORMAL))
    variants = [f"{surname} {given}".strip(), syllables]
    return [v for v in variants if v]


def name_variants(name: str) -> list[str]:
    """Every normalised form a name is compared in (sorted tokens; pinyin for Han names)."""
    forms = [normalise(name)] + [normalise(v) for v in _pinyin_variants(name)]
    seen: list[str] = []
    for form in forms:
        if form and form not in seen:
            seen.append(form)
    return seen


@dataclass(frozen=True)
class IndexedEntry:
    key: int  # the WatchlistEntry primary key (or any id the caller chose)
    name: str
    list_name: str


@dataclass(frozen=True)
class Match:
    entry: IndexedEntry
    score: int
    matched: str


class WatchlistIndex:
    """Every variant of every entry's names in one list, for rapidfuzz to scan."""

    def __init__(self, entries: Iterable[tuple[IndexedEntry, Iterable[str]]]) -> None:
        self.choices: list[str] = []
        self.owners: list[IndexedEntry] = []
        for entry, names in entries:
            for name in names:
                for variant in name_variants(name):
                    self.choices.append(variant)
                    self.owners.append(entry)
        # The same strings without spaces, prepared once (a per-call processor would cost a
        # Python call per choice).
        self.compact: list[str] = [choice.replace(" ", "") for choice in self.choices]

    def __len__(self) -> int:
        return len(self.choices)

    def search(self, name: str, *, cutoff: int, limit: int = 5) -> list[Match]:
        """The best matches at or above `cutoff`, one per entry, best first."""
        best: dict[int, Match] = {}
        for variant in name_variants(name):
            # Compare whole sorted strings, and also ignore the spaces (so "xiao ming" finds
            # "xiaoming" and "binladen" finds "bin laden"); the better score counts.
            passes = [(variant, self.choices)]
            if " " in variant:
                passes.append((variant.replace(" ", ""), self.compact))
            for query, choices in passes:
                found = process.extract(
                    query, choices, scorer=fuzz.ratio, processor=None, score_cutoff=cutoff, limit=limit * 3
                )
                for _choice, score, position in found:
                    owner = self.owners[position]
                    rounded = int(score)
                    if owner.key not in best or rounded > best[owner.key].score:
                        best[owner.key] = Match(entry=owner, score=rounded, matched=self.choices[position])
        return sorted(best.values(), key=lambda m: (-m.score, m.entry.key))[:limit]
