"""Search terms of a shop and of a query: character n-grams, pinyin syllables and initials.

A shop's `search_terms` (a GIN-indexed text[] column) holds, lower-cased:
- `n:` + every character and every pair of adjacent characters of the name, `a:` + those of the
  address, `o:` + those of the owner name (a query's own n-grams must all be present under the
  field's tag; the service then checks the fragment itself with ILIKE, so the terms only narrow
  the rows and never decide a match);
- `^` + the name's first character and first pair (names that begin with a fragment);
- `p:<syllable>` and `p:<syllable> <syllable>` for the pinyin of the name's Chinese characters,
  `i:<letter><letter>` for pairs of their initials (超市 → `p:chao`, `p:shi`, `p:chao shi`, `i:cs`);
- the same for the owner name tagged `op:` and `oi:`.
Tags per field let each relevance tier be one index condition whose row estimate PostgreSQL
knows (most common elements), and let a role that may not search owner names leave them out.

Pinyin is taken per character, every reading of a polyphone (重 → zhong and chong; at most
MAX_READINGS), so a term never depends on context and the same text always gives the same terms.
No FastAPI or SQLAlchemy here: the bulk import and the migration's backfill call `search_terms`.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from pypinyin.pinyin_dict import pinyin_dict

MAX_READINGS = 2
MAX_SEGMENTATIONS = 4
# Initials are typed for short names; a long run of letters is a word or pinyin, not initials.
MAX_INITIALS = 6
NAME, ADDRESS, OWNER, NAME_START = "n:", "a:", "o:", "^"
NAME_PINYIN, NAME_INITIALS = "p:", "i:"
OWNER_PINYIN, OWNER_INITIALS = "op:", "oi:"
_VOWELS = frozenset("aeiouv")
_LETTERS = re.compile(r"^[a-z]+$")
_SPACE = re.compile(r"\s+")


def _toneless(reading: str) -> str:
    """A reading without tone marks, ü written v (how people type it): lǜ → lv."""
    decomposed = unicodedata.normalize("NFD", reading).replace("u\u0308", "v")
    return "".join(char for char in decomposed if not unicodedata.combining(char))


@lru_cache(maxsize=65536)
def readings(char: str) -> tuple[str, ...]:
    """The toneless pinyin readings of one character (empty for non-Chinese characters)."""
    raw = pinyin_dict.get(ord(char))
    if raw is None:
        return ()
    found: list[str] = []
    for reading in raw.split(","):
        plain = _toneless(reading)
        # Vowel-less interjection readings (嗯 → n, ng, m) would turn any consonant into a match.
        if plain not in found and _VOWELS.intersection(plain):
            found.append(plain)
    return tuple(found[:MAX_READINGS])


@lru_cache(maxsize=1)
def syllables() -> frozenset[str]:
    """Every pinyin syllable a character can be read as (for splitting a typed query)."""
    return frozenset(
        plain
        for raw in pinyin_dict.values()
        for reading in raw.split(",")
        if _VOWELS.intersection(plain := _toneless(reading))
    )


def grams(text: str) -> list[str]:
    """The characters and adjacent pairs of a lower-cased text, sorted, each once."""
    lowered = text.lower()
    return sorted(set(lowered) | {lowered[index : index + 2] for index in range(len(lowered) - 1)})


def _tagged(tag: str, text: str) -> set[str]:
    return {tag + gram for gram in grams(text)}


def _pinyin_terms(text: str, pinyin_tag: str, initials_tag: str) -> set[str]:
    """Syllables, syllable pairs and initial pairs of each run of Chinese characters."""
    terms: set[str] = set()
    previous: tuple[str, ...] = ()
    for char in _SPACE.sub("", text):
        current = readings(char)
        terms.update(pinyin_tag + reading for reading in current)
        for left in previous:
            for right in current:
                terms.add(f"{pinyin_tag}{left} {right}")
                terms.add(f"{initials_tag}{left[0]}{right[0]}")
        previous = current
    return terms


def search_terms(name: str, address: str | None, owner_name: str | None) -> list[str]:
    """The sorted search terms of a shop (what its `search_terms` column holds)."""
    lowered = name.lower()
    terms = _tagged(NAME, name) | _pinyin_terms(name, NAME_PINYIN, NAME_INITIALS)
    terms |= {NAME_START + lowered[:1], NAME_START + lowered[:2]} if lowered else set()
    if address:
        terms |= _tagged(ADDRESS, address)
    if owner_name:
        terms |= _tagged(OWNER, owner_name)
        terms |= _pinyin_terms(owner_name, OWNER_PINYIN, OWNER_INITIALS)
    return sorted(terms)


def split_syllables(letters: str) -> list[list[str]]:
    """The ways to read a run of letters as the fewest pinyin syllables (chaoshi → chao shi)."""
    known = syllables()
    longest = max(len(syllable) for syllable in known)
    # best[i]: the fewest-syllable splits of letters[:i] (at most MAX_SEGMENTATIONS of them).
    best: list[list[list[str]]] = [[[]]]
    best += [[] for _ in letters]
    for end in range(1, len(letters) + 1):
        for start in range(max(0, end - longest), end):
            piece = letters[start:end]
            if piece not in known or not best[start]:
                continue
            candidates = [[*split, piece] for split in best[start]]
            if not best[end] or len(candidates[0]) < len(best[end][0]):
                best[end] = candidates
            elif len(candidates[0]) == len(best[end][0]):
                best[end].extend(candidates)
        best[end] = best[end][:MAX_SEGMENTATIONS]
    return best[len(letters)]


@dataclass(frozen=True)
class QueryTerms:
    """What a query must find among a shop's terms: each list is one alternative (all of it)."""

    lowered: str
    """The query, lower-cased."""
    text: list[str]
    """The query's own characters (one) or adjacent pairs (two or more), lower-cased."""
    name_pinyin: list[list[str]]
    """One list per way of reading the letters as syllables (empty: not pinyin)."""
    name_initials: list[str]
    """Pairs of initials (empty: not initials)."""

    def in_field(self, tag: str) -> list[str]:
        """The query's n-grams under a field's tag (NAME, ADDRESS or OWNER)."""
        return [tag + gram for gram in self.text]

    def name_start(self) -> list[str]:
        """The terms of a name beginning with the query (its first pair, then the rest)."""
        return sorted({NAME_START + self.lowered[:2], *self.in_field(NAME)})

    def owner_pinyin(self) -> list[list[str]]:
        """The pinyin alternatives against the owner name."""
        return [
            [_retag(term, NAME_PINYIN, OWNER_PINYIN) for term in alt] for alt in self.name_pinyin
        ]

    def owner_initials(self) -> list[str]:
        """The initials against the owner name."""
        return [_retag(term, NAME_INITIALS, OWNER_INITIALS) for term in self.name_initials]


def _retag(term: str, old: str, new: str) -> str:
    return new + term.removeprefix(old)


def query_terms(query: str) -> QueryTerms:
    """The terms a query needs: its n-grams, and when it is letters, pinyin and initials."""
    lowered = query.lower()
    if len(lowered) == 1:
        text = [lowered]
    else:
        text = sorted({lowered[index : index + 2] for index in range(len(lowered) - 1)})
    letters = _SPACE.sub("", lowered)
    pinyin: list[list[str]] = []
    initials: list[str] = []
    if len(letters) >= 2 and _LETTERS.match(letters):
        for split in split_syllables(letters):
            if len(split) == 1:
                pinyin.append([NAME_PINYIN + split[0]])
            else:
                pinyin.append(
                    sorted({f"{NAME_PINYIN}{a} {b}" for a, b in itertools.pairwise(split)})
                )
        if len(letters) <= MAX_INITIALS:
            initials = sorted(
                {NAME_INITIALS + letters[index : index + 2] for index in range(len(letters) - 1)}
            )
    return QueryTerms(lowered=lowered, text=text, name_pinyin=pinyin, name_initials=initials)
