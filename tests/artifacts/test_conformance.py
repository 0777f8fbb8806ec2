"""One suite, every artifact backend: what ArtifactStore's docstring promises, tested alike."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from agentgym.artifacts import ArtifactStore, open_artifacts
from agentgym.errors import (
    ArtifactNotFoundError,
    ArtifactUnavailableError,
    InvalidArtifactNameError,
    InvalidURLError,
)
from agentgym.nats_server import free_port

ALL_BYTES = bytes(range(256))
INVALID_NAMES = ["", "../x", "a/../b", "/abs", "a//b", "sp ace"]


async def test_put_then_get_returns_every_byte_value(artifacts: ArtifactStore) -> None:
    await artifacts.put("bundles/all.bin", ALL_BYTES * 4)
    assert await artifacts.get("bundles/all.bin") == ALL_BYTES * 4


async def test_empty_blob_is_a_blob(artifacts: ArtifactStore) -> None:
    await artifacts.put("empty", b"")
    assert await artifacts.get("empty") == b""
    assert await artifacts.size("empty") == 0
    assert await artifacts.list() == ["empty"]


async def test_put_over_an_existing_name_replaces_the_blob(artifacts: ArtifactStore) -> None:
    await artifacts.put("model.agm", b"first version, the longer one")
    await artifacts.put("model.agm", b"second")
    assert await artifacts.get("model.agm") == b"second"
    assert await artifacts.size("model.agm") == len(b"second")
    assert await artifacts.list() == ["model.agm"]


async def test_size_is_the_blob_length_in_bytes(artifacts: ArtifactStore) -> None:
    await artifacts.put("ckpt/step-1", ALL_BYTES * 3)
    assert await artifacts.size("ckpt/step-1") == 768


async def test_list_by_prefix_returns_matching_names_sorted(artifacts: ArtifactStore) -> None:
    for name in ("models/b", "models/a", "models/c/nested.agm", "logs/a", "modelsX", "z"):
        await artifacts.put(name, name.encode())
    await artifacts.delete("models/b")

    assert await artifacts.list("models/") == ["models/a", "models/c/nested.agm"]
    assert await artifacts.list("models") == ["models/a", "models/c/nested.agm", "modelsX"]
    assert await artifacts.list("models/c/nest") == ["models/c/nested.agm"]
    assert await artifacts.list() == [
        "logs/a",
        "models/a",
        "models/c/nested.agm",
        "modelsX",
        "z",
    ]
    assert await artifacts.list("nothing/") == []


async def test_list_of_an_empty_store_is_empty(artifacts: ArtifactStore) -> None:
    assert await artifacts.list() == []
    assert await artifacts.list("models/") == []


async def test_delete_then_get_raises_not_found(artifacts: ArtifactStore) -> None:
    await artifacts.put("runs/r1/ckpt", b"x")
    await artifacts.delete("runs/r1/ckpt")
    with pytest.raises(ArtifactNotFoundError) as caught:
        await artifacts.get("runs/r1/ckpt")
    assert caught.value.name == "runs/r1/ckpt"
    assert await artifacts.list() == []


async def test_delete_leaves_other_names_alone(artifacts: ArtifactStore) -> None:
    await artifacts.put("runs/r1/a", b"a")
    await artifacts.put("runs/r1/b", b"b")
    await artifacts.delete("runs/r1/a")
    assert await artifacts.list() == ["runs/r1/b"]
    await artifacts.put("runs/r1/a", b"again")
    assert await artifacts.get("runs/r1/a") == b"again"


async def test_get_of_missing_name_raises_not_found(artifacts: ArtifactStore) -> None:
    with pytest.raises(ArtifactNotFoundError) as caught:
        await artifacts.get("missing/blob")
    assert caught.value.name == "missing/blob"


async def test_size_of_missing_name_raises_not_found(artifacts: ArtifactStore) -> None:
    with pytest.raises(ArtifactNotFoundError):
        await artifacts.size("missing")


async def test_delete_of_missing_name_raises_not_found(artifacts: ArtifactStore) -> None:
    with pytest.raises(ArtifactNotFoundError):
        await artifacts.delete("missing")


async def test_a_directory_of_blobs_is_not_itself_a_blob(artifacts: ArtifactStore) -> None:
    await artifacts.put("dir/inner", b"x")
    for call in (
        lambda: artifacts.get("dir"),
        lambda: artifacts.size("dir"),
        lambda: artifacts.delete("dir"),
    ):
        with pytest.raises(ArtifactNotFoundError):
            await call()
    assert await artifacts.get("dir/inner") == b"x"


@pytest.mark.parametrize("bad_name", INVALID_NAMES)
async def test_invalid_names_are_rejected_alike(artifacts: ArtifactStore, bad_name: str) -> None:
    calls = (
        lambda: artifacts.put(bad_name, b"x"),
        lambda: artifacts.get(bad_name),
        lambda: artifacts.delete(bad_name),
        lambda: artifacts.size(bad_name),
    )
    for call in calls:
        with pytest.raises(InvalidArtifactNameError):
            await call()
    assert await artifacts.list() == []


async def test_five_megabyte_blob_round_trips(artifacts: ArtifactStore) -> None:
    blob = ALL_BYTES * (5 * 1024 * 1024 // 256)
    await artifacts.put("big/bundle.agm", blob)
    assert await artifacts.size("big/bundle.agm") == len(blob)
    assert await artifacts.get("big/bundle.agm") == blob


async def test_concurrent_puts_to_one_name_leave_exactly_one_blob_whole(
    artifacts: ArtifactStore,
) -> None:
    first, second = b"a" * 1_000_000, b"b" * 1_000_000
    await asyncio.gather(*(artifacts.put("race", (first, second)[i % 2]) for i in range(10)))
    assert await artifacts.get("race") in (first, second)
    assert await artifacts.list() == ["race"]


# --- what only one backend shows ---------------------------------------------------------------


async def test_relative_file_url_resolves_against_the_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = open_artifacts("file://rel/dir")
    try:
        await store.put("a/b", b"blob")
        monkeypatch.chdir("/")  # the root was fixed when the store was opened
        assert (tmp_path / "rel" / "dir" / "a" / "b").read_bytes() == b"blob"
        assert await store.get("a/b") == b"blob"
    finally:
        await store.close()


async def test_absolute_file_url_puts_blobs_under_that_directory(tmp_path: Path) -> None:
    store = open_artifacts(f"file://{tmp_path}/abs")
    try:
        await store.put("x/y.bin", b"blob")
        assert (tmp_path / "abs" / "x" / "y.bin").read_bytes() == b"blob"
    finally:
        await store.close()


async def test_file_list_skips_temp_files_and_delete_prunes_empty_dirs(tmp_path: Path) -> None:
    root = tmp_path / "store"
    store = open_artifacts(f"file://{root}")
    try:
        await store.put("runs/r1/ckpt", b"x")
        (root / "runs" / "r1" / ".0123abcd.~tmp").write_bytes(b"half a put")
        assert await store.list() == ["runs/r1/ckpt"]
        (root / "runs" / "r1" / ".0123abcd.~tmp").unlink()
        await store.delete("runs/r1/ckpt")
        assert list(root.iterdir()) == []
    finally:
        await store.close()


async def test_s3_objects_are_keyed_by_prefix_and_name(aws_endpoint: str, unique: str) -> None:
    import boto3

    client = boto3.client("s3", region_name="us-east-1", endpoint_url=aws_endpoint)
    prefixed = open_artifacts(f"s3://{unique}/team/runs?endpoint_url={aws_endpoint}")
    bare = open_artifacts(f"s3://{unique}?endpoint_url={aws_endpoint}")
    try:
        await prefixed.put("a/b", b"1")
        await bare.put("c", b"2")
        listed = client.list_objects_v2(Bucket=unique)
        assert sorted(o["Key"] for o in listed.get("Contents", [])) == ["c", "team/runs/a/b"]
        assert await prefixed.list() == ["a/b"]
        assert await bare.list() == ["c", "team/runs/a/b"]
    finally:
        await prefixed.close()
        await bare.close()
        client.close()


async def test_s3_bucket_is_created_in_the_urls_region(aws_endpoint: str, unique: str) -> None:
    import boto3

    store = open_artifacts(f"s3://{unique}?region=eu-west-1&endpoint_url={aws_endpoint}")
    client = boto3.client("s3", region_name="eu-west-1", endpoint_url=aws_endpoint)
    try:
        await store.put("x", b"1")
        assert client.get_bucket_location(Bucket=unique)["LocationConstraint"] == "eu-west-1"
    finally:
        await store.close()
        client.close()


async def test_unreachable_s3_endpoint_raises_unavailable(aws_endpoint: str, unique: str) -> None:
    store = open_artifacts(f"s3://{unique}?endpoint_url=http://127.0.0.1:{free_port()}")
    try:
        with pytest.raises(ArtifactUnavailableError):
            await store.get("x")
    finally:
        await store.close()


def test_unknown_scheme_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown artifact scheme; use one of file, s3"):
        open_artifacts("gs://bucket/prefix")


@pytest.mark.parametrize(
    "url",
    ["file://", "s3://", "s3://Upper_Case", "s3://bucket/a//b", "s3://bucket?colour=red"],
)
def test_unusable_urls_are_rejected(url: str) -> None:
    with pytest.raises(InvalidURLError):
        open_artifacts(url)
