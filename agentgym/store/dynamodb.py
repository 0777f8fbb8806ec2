"""`dynamodb://table?region=...[&endpoint_url=...]`: a DynamoDB table (created when missing).

Items: partition key `pk` = the key's first segment (`sessions`), or for a tenant's key its
tenant and kind (`tenants/acme/sessions`), so tenants spread over partitions instead of all
landing on one hot `tenants` partition; sort key `sk` = the whole key. Listing one kind
(`sessions/`, `tenants/acme/models/`) is one strongly consistent Query rather than a Scan.
(Tables written before tenants were spread keep their items under `pk = tenants`: copy them
to the new partition keys before upgrading.) Every write is a
conditional UpdateItem, which makes compare-and-set atomic. A delete leaves a tombstone
(`gone`, with the revision), so a re-created key continues from the old revision instead of
starting over and letting a stale revision match again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qs, urlsplit

from agentgym.errors import (
    ConflictError,
    InvalidURLError,
    KeyExistsError,
    KeyNotFoundError,
    StoreUnavailableError,
)
from agentgym.store.base import Entry, check_key, check_prefix, check_value

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

T = TypeVar("T")
_LIVE = "attribute_exists(sk) AND gone = :false"


TENANT_DEPTH = 3  # `tenants/<name>/<kind>`


def _depth(first_segment: str) -> int:
    return TENANT_DEPTH if first_segment == "tenants" else 1


def _partition(key: str) -> str:
    parts = key.split("/")
    return "/".join(parts[: _depth(parts[0])])


def _partition_of_prefix(prefix: str) -> str | None:
    """The one partition every key under `prefix` is in, or None when they may span several."""
    parts = prefix.split("/")
    depth = _depth(parts[0])
    return "/".join(parts[:depth]) if len(parts) > depth else None


class DynamoDBStore:
    def __init__(
        self, table: str, region: str | None = None, endpoint_url: str | None = None
    ) -> None:
        import boto3  # the `cloud` extra; imported only by those who use DynamoDB

        self.table = table
        self._client: DynamoDBClient = boto3.client(
            "dynamodb", region_name=region, endpoint_url=endpoint_url
        )
        self._table_checked = False

    @classmethod
    def from_url(cls, url: str) -> DynamoDBStore:
        parts = urlsplit(url)
        if not parts.netloc:
            raise InvalidURLError(url, "name the table: dynamodb://table?region=eu-west-1")
        query = {name: values[-1] for name, values in parse_qs(parts.query).items()}
        return cls(parts.netloc, query.get("region"), query.get("endpoint_url"))

    # --- plumbing ------------------------------------------------------------------------------

    async def _call(self, fn: Callable[[], T]) -> T:
        from botocore.exceptions import BotoCoreError, ClientError

        def call() -> T:
            if not self._table_checked:
                self._ensure_table()
            return fn()

        try:
            return await asyncio.to_thread(call)
        except ClientError as exc:
            code = exc.response["Error"]["Code"]
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            if status >= 500 or code in (
                "ProvisionedThroughputExceededException",
                "ThrottlingException",
            ):
                raise StoreUnavailableError("dynamodb", str(exc)) from exc
            raise
        except BotoCoreError as exc:  # endpoint unreachable, timeouts, credentials missing
            raise StoreUnavailableError("dynamodb", str(exc)) from exc

    def _ensure_table(self) -> None:
        """Create the table on first use when it does not exist (local runs, tests)."""
        client = self._client
        try:
            client.describe_table(TableName=self.table)
        except client.exceptions.ResourceNotFoundException:
            with contextlib.suppress(client.exceptions.ResourceInUseException):
                # Another process may create it first; either way it exists after this.
                client.create_table(
                    TableName=self.table,
                    BillingMode="PAY_PER_REQUEST",
                    AttributeDefinitions=[
                        {"AttributeName": "pk", "AttributeType": "S"},
                        {"AttributeName": "sk", "AttributeType": "S"},
                    ],
                    KeySchema=[
                        {"AttributeName": "pk", "KeyType": "HASH"},
                        {"AttributeName": "sk", "KeyType": "RANGE"},
                    ],
                )
            client.get_waiter("table_exists").wait(TableName=self.table)
        self._table_checked = True

    @staticmethod
    def _item_key(key: str) -> dict[str, Any]:
        return {"pk": {"S": _partition(key)}, "sk": {"S": key}}

    @staticmethod
    def _live_revision(item: dict[str, Any] | None) -> int | None:
        """The revision of a live item; None for no item or a tombstone."""
        if not item or item.get("gone", {}).get("BOOL", False):
            return None
        return int(item["rev"]["N"])

    def _conditional_write(
        self, key: str, update: str, condition: str, values: dict[str, Any]
    ) -> tuple[int | None, dict[str, Any] | None]:
        """One conditional UpdateItem: (new revision, None) or (None, the item that won)."""
        client = self._client
        try:
            result = client.update_item(
                TableName=self.table,
                Key=self._item_key(key),
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
                ReturnValues="UPDATED_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except client.exceptions.ConditionalCheckFailedException as exc:
            winner: dict[str, Any] = exc.response.get("Item") or {}  # type: ignore[assignment]
            return None, winner
        return int(result["Attributes"]["rev"]["N"]), None

    # --- the store -----------------------------------------------------------------------------

    async def get(self, key: str) -> Entry:
        check_key(key)
        item = (
            await self._call(
                lambda: self._client.get_item(
                    TableName=self.table, Key=self._item_key(key), ConsistentRead=True
                )
            )
        ).get("Item")
        revision = self._live_revision(item)
        if item is None or revision is None:
            raise KeyNotFoundError(key)
        return Entry(key, item["v"]["B"], revision)

    async def create(self, key: str, value: bytes) -> int:
        value = check_value(check_key(key), value)
        revision, winner = await self._call(
            lambda: self._conditional_write(
                key,
                "SET v = :v, gone = :false, rev = if_not_exists(rev, :zero) + :one",
                "attribute_not_exists(sk) OR gone = :true",
                {":v": {"B": value}, ":zero": {"N": "0"}, ":one": {"N": "1"},
                 ":true": {"BOOL": True}, ":false": {"BOOL": False}},
            )
        )  # fmt: skip
        if revision is None:
            raise KeyExistsError(key, self._live_revision(winner))
        return revision

    async def put(self, key: str, value: bytes) -> int:
        value = check_value(check_key(key), value)
        revision, _ = await self._call(
            lambda: self._conditional_write(
                key,
                "SET v = :v, gone = :false, rev = if_not_exists(rev, :zero) + :one",
                "attribute_not_exists(sk) OR attribute_exists(sk)",
                {":v": {"B": value}, ":zero": {"N": "0"}, ":one": {"N": "1"},
                 ":false": {"BOOL": False}},
            )
        )  # fmt: skip
        assert revision is not None
        return revision

    async def update(self, key: str, value: bytes, revision: int) -> int:
        value = check_value(check_key(key), value)
        new, winner = await self._call(
            lambda: self._conditional_write(
                key,
                "SET v = :v, rev = :next",
                f"{_LIVE} AND rev = :expected",
                {":v": {"B": value}, ":next": {"N": str(revision + 1)},
                 ":expected": {"N": str(revision)}, ":false": {"BOOL": False}},
            )
        )  # fmt: skip
        if new is None:
            raise ConflictError(key, revision, self._live_revision(winner))
        return new

    async def delete(self, key: str, revision: int | None = None) -> None:
        check_key(key)
        condition = _LIVE if revision is None else f"{_LIVE} AND rev = :expected"
        values: dict[str, Any] = {":true": {"BOOL": True}, ":false": {"BOOL": False},
                                  ":one": {"N": "1"}}  # fmt: skip
        if revision is not None:
            values[":expected"] = {"N": str(revision)}
        new, winner = await self._call(
            lambda: self._conditional_write(
                key, "SET gone = :true, rev = rev + :one REMOVE v", condition, values
            )
        )
        if new is None:
            current = self._live_revision(winner)
            if current is None:
                raise KeyNotFoundError(key)
            raise ConflictError(key, revision, current)

    async def list(self, prefix: str = "") -> list[Entry]:
        check_prefix(prefix)

        def query() -> list[Entry]:
            partition = _partition_of_prefix(prefix)
            if partition is not None:  # all matches share one partition
                paginator = self._client.get_paginator("query")
                pages = paginator.paginate(
                    TableName=self.table,
                    KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
                    ExpressionAttributeValues={
                        ":pk": {"S": partition},
                        ":prefix": {"S": prefix},
                    },
                    ConsistentRead=True,
                )
            else:  # the prefix may span partitions
                paginator_scan = self._client.get_paginator("scan")
                pages = paginator_scan.paginate(TableName=self.table, ConsistentRead=True)
            entries = []
            for page in pages:
                for item in page.get("Items", []):
                    key, revision = item["sk"]["S"], self._live_revision(item)
                    if revision is not None and key.startswith(prefix):
                        entries.append(Entry(key, item["v"]["B"], revision))
            return sorted(entries, key=lambda e: e.key)

        return await self._call(query)

    async def close(self) -> None:
        self._client.close()
