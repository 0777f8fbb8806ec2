"""The model bundle: one file that carries a trained policy and says what it is.

A bundle is a ZIP archive (stored, not compressed: the weights are already dense) of two
members, `manifest.json` and `weights.bin`. The manifest names the scenario and its version,
the hyperparameters, framework, metrics, creation time, and the SHA-256 of the weights, so a
bundle can be checked without the code that trains (functions import bundles with the
standard library alone). The weights' own layout belongs to the learner that wrote them.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from typing import Annotated, Literal

from pydantic import Field, ValidationError

from agentgym.contracts import Framework, KFold, Schema, utc_now
from agentgym.errors import BundleError
from agentgym.scenario.definition import Tool
from agentgym.unzip import read_member

FORMAT = "agentgym-bundle/1"
MANIFEST = "manifest.json"
WEIGHTS = "weights.bin"
SUFFIX = ".agm"
# A manifest names its scenario's tools and what they do: up to 2,000 of 4 KiB descriptions.
MAX_MANIFEST_BYTES = 16 * 1024 * 1024
MAX_TERM = 64  # characters of a term a bundle's tool keeps (BundleTool.terms)
MAX_UNPACKED_BYTES = 256 * 1024 * 1024  # a bundle's bound when its reader names none
# Fixed member timestamps, so the same policy always packs to the same bytes.
_EPOCH = (1980, 1, 1, 0, 0, 0)


class BundleMetrics(Schema):
    accuracy: float = 0.0  # percent, training (last 100 episodes)
    heldout_accuracy: float = 0.0  # percent, on held-out tasks ...
    heldout_n: int = Field(default=0, ge=0)  # ... this many (0: not recorded)
    avg_reward: float = 0.0
    episodes: int = Field(default=0, ge=0)
    # The episode the packed policy is from: the run's best on its validation tasks. None in
    # bundles of learners that packed the last policy.
    best_episode: int | None = Field(default=None, ge=0)
    kfold: KFold | None = (
        None  # a k-fold estimate of its held-out accuracy, if its session made one
    )


class BundleHyperparameters(Schema):
    max_episodes: int = Field(ge=1)
    learning_rate: float = Field(gt=0)
    seed: int = Field(ge=0)
    sources: list[str] = Field(default_factory=list, max_length=8)  # what it learned from
    # Every hyperparameter of its learner, by name (trainer/model/config.py); {} before /5.
    learner: dict[str, int | float] = Field(default_factory=dict, max_length=100)


class BundleTool(Tool):
    """A tool of the bundle's scenario and what training learned of it: so that a bundle alone
    can act, whatever became of its scenario."""

    uses: int = Field(default=0, ge=0)  # training tasks whose solution calls it
    # The terms of those tasks' requests (the learner's stems), and in how many of them.
    terms: dict[Annotated[str, Field(max_length=MAX_TERM)], Annotated[int, Field(ge=1)]] = Field(
        default_factory=dict, max_length=256
    )


class BundleConformal(Schema):
    """Where its prediction sets were fitted (trainer/model/conformal.py)."""

    coverage: float = Field(gt=0, lt=1)
    threshold: float = Field(ge=0, le=1)
    n: int = Field(ge=1)  # validation decisions it was fitted on


class BundleScope(Schema):
    """How near a request must come to its training ones to be in scope
    (trainer/model/scope.py)."""

    measure: Literal["meaning", "words"]
    threshold: float = Field(ge=-1, le=1)  # in scope at this nearness or more ...
    familiar: float = Field(ge=0, le=1)  # ... of a kind it knows at this share of words learned
    n: int = Field(default=0, ge=0)  # validation requests it was fitted on (0: the cap alone)


class Manifest(Schema):
    format: Literal["agentgym-bundle/1"] = "agentgym-bundle/1"
    scenario_id: str = Field(min_length=1, max_length=64)
    scenario_version: str = Field(min_length=1, max_length=32)
    learner: str = Field(min_length=1, max_length=64)  # names the weights' layout
    # The sentence encoder the policy reads requests with (trainer/meaning.py); None: words.
    encoder: str | None = Field(default=None, max_length=64)
    framework: Framework
    hyperparameters: BundleHyperparameters
    metrics: BundleMetrics
    created_at: str = Field(default_factory=utc_now, max_length=64)
    weights_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    weights_size: int = Field(ge=0)
    tools: list[BundleTool] = Field(default_factory=list, max_length=2000)  # [] before v2
    # Its probabilities' calibration (scores divided by it) and prediction sets, fitted on the
    # validation tasks (trainer/model/calibration.py); None: too few decisions for sets.
    temperature: float = Field(default=1.0, gt=0)
    conformal: BundleConformal | None = None
    scope: BundleScope | None = None  # None before it was kept: words, at their cap


def pack(manifest: Manifest, weights: bytes) -> bytes:
    """The bundle's bytes; `manifest`'s checksum and size must describe `weights`."""
    if manifest.weights_sha256 != hashlib.sha256(weights).hexdigest():
        raise BundleError("the manifest's weights_sha256 does not match the weights")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, data in (
            (MANIFEST, manifest.model_dump_json(indent=2).encode()),
            (WEIGHTS, weights),
        ):
            archive.writestr(zipfile.ZipInfo(name, date_time=_EPOCH), data)
    return buffer.getvalue()


def describe(weights: bytes, **fields: object) -> Manifest:
    """A manifest for `weights`, with its checksum and size filled in."""
    return Manifest.model_validate(
        {
            **fields,
            "weights_sha256": hashlib.sha256(weights).hexdigest(),
            "weights_size": len(weights),
        }
    )


def unpack(data: bytes, max_bytes: int | None = None) -> tuple[Manifest, bytes]:
    """Check a bundle and return its manifest and weights, or raise BundleError saying why.

    Nothing is inflated beyond what the archive claims or `max_bytes` allows (agentgym.unzip).
    """
    limit = max_bytes if max_bytes is not None else MAX_UNPACKED_BYTES
    if len(data) > limit:
        raise BundleError(f"the bundle is {len(data)} bytes; the limit is {limit}")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError):
        raise BundleError(f"not a model bundle: expected a ZIP archive ({SUFFIX})") from None
    with archive:
        names = archive.namelist()
        if sorted(names) != [MANIFEST, WEIGHTS]:  # a name twice is refused too
            raise BundleError(
                f"a bundle holds exactly {MANIFEST} and {WEIGHTS}; this one holds {sorted(names)}"
            )
        declared = sum(info.file_size for info in archive.infolist())
        if declared > limit:
            raise BundleError(f"the bundle unpacks to {declared} bytes; the limit is {limit}")
        manifest_bytes = read_member(
            archive, archive.getinfo(MANIFEST), MAX_MANIFEST_BYTES, MANIFEST
        )
        try:
            manifest = Manifest.model_validate_json(manifest_bytes)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'manifest'}: {e['msg']}"
                for e in exc.errors()
            )
            raise BundleError(f"the manifest is not valid: {problems}") from None
        weights = read_member(archive, archive.getinfo(WEIGHTS), limit, WEIGHTS)
    if len(weights) != manifest.weights_size:
        raise BundleError(
            f"the weights are {len(weights)} bytes; the manifest says {manifest.weights_size}"
        )
    if hashlib.sha256(weights).hexdigest() != manifest.weights_sha256:
        raise BundleError("the weights' SHA-256 does not match the manifest: the bundle is corrupt")
    return manifest, weights
