"""Errors of the shared core. Each carries the data a caller needs to act on it.

They are mapped to HTTP status codes at the edge (functions/), never here.
"""

from __future__ import annotations


class AgentGymError(Exception):
    """Base of every error the core raises on purpose."""


class InvalidURLError(AgentGymError, ValueError):
    """A backend URL (store, artifacts, NATS) that cannot be used."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"invalid URL {url!r}: {reason}")


# --- key-value store --------------------------------------------------------------------------


class StoreError(AgentGymError):
    """Base of the key-value store's errors."""


class InvalidKeyError(StoreError, ValueError):
    """A key that no backend can hold; every backend rejects the same keys alike."""

    def __init__(self, key: str, reason: str) -> None:
        self.key = key
        self.reason = reason
        super().__init__(f"invalid key {key!r}: {reason}")


class ValueTooLargeError(StoreError, ValueError):
    """A value over the size every backend can hold."""

    def __init__(self, key: str, size: int, limit: int) -> None:
        self.key = key
        self.size = size
        self.limit = limit
        super().__init__(f"value for {key!r} is {size} bytes; the limit is {limit}")


class KeyNotFoundError(StoreError, KeyError):
    """The key has no value (never written, or deleted)."""

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(key)

    def __str__(self) -> str:
        return f"no value for key {self.key!r}"


class ConflictError(StoreError):
    """A compare-and-set lost: the key's revision is not the one expected.

    `expected` is the revision the caller named (None: "absent"); `actual` is the
    revision found (None: the key is absent).
    """

    def __init__(self, key: str, expected: int | None, actual: int | None) -> None:
        self.key = key
        self.expected = expected
        self.actual = actual
        want = "absent" if expected is None else f"revision {expected}"
        have = "absent" if actual is None else f"at revision {actual}"
        super().__init__(f"conflict on {key!r}: expected {want}, but it is {have}")


class KeyExistsError(ConflictError):
    """`create` of a key that already has a value."""

    def __init__(self, key: str, actual: int | None) -> None:
        super().__init__(key, None, actual)


class CorruptRecordError(StoreError):
    """A stored value that cannot be read as its record, even with damaged fields reset."""

    def __init__(self, kind: str, problems: str) -> None:
        self.kind = kind
        self.problems = problems
        super().__init__(
            f"the stored {kind} is damaged ({problems}); delete it and create it again"
        )


class TooManyWritersError(StoreError):
    """A compare-and-set that kept losing: other writers changed the key before each of
    `attempts` tries over `waited_s` seconds. Nothing was written; the request may be retried."""

    def __init__(self, key: str, attempts: int, waited_s: float) -> None:
        self.key = key
        self.attempts = attempts
        self.waited_s = waited_s
        super().__init__(
            f"too many concurrent writers on {key!r}: gave up after {attempts} "
            f"compare-and-set conflicts in {waited_s:.1f}s, nothing was written"
        )


class StoreUnavailableError(StoreError):
    """The backend cannot be reached or did not answer; the request may be retried."""

    def __init__(self, backend: str, reason: str) -> None:
        self.backend = backend
        self.reason = reason
        super().__init__(f"{backend} store unavailable: {reason}")


class BundleError(AgentGymError, ValueError):
    """A file that is not a usable model bundle; the message says what is wrong with it."""


# --- aliases ----------------------------------------------------------------------------------


class AliasError(AgentGymError):
    """Base of the errors of aliases (agentgym/aliases.py)."""


class InvalidAliasNameError(AliasError, ValueError):
    def __init__(self, name: str, rule: str) -> None:
        self.name = name
        self.rule = rule
        super().__init__(f"alias name {name!r} is not valid: {rule}")


class AliasNotFoundError(AliasError, LookupError):
    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"alias {name!r} not found; PUT /api/aliases/{name} creates it")


class AliasTargetMissingError(AliasError):
    """An alias may only name a model its tenant has."""

    def __init__(self, name: str, model_id: str) -> None:
        self.name = name
        self.model_id = model_id
        super().__init__(
            f"alias {name!r} cannot name model {model_id!r}: no such model "
            "(GET /api/models lists them)"
        )


class NoEarlierModelError(AliasError):
    """A rollback of an alias whose history holds no other model to go back to."""

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason
        super().__init__(f"alias {name!r} cannot be rolled back: {reason}")


class AliasMovedError(AliasError):
    """A move conditional on the alias's `expected` version lost: someone moved it first (to
    `model_id`, by `by`). Nothing was written."""

    def __init__(
        self, name: str, expected: int, actual: int, model_id: str | None, by: str | None
    ) -> None:
        self.name, self.expected, self.actual = name, expected, actual
        self.model_id, self.by = model_id, by
        now = "deleted" if model_id is None else f"now names {model_id!r} (set by {by})"
        super().__init__(
            f"alias {name!r} was moved since version {expected}: it is at version {actual} and "
            f"{now}; nothing was changed: read it again and decide anew"
        )


class ModelNotFoundError(AgentGymError, LookupError):
    """No model of that id, nor alias of that name (`via`: the alias that named the id)."""

    def __init__(self, model_id: str, via: str | None = None) -> None:
        self.model_id = model_id
        self.via = via
        where = "" if via is None else f" (named by alias {via!r})"
        super().__init__(f"model {model_id!r}{where} not found")


class ModelAliasedError(AliasError):
    """A model an alias names cannot be deleted."""

    def __init__(self, model_id: str, aliases: list[str]) -> None:
        self.model_id = model_id
        self.aliases = aliases
        one = len(aliases) == 1
        named = ("alias " if one else "aliases ") + ", ".join(map(repr, aliases))
        super().__init__(
            f"model {model_id!r} is named by {named}: point {'it' if one else 'each'} at another "
            "model (PUT /api/aliases/NAME) or delete it first"
        )


# --- bus ---------------------------------------------------------------------------------------


class TrainerRefusedError(AgentGymError):
    """A trainer answered a request with a refusal: `status` is the HTTP status the API
    gives it (a 4xx: the request cannot be answered as it is; 500: the trainer failed)."""

    def __init__(self, status: int, reason: str) -> None:
        self.status = status
        self.reason = reason
        super().__init__(reason)


class BusUnavailableError(AgentGymError):
    """NATS cannot be reached or did not answer; the request may be retried."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"message bus unavailable: {reason}")


class BusGaveUpError(BusUnavailableError):
    """NATS did not answer about `subject` for as long as a caller keeps trying (`attempts`
    tries over `waited_s` seconds); `last` names the last error it gave."""

    def __init__(self, subject: str, attempts: int, waited_s: float, last: str) -> None:
        self.subject = subject
        self.attempts = attempts
        self.waited_s = waited_s
        self.last = last
        super().__init__(
            f"{subject}: no answer from NATS after {attempts} attempts in {waited_s:.1f}s "
            f"(last: {last}); gave up"
        )


# --- artifact store ---------------------------------------------------------------------------


class ArtifactError(AgentGymError):
    """Base of the artifact store's errors."""


class InvalidArtifactNameError(ArtifactError, ValueError):
    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason
        super().__init__(f"invalid artifact name {name!r}: {reason}")


class ArtifactNotFoundError(ArtifactError, KeyError):
    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(name)

    def __str__(self) -> str:
        return f"no artifact named {self.name!r}"


class ArtifactUnavailableError(ArtifactError):
    """The artifact backend cannot be reached or did not answer."""

    def __init__(self, backend: str, reason: str) -> None:
        self.backend = backend
        self.reason = reason
        super().__init__(f"{backend} artifact store unavailable: {reason}")


class ScenarioGoneError(AgentGymError, LookupError):
    """A session's or model's scenario version is no longer stored (the scenario was deleted)."""

    def __init__(self, scenario_id: str, version: str | None) -> None:
        self.scenario_id, self.version = scenario_id, version
        super().__init__(
            f"scenario {scenario_id!r} version {version!r} is no longer stored (was the scenario "
            "deleted?); push it again to train or evaluate on it"
        )
