"""`s3://bucket[/prefix][?region=...&endpoint_url=...]`: one S3 object per blob.

A blob named `name` is the object `prefix/name` (just `name` without a prefix). A PUT of one
object is atomic in S3 itself: a reader gets the old object or the whole new one, and of
concurrent puts the last one wins whole. S3 deletes a missing key without complaint, so
`delete` asks HEAD first to raise ArtifactNotFoundError like every other backend.

The bucket is created on first use if it does not exist. `endpoint_url` points the store at
an S3-compatible server (MinIO, moto). boto3 is the optional `agentgym[cloud]` extra, imported
only when an S3 store is opened; its blocking calls run in worker threads through one client.
Unreachable endpoints, timeouts and 5xx answers raise ArtifactUnavailableError.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, ParamSpec, TypeVar, cast
from urllib.parse import parse_qs, urlsplit

from agentgym.artifacts.base import check_name, check_prefix
from agentgym.errors import (
    ArtifactNotFoundError,
    ArtifactUnavailableError,
    InvalidArtifactNameError,
    InvalidURLError,
)

if TYPE_CHECKING:
    from botocore.exceptions import ClientError
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.literals import BucketLocationConstraintType

T = TypeVar("T")
P = ParamSpec("P")

_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_QUERY_PARAMS = ("region", "endpoint_url")
_NOT_FOUND_CODES = ("404", "NoSuchKey", "NotFound", "NoSuchBucket")
CONNECT_TIMEOUT_S = 5
READ_TIMEOUT_S = 60


def _parse_url(url: str) -> tuple[str, str, str | None, str | None]:
    """(bucket, key prefix, region, endpoint_url) of an `s3://` URL."""
    parts = urlsplit(url)
    if parts.scheme != "s3":
        raise InvalidURLError(url, "an S3 URL starts with s3://")
    bucket = parts.netloc
    if not _BUCKET.fullmatch(bucket):
        raise InvalidURLError(
            url, "the bucket is 3-63 lowercase letters, digits, '.' or '-': s3://bucket/prefix"
        )
    prefix = parts.path.strip("/")
    if prefix:
        try:
            check_name(prefix)
        except InvalidArtifactNameError as exc:
            raise InvalidURLError(url, f"bad key prefix: {exc.reason}") from exc
    query = parse_qs(parts.query, keep_blank_values=True)
    unknown = sorted(set(query) - set(_QUERY_PARAMS))
    if unknown:
        raise InvalidURLError(
            url, f"unknown parameter {unknown[0]!r}; use {' or '.join(_QUERY_PARAMS)}"
        )
    region = query.get("region", [None])[-1] or None
    endpoint_url = query.get("endpoint_url", [None])[-1] or None
    return bucket, prefix, region, endpoint_url


def _is_not_found(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code", "") in _NOT_FOUND_CODES


class S3ArtifactStore:
    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        region: str | None = None,
        endpoint_url: str | None = None,
    ) -> None:
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self._client: S3Client = boto3.client(
            "s3",
            region_name=region,
            endpoint_url=endpoint_url,
            config=Config(
                connect_timeout=CONNECT_TIMEOUT_S,
                read_timeout=READ_TIMEOUT_S,
                retries={"mode": "standard", "max_attempts": 3},
            ),
        )
        self._bucket_ready = False
        self._bucket_lock = threading.Lock()

    @classmethod
    def from_url(cls, url: str) -> S3ArtifactStore:
        bucket, prefix, region, endpoint_url = _parse_url(url)
        return cls(bucket, prefix, region=region, endpoint_url=endpoint_url)

    def _key(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name

    def _name(self, key: str) -> str:
        return key[len(self.prefix) + 1 :] if self.prefix else key

    # --- blocking parts, each run in a worker thread ------------------------------------------

    def _ensure_bucket(self) -> None:
        from botocore.exceptions import ClientError

        if self._bucket_ready:
            return
        with self._bucket_lock:
            if self._bucket_ready:
                return
            try:
                self._client.head_bucket(Bucket=self.bucket)
            except ClientError as exc:
                if not _is_not_found(exc):
                    raise
                self._create_bucket()
            self._bucket_ready = True

    def _create_bucket(self) -> None:
        from botocore.exceptions import ClientError

        region = self._client.meta.region_name
        try:
            if region in (None, "us-east-1"):
                self._client.create_bucket(Bucket=self.bucket)
            else:
                self._client.create_bucket(
                    Bucket=self.bucket,
                    CreateBucketConfiguration={
                        "LocationConstraint": cast("BucketLocationConstraintType", region)
                    },
                )
        except ClientError as exc:  # another process created it first
            if exc.response.get("Error", {}).get("Code") != "BucketAlreadyOwnedByYou":
                raise

    def _head(self, name: str) -> int:
        from botocore.exceptions import ClientError

        try:
            return self._client.head_object(Bucket=self.bucket, Key=self._key(name))[
                "ContentLength"
            ]
        except ClientError as exc:
            if _is_not_found(exc):
                raise ArtifactNotFoundError(name) from exc
            raise

    def _put(self, name: str, data: bytes) -> None:
        self._client.put_object(Bucket=self.bucket, Key=self._key(name), Body=data)

    def _get(self, name: str) -> bytes:
        from botocore.exceptions import ClientError

        try:
            answer = self._client.get_object(Bucket=self.bucket, Key=self._key(name))
        except ClientError as exc:
            if _is_not_found(exc):
                raise ArtifactNotFoundError(name) from exc
            raise
        with answer["Body"] as body:
            return body.read()

    def _delete(self, name: str) -> None:
        self._head(name)
        self._client.delete_object(Bucket=self.bucket, Key=self._key(name))

    def _list(self, prefix: str) -> list[str]:
        key_prefix = f"{self.prefix}/{prefix}" if self.prefix else prefix
        names: list[str] = []
        paginator = self._client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=key_prefix):
            for item in page.get("Contents", []):
                name = self._name(item["Key"])
                try:  # skip objects other tools put there under names no backend can hold
                    check_name(name)
                except InvalidArtifactNameError:
                    continue
                names.append(name)
        return sorted(names)

    # --- the ArtifactStore interface ----------------------------------------------------------

    async def _run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        from botocore.exceptions import (
            ClientError,
            ConnectionError,
            HTTPClientError,
            IncompleteReadError,
        )

        def call() -> T:
            self._ensure_bucket()
            return fn(*args, **kwargs)

        try:
            return await asyncio.to_thread(call)
        except (ConnectionError, HTTPClientError, IncompleteReadError) as exc:
            # unreachable endpoint, timeouts, a connection or body cut short
            raise ArtifactUnavailableError("s3", str(exc)) from exc
        except ClientError as exc:
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            if status >= 500:
                raise ArtifactUnavailableError("s3", str(exc)) from exc
            raise

    async def put(self, name: str, data: bytes) -> None:
        await self._run(self._put, check_name(name), bytes(data))

    async def get(self, name: str) -> bytes:
        return await self._run(self._get, check_name(name))

    async def size(self, name: str) -> int:
        return await self._run(self._head, check_name(name))

    async def delete(self, name: str) -> None:
        await self._run(self._delete, check_name(name))

    async def list(self, prefix: str = "") -> list[str]:
        return await self._run(self._list, check_prefix(prefix))

    async def close(self) -> None:
        await asyncio.to_thread(self._client.close)
