"""Redaction helpers: headers, URLs, echoed secrets."""

from asyncgroups import _redact
from asyncgroups.transport.base import Request


def test_headers_hide_credentials():
    out = _redact.headers(
        {"Authorization": "Token abc", "HTTP-X-PARTNER-AUTH": "s:k", "X": "1"}
    )
    assert out == {"Authorization": "***", "HTTP-X-PARTNER-AUTH": "***", "X": "1"}


def test_url_drops_userinfo_and_sensitive_query():
    assert (
        _redact.url("https://user:pw@h.example/p?token=abc&q=x")
        == "https://h.example/p?token=***&q=x"
    )


def test_secret_values_and_scrub():
    secrets = _redact.secret_values(
        {"Authorization": "Bearer abcdef123", "HTTP-X-PARTNER-AUTH": "acme:key-98765"}
    )
    assert {"abcdef123", "key-98765", "acme:key-98765"} <= secrets
    text = "echo: Bearer abcdef123 and acme:key-98765"
    scrubbed = _redact.scrub(text, secrets)
    assert "abcdef123" not in scrubbed
    assert "key-98765" not in scrubbed


def test_request_repr_hides_headers():
    r = Request(
        "get", "https://h/x?api_key=zzz", headers={"Authorization": "Token sekrit"}
    )
    assert r.method == "GET"
    assert "sekrit" not in repr(r)
    assert "zzz" not in repr(r)
