"""OAuth2 client credentials against Entra ID, as pure functions.

`build_token` builds ``POST {authority}/{tenant}/oauth2/v2.0/token`` (the
client secret travels in the form body only); `decipher_token` reads the
token and its lifetime or raises the matching error, with the secret scrubbed
from any detail. This code has been constructed to perform no I/O of its own.
"""

from collections.abc import Sequence
from urllib.parse import quote, urlencode

from asyncgroups import _redact, validation
from asyncgroups.backends._kit import Body, read_body
from asyncgroups.backends.graph.sansio import BACKEND
from asyncgroups.backends.status import api_error, try_json
from asyncgroups.errors import AuthenticationError, DecodeError
from asyncgroups.transport.base import Request, Response

__all__ = ["SCOPE", "build_token", "decipher_token"]

#: The client-credentials scope: every application permission granted to the app.
SCOPE = "https://graph.microsoft.com/.default"


def build_token(
    authority: str, tenant_id: str, client_id: str, client_secret: str
) -> Request:
    """``POST {authority}/{tenant}/oauth2/v2.0/token`` (client credentials grant).

    The secret travels in the form body only; the request is safe to replay.
    """
    form = urlencode(
        {
            "client_id": client_id,
            "scope": SCOPE,
            "client_secret": client_secret,
            "grant_type": "client_credentials",
        }
    )
    return Request(
        "POST",
        f"{authority}/{quote(tenant_id, safe='')}/oauth2/v2.0/token",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        },
        body=form.encode(),
        idempotent=True,
    )


def decipher_token(response: Response, secrets: Sequence[str]) -> tuple[str, float]:
    """The access token and its lifetime in seconds from a token answer.

    Args:
        response: the token endpoint's answer.
        secrets: values to scrub from any error detail (the client secret).

    Raises:
        AuthenticationError: the endpoint refused the credentials (any 4xx but 429:
            Entra answers a bad secret or an unknown tenant with 400 or 401).
        APIError: 429 or 5xx after retries.
        DecodeError: a success answer without a bearer token and lifetime.
    """
    status = response.status
    if not 200 <= status < 300:
        data = try_json(response)
        detail = ""
        if isinstance(data, dict):
            code, text = data.get("error"), data.get("error_description")
            detail = " ".join(str(p) for p in (code, text) if isinstance(p, str))
        detail = _redact.scrub(detail, secrets)
        refused = 400 <= status < 500 and status != 429
        kind = AuthenticationError if refused else None
        raise api_error(response, backend=BACKEND, detail=detail, kind=kind)
    data = read_body(response, BACKEND, Body.JSON)
    token = data.get("access_token") if isinstance(data, dict) else None
    lifetime = data.get("expires_in") if isinstance(data, dict) else None
    if isinstance(lifetime, str) and lifetime.isdigit():
        lifetime = int(lifetime)  # older endpoints send it as text
    if (
        not isinstance(token, str)
        or not token
        or validation.has_control_chars(token)
        or isinstance(lifetime, bool)
        or not isinstance(lifetime, int | float)
        or lifetime <= 0
    ):
        raise DecodeError(
            "token answer without a usable access_token and expires_in",
            backend=BACKEND,
        )
    return token, float(lifetime)
