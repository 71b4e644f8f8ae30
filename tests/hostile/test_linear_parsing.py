"""Text a server or a user hands us is scanned in linear time, within a bound.

Each input here once took seconds to hours (quadratic regular expressions on an
HTML error page and on e-mail-shaped keys). The tests assert results, not times:
pytest-timeout is the guard a quadratic scan would trip over, and
``benchmarks/event_loop_stall.py`` measures the event loop's longest stall.
"""

from typing import Any

import pytest

import asyncgroups as ag
from asyncgroups.backends import status
from asyncgroups.testing import Emulator, Fault, serve_emulator
from asyncgroups.transport.base import Request, Response
from asyncgroups.validation import check_email, is_email

MB = 1024 * 1024


def _html(body: bytes, status_code: int = 502) -> Response:
    request = Request("GET", "https://api.example.com/groups/1")
    return Response(status_code, {"content-type": "text/html"}, body, request)


@pytest.mark.parametrize(
    "body",
    [
        b"<html>" + b"<title" * (MB // 6),  # titles that never open
        b"<html><title>" + b"<" * MB,  # a title of unclosed tags
        b"<" * MB,  # tags that never close
        b"<html><title>x</title>" + b"<b>" * (MB // 3),
        b"<" + b"a" * (50 * MB),  # one tag the size of the body cap
    ],
    ids=["title-opens", "unclosed-tags-in-title", "lt-only", "many-tags", "50MB"],
)
def test_hostile_html_error_pages_are_summarised(body: bytes) -> None:
    error = status.api_error(_html(body), backend="toy")
    assert isinstance(error, ag.ServerError)
    assert len(str(error)) < 400


def test_the_title_is_found_and_tags_dropped() -> None:
    page = b"<html><head><TITLE>Bad <b>Gateway</b></TITLE></head><body>x</body>"
    assert status.fallback_detail(_html(page)) == "HTML page: Bad Gateway"


def test_only_the_head_of_a_huge_body_is_read() -> None:
    # A title beyond the scanned head is not looked for: the scan is bounded.
    page = b"<html>" + b" " * (2 * MB) + b"<title>far away</title>"
    assert "far away" not in status.fallback_detail(_html(page))


@pytest.mark.parametrize(
    "value",
    [
        "a@" + "a." * (MB // 2) + " ",
        "a@" + "a" * MB,
        "a" * MB + "@",
        "@" * MB,
        "a@b." + "@" * MB,
    ],
    ids=["dots-then-space", "no-dot", "no-domain", "ats", "ats-in-domain"],
)
def test_hostile_e_mail_shaped_keys_are_refused(value: str) -> None:
    assert not is_email(value)
    with pytest.raises(ag.InvalidInputError):
        check_email(value)


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("a@example.com", True),
        ("a.b@c.d", True),
        ("a@b.c@d.e", False),
        ("a@.com", False),
        ("a@com.", False),
        ("a@com", False),
        ("a b@example.com", False),
        ("a@exa\u2003mple.com", False),
        ("@example.com", False),
        ("a@", False),
    ],
)
def test_the_e_mail_rule_is_unchanged(value: str, ok: bool) -> None:
    assert is_email(value) is ok


async def test_a_50_mb_html_error_page_over_http_is_a_server_error() -> None:
    page = b"<html><title>" + b"<" * (50 * MB) + b"</title></html>"
    async with serve_emulator("neuroio", seed=1) as emu:
        emu.faults.add(
            Fault.status(502, body=page, headers={"Content-Type": "text/html"}),
            times=1,
        )
        backend = ag.connect(emu.name, base_url=emu.url, **emu.credentials)
        async with ag.Client(backend, retry=ag.RetryPolicy.off()) as client:
            with pytest.raises(ag.ServerError, match="HTML page"):
                await client.groups.get("1")


async def test_a_megabyte_key_is_refused_before_any_request() -> None:
    emu: Emulator[Any]
    async with serve_emulator("periscope", seed=1) as emu:
        backend = ag.connect(emu.name, base_url=emu.url, **emu.credentials)
        async with ag.Client(backend) as client:
            with pytest.raises(ag.InvalidInputError):
                await client.users.get("a@" + "a." * (MB // 2))
        assert emu.requests == []
