"""Drives the unmodified ``okta`` SDK (3.x) against our Okta emulator (its own venv).

Usage: ``python okta_driver.py CONFIG_JSON``; prints a JSON report of each step.
Configured only through the SDK's public options: ``orgUrl``, ``token``,
``rateLimit.maxRetries`` and the ``OKTA_TESTING_TESTINGDISABLEHTTPSCHECK``
environment switch (the emulator speaks plain HTTP on loopback).
"""

import asyncio
import json
import os
import sys
from typing import Any

from okta.client import Client
from okta.models import AddGroupRequest, OktaUserGroupProfile
from okta.pagination import PaginationHelper


def _error(err: Any) -> dict[str, Any]:
    return {
        "status": getattr(err, "status", None),
        "code": getattr(err, "error_code", None),
        "summary": getattr(err, "error_summary", None),
    }


async def main(config: dict[str, Any]) -> list[dict[str, Any]]:
    # The documented switch for a plain-HTTP org URL (the emulator on loopback).
    os.environ["OKTA_TESTING_TESTINGDISABLEHTTPSCHECK"] = "true"
    client = Client(
        {
            "orgUrl": config["url"],
            "token": config["api_token"],
            "rateLimit": {"maxRetries": 0},
        }
    )
    report: list[dict[str, Any]] = []

    names: list[str] = []
    types: dict[str, str] = {}
    pages, after = 0, None
    while True:
        groups, resp, err = await client.list_groups(
            limit=config["page_size"], after=after
        )
        assert err is None, err
        names += [g.profile.actual_instance.name for g in groups]
        types |= {g.profile.actual_instance.name: str(g.type.value) for g in groups}
        pages += 1
        after = PaginationHelper.extract_next_cursor(resp.headers)
        if after is None:
            break
    report.append(
        {"step": "list_groups", "names": names, "pages": pages, "types": types}
    )

    ids: list[str] = []
    pages, after = 0, None
    while True:
        users, resp, err = await client.list_group_users(
            config["group_id"], limit=config["page_size"], after=after
        )
        assert err is None, err
        ids += [u.id for u in users]
        pages += 1
        after = PaginationHelper.extract_next_cursor(resp.headers)
        if after is None:
            break
    report.append({"step": "list_members", "ids": ids, "pages": pages})

    profile = OktaUserGroupProfile(name="Fidelity", description="made by the SDK")
    group, _, err = await client.add_group(AddGroupRequest(profile=profile))
    assert err is None, err
    report.append(
        {
            "step": "create",
            "id": group.id,
            "name": group.profile.actual_instance.name,
            "type": str(group.type.value),
        }
    )
    _, _, err = await client.add_group(AddGroupRequest(profile=profile))
    report.append({"step": "create_again"} | _error(err))

    for uid in config["user_ids"]:
        *_, err = await client.assign_user_to_group(group.id, uid)
        assert err is None, err
    *_, err = await client.assign_user_to_group(group.id, config["user_ids"][0])
    report.append({"step": "add_again", "ok": err is None})
    *_, err = await client.unassign_user_from_group(group.id, config["user_ids"][1])
    assert err is None, err
    *_, err = await client.unassign_user_from_group(group.id, config["user_ids"][1])
    report.append({"step": "remove_again", "ok": err is None})

    *_, err = await client.assign_user_to_group(
        config["app_group_id"], config["user_ids"][0]
    )
    report.append({"step": "app_group"} | _error(err))

    users, _, err = await client.list_group_users(group.id, limit=config["page_size"])
    assert err is None, err
    report.append({"step": "final_members", "ids": sorted(u.id for u in users)})
    return report


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(json.loads(sys.argv[1])))))  # noqa: T201
