"""Text as the learner reads it: words, crude stems, misspelling skeletons, content terms.

Pure and deterministic: the same text gives the same terms in every process.
"""

from __future__ import annotations

import functools
import itertools
import re

SKELETON_MIN = 5  # stems at least this long also stand for their consonant skeleton
_WORD = re.compile(r"[a-z0-9']+")
_NAME_WORD = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
_VOWELS = frozenset("aeiouy")
# Words that say nothing about which tool a request needs.
_STOPWORDS = """a an the and or but if then so to of in on at by for from with without into onto
    is are was were be been being am do does did done have has had i me my mine we us our
    you your yours he him his she her it its they them their this that these those there
    here what which who whom whose when where why how can could would should will shall may
    might must just also too very really please pls plz thanks thank thx hi hello hey dear
    not no yes ok okay any some all each every one as than up out about again now still"""
STOPWORDS = frozenset(_STOPWORDS.split())
_SUFFIXES = (
    "ational", "ations", "ation", "ments", "ment", "ness", "ings", "ing", "edly", "ied",
    "ies", "ed", "es", "ers", "er", "ly", "s", "e",
)  # fmt: skip


def words_of(text: str) -> list[str]:
    """A text's words, lowercased."""
    return _WORD.findall(text.lower())


@functools.lru_cache(maxsize=1 << 16)
def stem(word: str) -> str:
    """A crude English stem: one common suffix off, a doubled last consonant undone."""
    word = word.removesuffix("'s").replace("'", "")
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in _VOWELS:
        word = word[:-1]
    return word


def skeleton(word: str) -> str:
    """The first letter and the consonants after it, repeats collapsed: what most misspellings
    of a word keep ("pasword" and "password" are both "pswrd")."""
    rest = [c for c in word[1:] if c not in _VOWELS and c.isalpha()]
    kept = [c for c, _ in itertools.groupby(rest)]
    return "~" + word[0] + "".join(kept)


def terms_of(text: str, skeletons: bool = False) -> list[str]:
    """A text's content terms, deduplicated in order of appearance: stems, and with
    `skeletons` the skeletons of its longer words too."""
    terms: dict[str, None] = {}
    for word in words_of(text):
        if word in STOPWORDS or len(word) < 2 or word.isdigit():
            continue
        stemmed = stem(word)
        terms[stemmed] = None
        if skeletons and len(stemmed) >= SKELETON_MIN and stemmed.isalpha():
            terms[skeleton(stemmed)] = None
    return list(terms)


_TOKEN = re.compile(r"[#@\w][\w.@#'-]*\w|\w")
_SHAPE = re.compile(r"[a-z]+|[0-9]+|[^a-z0-9]")
# Small numbers as people write them, which say how many times to do a thing.
NUMBERS = {
    **{str(n): n for n in range(2, 10)},
    **dict(zip(["two", "three", "four", "five", "six", "seven", "eight", "nine"], range(2, 10), strict=True)),
    "both": 2, "couple": 2, "pair": 2, "twice": 2, "thrice": 3,
}  # fmt: skip
MAX_REPEATS = 4  # a word or shape seen more often than this counts as this many


def shape(token: str) -> str:
    """A token's shape: letters as "a", digits as "0", runs collapsed ("#W5903620" and "W5903620" are "a0",
    "ava.sato1034@example.com" is "a.a0@a.a"): what an id, an email or a number looks like,
    whatever its value."""
    return "".join(
        "a" if part[0].isalpha() else "0" if part[0].isdigit() else part
        for part in _SHAPE.findall(token.lower().lstrip("#"))
    )


def _stems(text: str) -> list[str]:
    """Each word's stem; a token with a digit (an id, a number) by its shape instead: its
    value is the user's, not the request's kind."""
    return [
        f"shape:{shape(token)}" if any(c.isdigit() for c in token) else stem(token)
        for token in _TOKEN.findall(text.lower())
    ]


def counted(text: str) -> dict[str, int]:
    """How many of a thing the request has or says: each shape and each stem that recurs,
    by its count (three order numbers, two "for"s), and the largest small number it says
    ("said": "my last three orders", "both", "2 items")."""
    counts: dict[str, int] = {}
    for s in _stems(text):
        counts[s] = counts.get(s, 0) + 1
    found = {s: n for s, n in counts.items() if n > 1 or s.startswith("shape:")}
    said = [NUMBERS[w] for w in words_of(text) if w in NUMBERS]
    if said:
        found["said"] = max(said)
    return found


def request_features(text: str) -> list[str]:
    """What the policy reads of a request's words: each word's stem (`_stems`), each pair of
    adjacent ones (so "not locked" differs from "locked"), and how many times a shape or a
    stem recurs (up to MAX_REPEATS)."""
    stems = _stems(text)
    repeats = [f"{s}*{min(n, MAX_REPEATS)}" for s, n in counted(text).items() if n > 1]
    return stems + [f"{a} {b}" for a, b in itertools.pairwise(stems)] + repeats


def name_terms_of(tool: str) -> list[str]:
    """A tool name's words: `send_reset_link`, `sendResetLink` and `send-reset-link` alike."""
    return [stem(part.lower()) for part in _NAME_WORD.findall(tool)]
