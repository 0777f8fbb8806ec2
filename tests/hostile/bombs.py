"""Archives that lie or inflate without bound, built by hand for the hostile-input tests.

A gigabyte of zeros deflates to about a megabyte, and it is built without compressing a
gigabyte: after a full flush deflate forgets its history, so each mebibyte of zeros
compresses to the same bytes, which are repeated.
"""

from __future__ import annotations

import hashlib
import json
import math
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

from agentgym import bundle
from agentgym.weights import FEATURES, LEARNER_NAME, MEANING_DIMENSIONS, MEANING_SLOTS

MIB = 1 << 20


@dataclass
class Member:
    name: str
    deflated: bytes  # raw deflate stream
    crc: int
    size: int  # what the archive claims it inflates to


def deflated(prefix: bytes, zero_bytes: int) -> tuple[bytes, int, int]:
    """(raw deflate stream, CRC-32, size) of `prefix` then `zero_bytes` zeros."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = compressor.compress(prefix) + compressor.flush(zlib.Z_FULL_FLUSH)
    whole, rest = divmod(zero_bytes, MIB)
    zeros = b"\0" * MIB
    segment = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    crc = zlib.crc32(prefix)
    for _ in range(whole):
        crc = zlib.crc32(zeros, crc)
    crc = zlib.crc32(zeros[:rest], crc)
    stream = head + segment * whole + compressor.compress(zeros[:rest]) + compressor.flush()
    return stream, crc, len(prefix) + zero_bytes


def zip_archive(members: list[Member]) -> bytes:
    """A ZIP whose headers say exactly what each Member claims, true or not."""
    body, directory = b"", b""
    for m in members:
        name = m.name.encode()
        fields = (20, 0, 8, 0, 0x21, m.crc, len(m.deflated), m.size, len(name), 0)
        local = struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", *fields) + name
        directory += (
            struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, *fields, 0, 0, 0, 0, len(body))
            + name
        )
        body += local + m.deflated
    end = struct.pack(
        "<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(members), len(members), len(directory),
        len(body), 0,
    )  # fmt: skip
    return body + directory + end


def manifest(weights_sha256: str, weights_size: int, **changes: object) -> bytes:
    fields: dict[str, object] = {
        "scenario_id": "customer_support",
        "scenario_version": "1",
        "learner": LEARNER_NAME,
        "framework": "LangChain",
        "hyperparameters": {"max_episodes": 200, "learning_rate": 0.001, "seed": 1},
        "metrics": {"accuracy": 50.0, "heldout_accuracy": 50.0, "avg_reward": 1.0, "episodes": 9},
        "weights_sha256": weights_sha256,
        "weights_size": weights_size,
    }
    return json.dumps(fields | changes).encode()


def lying_bundle(inflates_mib: int = 1024, claims: int = MIB // 2) -> bytes:
    """A bundle whose weights member claims `claims` bytes and inflates to `inflates_mib` MiB."""
    meta = manifest("0" * 64, claims)
    stream, _, _ = deflated(b"", inflates_mib * MIB)
    return zip_archive(
        [
            Member(bundle.MANIFEST, zlib.compress(meta)[2:-4], zlib.crc32(meta), len(meta)),
            Member(bundle.WEIGHTS, stream, 0, claims),
        ]
    )


def npy_header(shape: tuple[int, ...]) -> bytes:
    text = f"{{'descr': '<f8', 'fortran_order': False, 'shape': {shape}, }}"
    text += " " * (-(len(text) + 11) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode()


def weights_bomb(n_tools: int, inflates_mib: int = 1024) -> bytes:
    """An honest .npz (every size true, every CRC right) whose policy table is `inflates_mib`
    MiB: far more rows per feature than the scenario's tools."""
    columns = inflates_mib * MIB // (8 * FEATURES)
    assert columns != n_tools + 1
    pi_stream, pi_crc, pi_size = deflated(npy_header((FEATURES, columns)), columns * FEATURES * 8)
    v_stream, v_crc, v_size = deflated(npy_header((FEATURES,)), FEATURES * 8)
    meaning = (MEANING_SLOTS, MEANING_DIMENSIONS)
    mu_stream, mu_crc, mu_size = deflated(npy_header(meaning), math.prod(meaning) * 8)
    return zip_archive(
        [
            Member("w_pi.npy", pi_stream, pi_crc, pi_size),
            Member("w_v.npy", v_stream, v_crc, v_size),
            Member("w_mu.npy", mu_stream, mu_crc, mu_size),
        ]
    )


def bundle_of(weights: bytes, **changes: object) -> bytes:
    """A well-formed bundle around `weights` (whatever they are)."""
    meta = manifest(hashlib.sha256(weights).hexdigest(), len(weights), **changes)
    return bundle.pack(bundle.Manifest.model_validate_json(meta), weights)


async def plant(root: Path, data: bytes, model_id: str = "model_bomb") -> None:
    """A bomb as an import made before imports were checked left it, in the local stores under
    `root` (as `Services` lays them out): its bundle and its model record."""
    from agentgym.artifacts import open_artifacts
    from agentgym.records import Keys, ModelRecord
    from agentgym.store import open_store

    keys = Keys()
    record = ModelRecord(
        id=model_id, name="bomb", scenario="customer_support", framework="LangChain",
        created_at="2026-01-01T00:00:00+00:00", size_mb=1.0, session_id="",
        bundle=keys.bundle(model_id), sha256="0" * 64, learning_rate=0.001, seed=1,
    )  # fmt: skip
    store = await open_store(f"sqlite:///{root / 'agentgym.db'}")
    artifacts = open_artifacts(f"file://{root / 'artifacts'}")
    try:
        await artifacts.put(record.bundle, data)
        await store.put(keys.model(record.id), record.dump())
    finally:
        await store.close()
        await artifacts.close()
