"""Drive the unmodified ``neuroio`` 0.1.2 client against an emulator (WIRE.md §4.2).

Run in the fidelity virtualenv: ``python neuroio_driver.py '<json config>'``. It
points the client at the emulator the documented way (patching the base-URL class
attributes), runs the scenario with ``Client`` or ``AsyncClient``, and writes one
JSON report to stdout: every step's status and body, and what each check saw.
The first ``COMPARED`` steps are the scenario our backend replays for comparison.
"""

import asyncio
import importlib
import json
import sys
from typing import Any

COMPARED = 9


def _record(name: str, response: Any) -> dict[str, Any]:
    try:
        body = response.json() if response.content else None
    except ValueError:
        body = response.text
    return {"step": name, "status": response.status_code, "body": body}


async def _call(method: Any, **kwargs: Any) -> Any:
    result = method(**kwargs)
    if asyncio.iscoroutine(result):
        result = await result
    return result


async def run(config: dict[str, Any]) -> list[dict[str, Any]]:
    """Run every step; return their records in order."""
    neuroio = importlib.import_module("neuroio")
    base = importlib.import_module("neuroio.base")
    httpx = importlib.import_module("httpx")
    base.APIBaseBase.base_url = base.IAMBaseBase.base_url = config["url"]
    cls = neuroio.AsyncClient if config["mode"] == "async" else neuroio.Client
    c = cls(api_token=config["token"])
    pids: list[str] = config["pids"]
    out: list[dict[str, Any]] = []

    async def step(label: str, client: Any, method: str, **kwargs: Any) -> Any:
        ns, _, verb = method.partition(".")
        response = await _call(getattr(getattr(client, ns), verb), **kwargs)
        out.append(_record(label, response))
        return response

    # -- the compared scenario (exactly one request each) --
    created = await step("create", c, "groups.create", name="Eng")
    gid = created.json()["id"]
    await step("get", c, "groups.get", id=gid)
    await step("update", c, "groups.update", id=gid, name="Eng2")
    await step("add", c, "groups.add", pids=pids[:100], groups_ids=[gid])
    await step(
        "persons_filtered",
        c,
        "groups.persons",
        id=gid,
        pids=pids[:3],
        limit=100,
        offset=0,
    )
    await step("persons", c, "groups.persons", id=gid, limit=100, offset=0)
    await step("remove", c, "groups.remove", pids=pids[:10], groups_ids=[gid])
    await step("list_q", c, "groups.list", q="Eng", limit=100, offset=0)
    await step("persons_after_remove", c, "groups.persons", id=gid, limit=100, offset=0)
    # -- checks only --
    await step(
        "list_filters",
        c,
        "groups.list",
        q="W",
        pids_include=[pids[0], pids[1]],
        pids_exclude=[pids[2]],
        groups_ids=config["w_ids"][:3],
        spaces_ids=[1],
        limit=20,
        offset=0,
    )
    offset, pages, count = 0, 0, None
    while count is None or offset < count:
        page = await step("walk", c, "groups.list", q="W", limit=1000, offset=offset)
        data = page.json()
        count = data["count"]
        offset += len(data["results"])
        pages += 1
        if not data["results"] or pages > 50:
            break
    out.append(
        {"step": "walk_done", "status": 0, "body": {"offset": offset, "pages": pages}}
    )
    await step("add_101", c, "groups.add", pids=pids[:101], groups_ids=[gid])
    await step("persons_after_101", c, "groups.persons", id=gid, limit=1, offset=0)
    await step(
        "overfill", c, "groups.add", pids=pids[100:120], groups_ids=[config["full_id"]]
    )
    await step("delete", c, "groups.delete", id=gid)
    await step("get_deleted", c, "groups.get", id=gid)
    await step("no_token", cls(), "groups.list")
    await step("wrong_token", cls(api_token="wrong-token"), "groups.list")
    await step("hidden_with_account", c, "groups.get", id=config["hidden_id"])
    space = cls(api_token=config["space_token"])
    await step("space_list", space, "groups.list", limit=100, offset=0)
    await step("space_get_other", space, "groups.get", id=config["full_id"])
    try:
        await step("slow", c, "groups.get", id=config["slow_id"])
    except httpx.ReadTimeout:
        out.append({"step": "slow", "status": 0, "body": "ReadTimeout"})
    return out


if __name__ == "__main__":
    report = asyncio.run(run(json.loads(sys.argv[1])))
    sys.stdout.write(json.dumps(report))
