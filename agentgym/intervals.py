"""How far an accuracy measured on n tasks can be trusted: its Wilson score interval.

Wilson's interval (rather than the normal approximation's p +- 1.96 sqrt(p(1 - p)/n)) stays
inside 0-100% and is not of zero width at 0% or 100%: three held-out tasks all solved say
100%, but the interval says 44-100%.
"""

from __future__ import annotations

import math

Z95 = 1.959963984540054  # the standard normal's 97.5th percentile


def wilson(percent: float, n: int) -> list[float]:
    """The 95% interval, in percent, of an accuracy of `percent` measured on `n` trials
    ([0, 100] for none)."""
    if n <= 0:
        return [0.0, 100.0]
    p = min(max(percent / 100.0, 0.0), 1.0)
    z2 = Z95 * Z95
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return [round(100 * max(centre - half, 0.0), 2), round(100 * min(centre + half, 1.0), 2)]
