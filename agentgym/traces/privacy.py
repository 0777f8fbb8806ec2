"""Users' words come in with their traces: what identifies them is redacted at ingest, before
anything is stored (SECURITY.md, "Traces").

Built in: e-mail addresses, phone numbers (9 to 15 digits, with the usual separators), card
numbers (13 to 19 digits that pass the Luhn check) and account numbers (IBANs, and runs of 8
or more digits that are no card or phone number), each replaced by its kind in brackets
(`[email]`); then the tenant's own patterns (`PUT /api/settings` `redactPatterns`), each match
by `[redacted]`. An order number of a few digits stays: the policy reads that a request names
an order.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

# Each starts where a run of its characters starts (the look-behind): tried at every place of a
# long word, a pattern would be quadratic in it.
EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
)
IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?\b")
# Digits with the separators people type between them (a leading + too).
NUMBER = re.compile(r"(?<![\w.(+])[(+]?\d(?:[ ().-]{0,2}\d){7,22}(?![\w])")
MAX_PATTERNS = 32
MAX_PATTERN_CHARS = 256


def luhn(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        n = int(char)
        if position % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def _number(match: re.Match[str]) -> str:
    text = match.group(0)
    digits = re.sub(r"\D", "", text)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):  # a date
        return text
    if 13 <= len(digits) <= 19 and luhn(digits):
        return "[card]"
    if text[0] in "+(" or (9 <= len(digits) <= 15 and re.search(r"[ ().-]", text)):
        return "[phone]"
    if len(digits) >= 8:
        return "[account]"
    return text


@lru_cache(maxsize=256)
def compiled(patterns: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(pattern) for pattern in patterns)


def redact(text: str, patterns: Sequence[str] = ()) -> str:
    """`text` with what identifies a person replaced, then every match of `patterns`."""
    if not text:
        return text
    if "@" in text:
        text = EMAIL.sub("[email]", text)
    if any(char.isdigit() for char in text):
        text = IBAN.sub("[account]", text)
        text = NUMBER.sub(_number, text)
    for pattern in compiled(tuple(patterns)):
        text = pattern.sub("[redacted]", text)
    return text


def check_patterns(patterns: Sequence[str]) -> list[str]:
    """The tenant's patterns, or ValueError saying which one is not a pattern."""
    if len(patterns) > MAX_PATTERNS:
        raise ValueError(f"{len(patterns)} patterns; the limit is {MAX_PATTERNS}")
    for index, pattern in enumerate(patterns):
        if len(pattern) > MAX_PATTERN_CHARS:
            raise ValueError(f"pattern {index} is over {MAX_PATTERN_CHARS} characters")
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(
                f"pattern {index} ({pattern[:40]!r}) is not a regular expression: {exc}"
            ) from None
    return list(patterns)
