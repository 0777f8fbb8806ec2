"""How big a scenario file may be, and how much of it a reader may expand.

Every bound is here so one object says what a file is refused for, and tests can pass small
ones. A bound that is exceeded refuses the file with a message naming the field below.
"""

from __future__ import annotations

from dataclasses import dataclass

# The body-size limit (AGENTGYM_MAX_SCENARIO_BYTES). The REST layer enforces it while reading
# the body (413) so a huge upload is never held whole; parse_scenario checks it again.
MAX_SCENARIO_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Limits:
    max_bytes: int = MAX_SCENARIO_BYTES  # the whole file, as sent
    max_tools: int = 2000  # OpenAI accepts at most 128 a request; a catalog may hold more
    max_tasks: int = 200_000
    max_steps: int = 64  # tool calls in one task's solution
    max_logs: int = 200_000  # logged episodes
    max_log_calls: int = 256  # tool calls in one logged episode
    max_text_bytes: int = 8192  # one task's text, UTF-8
    max_description_bytes: int = 4096  # one tool's description, UTF-8
    max_parameters_bytes: int = 16_384  # one tool's JSON schema, as compact JSON
    max_depth: int = 64  # nesting of objects and lists, in JSON and YAML alike
    max_aliases: int = 100  # YAML alias uses (`*name`)
    max_alias_nodes: int = 100_000  # nodes YAML aliases may add: "billion laughs" stops here
    max_problems: int = 100  # errors (and warnings) listed; the rest are only counted


DEFAULT_LIMITS = Limits()
