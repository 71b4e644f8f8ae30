"""Input checks and JSON decoding: the fast all-clear paths agree with the exact rules."""

import json

import pytest

import asyncgroups as ag
from asyncgroups.backends.status import parse_json
from asyncgroups.transport.base import Request, Response
from asyncgroups.validation import check_credential, check_id, has_control_chars


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Engineering", False),
        ("Ingeniería \u2013 Zürich 東京", False),
        ("no\u00a0break space", False),  # not printable, yet no control character
        ("line\u2028separator", False),
        ("tab\there", True),
        ("cr\rlf\n", True),
        ("nul\x00", True),
        ("del\x7f", True),
        ("\x1b[31m", True),
    ],
)
def test_control_characters(value: str, expected: bool) -> None:
    assert has_control_chars(value) is expected


@pytest.mark.parametrize("value", ["", " ", "\t\n", "\u3000"])
def test_blank_ids_are_refused(value: str) -> None:
    with pytest.raises(ag.InvalidInputError, match="must not be empty"):
        check_id(value)


def _response(body: bytes) -> Response:
    return Response(200, {}, body, Request("GET", "https://api.example/x"))


@pytest.mark.parametrize(
    "body",
    [
        json.dumps({"name": "Zürich"}).encode(),
        json.dumps({"name": "Zürich"}, ensure_ascii=False).encode(),
        b"\xef\xbb\xbf" + json.dumps({"name": "Zürich"}).encode(),  # UTF-8 BOM
        json.dumps({"name": "Zürich"}).encode("utf-16"),
    ],
)
def test_json_bodies_in_any_unicode_encoding_decode(body: bytes) -> None:
    assert parse_json(_response(body), backend="t") == {"name": "Zürich"}


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (b"{not json", "malformed JSON"),
        (b"\xff\xfe\xfa", "malformed JSON"),
        (b"<html>502</html>", "an HTML page"),
    ],
)
def test_bad_bodies_are_decode_errors(body: bytes, kind: str) -> None:
    with pytest.raises(ag.DecodeError, match=kind):
        parse_json(_response(body), backend="t")


def test_a_credential_is_kept_as_a_secret() -> None:
    secret = check_credential("s3cret-value", "token")
    assert isinstance(secret, ag.Secret)
    assert secret.reveal() == "s3cret-value"
    assert check_credential(ag.Secret("given"), "api_token").reveal() == "given"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "token must be a string"),
        (b"bytes", "token must be a string"),
        ("", "token must be a non-empty string"),
        (ag.Secret(""), "token must be a non-empty string"),
        ("s3cret\r\nX-Injected: 1", "token must not contain CR, LF or control"),
    ],
)
def test_bad_credentials_are_refused_without_showing_them(
    value: object, message: str
) -> None:
    with pytest.raises(ag.ConfigurationError, match=message) as info:
        check_credential(value, "token")
    assert "s3cret" not in str(info.value)
