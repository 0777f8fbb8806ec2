"""The media types a scenario file comes in, and which one a file is by its name."""

from __future__ import annotations

from pathlib import PurePath

# Content-Type (parameters such as charset aside) -> the reader for it.
FORMATS = {
    "application/json": "json",
    "application/yaml": "yaml",
    "application/x-yaml": "yaml",
    "text/yaml": "yaml",
    "text/x-yaml": "yaml",
    "application/x-ndjson": "jsonl",
    "application/jsonl": "jsonl",
}
DEFAULT = "application/yaml"  # YAML reads JSON too

SUFFIXES = {
    ".json": "application/json",
    ".yaml": "application/yaml",
    ".yml": "application/yaml",
    ".jsonl": "application/x-ndjson",
    ".ndjson": "application/x-ndjson",
}


def media_type(path: PurePath) -> str:
    """The media type a file is read as: by its suffix, else YAML (which reads JSON too)."""
    return SUFFIXES.get(path.suffix.lower(), DEFAULT)
