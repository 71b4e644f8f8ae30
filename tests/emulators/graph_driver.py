"""Drives the unmodified ``msgraph-sdk`` against our Graph emulator (run in its own venv).

Usage: ``python graph_driver.py CONFIG_JSON``; prints a JSON report of each step.
Configured only through the SDK's public options: a credential object and the
request adapter's base URL.
"""

import asyncio
import json
import sys
import time
from typing import Any

import httpx
from azure.core.credentials import AccessToken
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph import GraphServiceClient
from msgraph.generated.groups.groups_request_builder import GroupsRequestBuilder
from msgraph.generated.groups.item.members.members_request_builder import (
    MembersRequestBuilder,
)
from msgraph.generated.models.group import Group
from msgraph.generated.models.reference_create import ReferenceCreate
from msgraph_core.requests.batch_request_content import BatchRequestContent
from msgraph_core.requests.batch_request_item import BatchRequestItem


class EmulatorCredential:
    """An async TokenCredential: client credentials against the emulator's token URL."""

    def __init__(
        self, authority: str, tenant: str, client_id: str, secret: str
    ) -> None:
        self.url = f"{authority}/{tenant}/oauth2/v2.0/token"
        self.client_id, self.secret = client_id, secret
        self.cached: AccessToken | None = None

    async def get_token(self, *scopes: str, **_: Any) -> AccessToken:
        # Cached until shortly before expiry, as azure-identity's credentials do.
        if self.cached is not None and self.cached.expires_on > time.time() + 300:
            return self.cached
        async with httpx.AsyncClient() as http:
            answer = await http.post(
                self.url,
                data={
                    "client_id": self.client_id,
                    "scope": " ".join(scopes),
                    "client_secret": self.secret,
                    "grant_type": "client_credentials",
                },
            )
        answer.raise_for_status()
        data = answer.json()
        self.cached = AccessToken(
            data["access_token"], int(time.time()) + data["expires_in"]
        )
        return self.cached

    async def close(self) -> None:
        return None


async def main(config: dict[str, Any]) -> list[dict[str, Any]]:
    credential = EmulatorCredential(
        config["url"], config["tenant_id"], config["client_id"], config["client_secret"]
    )
    client = GraphServiceClient(
        credentials=credential, scopes=["https://graph.microsoft.com/.default"]
    )
    client.request_adapter.base_url = config["url"]
    report: list[dict[str, Any]] = []

    def step(name: str, **data: Any) -> None:
        report.append({"step": name, **data})

    # 1. groups, paged by 5
    groups_query = GroupsRequestBuilder.GroupsRequestBuilderGetQueryParameters(top=5)
    page = await client.groups.get(RequestConfiguration(query_parameters=groups_query))
    names: list[str] = []
    pages = 0
    while page is not None:
        pages += 1
        names += [g.display_name for g in page.value or []]
        if not page.odata_next_link:
            break
        page = await client.groups.with_url(page.odata_next_link).get()
    step("list_groups", names=names, pages=pages)

    # 2. members of a group, paged by 5
    gid = config["group_id"]
    members_query = MembersRequestBuilder.MembersRequestBuilderGetQueryParameters(top=5)
    members = client.groups.by_group_id(gid).members
    page_m = await members.get(RequestConfiguration(query_parameters=members_query))
    ids: list[str] = []
    pages = 0
    while page_m is not None:
        pages += 1
        ids += [m.id for m in page_m.value or []]
        if not page_m.odata_next_link:
            break
        page_m = await members.with_url(page_m.odata_next_link).get()
    step("list_members", ids=ids, pages=pages)

    # 3. create a group
    created = await client.groups.post(
        Group(
            display_name="Fidelity",
            mail_enabled=False,
            mail_nickname="fidelity",
            security_enabled=True,
        )
    )
    assert created is not None
    assert created.id
    new = created.id
    step("create", id=new, display_name=created.display_name)

    users = config["user_ids"]
    base = f"{config['url']}/directoryObjects/"  # the API root, as ours
    # 4. add one member by $ref
    await client.groups.by_group_id(new).members.ref.post(
        ReferenceCreate(odata_id=base + users[0])
    )
    step("add_ref")
    # 5. add members by members@odata.bind
    await client.groups.by_group_id(new).patch(
        Group(additional_data={"members@odata.bind": [base + u for u in users[1:4]]})
    )
    step("add_bind")
    # 6. adding an existing member again: Graph's 400
    try:
        await client.groups.by_group_id(new).members.ref.post(
            ReferenceCreate(odata_id=base + users[0])
        )
        step("add_again", error=None)
    except Exception as exc:  # the SDK's ODataError
        error = getattr(exc, "error", None)
        step(
            "add_again",
            status=getattr(exc, "response_status_code", None),
            code=getattr(error, "code", None),
            message=getattr(error, "message", None),
        )
    # 7. remove one
    await (
        client.groups.by_group_id(new)
        .members.by_directory_object_id(users[1])
        .ref.delete()
    )
    step("remove")
    # 8. a $batch: read the group and remove another member
    batch = BatchRequestContent()
    get_item = BatchRequestItem(
        request_information=client.groups.by_group_id(new).to_get_request_information(),
        id="1",
    )
    delete_item = BatchRequestItem(
        request_information=client.groups.by_group_id(new)
        .members.by_directory_object_id(users[2])
        .ref.to_delete_request_information(),
        id="2",
    )
    batch.add_request(get_item.id, get_item)
    batch.add_request(delete_item.id, delete_item)
    answer = await client.batch.post(batch_request_content=batch)
    statuses = {
        ("get" if rid == get_item.id else "delete"): r.status
        for rid, r in (answer.responses or {}).items()
    }
    step("batch", statuses=statuses)
    # 9. what the group holds now
    final = await client.groups.by_group_id(new).members.get()
    step("final_members", ids=sorted(m.id for m in (final.value or [])))
    return report


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(json.loads(sys.argv[1])))))  # noqa: T201
