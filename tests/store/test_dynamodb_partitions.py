"""The DynamoDB store spreads tenants over partitions (moto over HTTP)."""

from __future__ import annotations

import boto3

from agentgym.store import open_store


async def test_each_tenant_and_kind_is_a_partition_of_its_own(
    aws_endpoint: str, unique: str
) -> None:
    store = await open_store(f"dynamodb://{unique}?region=us-east-1&endpoint_url={aws_endpoint}")
    try:
        for key in ("sessions/s0", "tenants/acme/sessions/s1", "tenants/acme/models/m1",
                    "tenants/globex/sessions/s2", "tenants/acme/settings"):  # fmt: skip
            await store.put(key, b"{}")
        client = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=aws_endpoint)
        items = client.scan(TableName=unique)["Items"]
        partitions = {item["sk"]["S"]: item["pk"]["S"] for item in items}
        assert partitions == {
            "sessions/s0": "sessions",
            "tenants/acme/sessions/s1": "tenants/acme/sessions",
            "tenants/acme/models/m1": "tenants/acme/models",
            "tenants/globex/sessions/s2": "tenants/globex/sessions",
            "tenants/acme/settings": "tenants/acme/settings",
        }
        assert [e.key for e in await store.list("tenants/acme/sessions/")] == [
            "tenants/acme/sessions/s1"
        ]
        assert sorted(e.key for e in await store.list("tenants/acme/")) == [
            "tenants/acme/models/m1", "tenants/acme/sessions/s1", "tenants/acme/settings",
        ]  # fmt: skip
        assert [e.key for e in await store.list("sessions/")] == ["sessions/s0"]
    finally:
        await store.close()
