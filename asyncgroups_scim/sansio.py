"""SCIM 2.0 requests and responses (RFC 7644), without I/O.

Builds [`Request`][asyncgroups.transport.base.Request] values for the ``/Users``,
``/Groups``, ``/Bulk`` and ``/ServiceProviderConfig`` endpoints through the kit's
[`Endpoint`][asyncgroups.backends._kit.Endpoint] (bearer token in its headers, SCIM's
media type for bodies and ``Accept``) and deciphers responses into JSON or typed
errors. SCIM error bodies (``status``, ``scimType``, ``detail``) refine the shared
status table. This code performs no I/O of its own.
"""

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from attrs import evolve

from asyncgroups.backends._kit import (
    Body,
    Endpoint,
    Query,
    api_error,
    read_body,
    try_json,
)
from asyncgroups.config import Secret
from asyncgroups.errors import (
    DecodeError,
    RejectedRequestError,
    UnsupportedOperationError,
)
from asyncgroups.transport.base import Request, Response
from asyncgroups.validation import check_id

__all__ = [
    "BACKEND",
    "MEDIA_TYPE",
    "build_bulk",
    "build_create",
    "build_delete",
    "build_get",
    "build_list",
    "build_patch",
    "build_replace",
    "build_service_provider_config",
    "bulk_errors",
    "decipher",
    "endpoint",
    "error_of",
    "etag_of",
    "filter_any",
    "filter_eq",
    "member_add_ops",
    "member_remove_ops",
    "patch_body",
    "quote_value",
    "resource_path",
    "scim_type_of",
]

BACKEND = "scim"
#: RFC 7644 §3.1: the SCIM media type, used for bodies and Accept.
MEDIA_TYPE = "application/scim+json"
SCHEMA_PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SCHEMA_BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
SCHEMA_ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"

RESOURCES = frozenset({"Users", "Groups"})


def endpoint(base_url: str, token: Secret) -> Endpoint:
    """Where SCIM requests go: bearer auth (RFC 6750), SCIM media type.

    ``base_url`` is already checked (``asyncgroups.validation.check_base_url``).
    """
    return Endpoint(
        base_url,
        headers={"Authorization": f"Bearer {token.reveal()}"},
        media_type=MEDIA_TYPE,
    )


def resource_path(resource: str, rid: str | None = None) -> str:
    """``/Users``, ``/Groups`` or ``/Groups/{id}`` (the id percent-encoded).

    Raises:
        InvalidInputError: the id is empty or holds control characters.
    """
    if resource not in RESOURCES:
        raise ValueError(f"unknown SCIM resource {resource!r}")
    if rid is None:
        return f"/{resource}"
    check_id(rid, "id")
    return f"/{resource}/{quote(rid, safe='')}"


def _if_match(request: Request, etag: str | None) -> Request:
    if not etag:
        return request
    return evolve(request, headers={**request.headers, "If-Match": etag})


def _attributes(
    attributes: str | None, excluded_attributes: str | None
) -> dict[str, str]:
    query: dict[str, str] = {}
    if attributes:
        query["attributes"] = attributes
    if excluded_attributes:
        query["excludedAttributes"] = excluded_attributes
    return query


def build_service_provider_config(endpoint: Endpoint) -> Request:
    """``GET /ServiceProviderConfig`` (RFC 7644 §4)."""
    return endpoint.request("GET", "/ServiceProviderConfig")


def build_list(
    endpoint: Endpoint,
    resource: str,
    *,
    start_index: int,
    count: int,
    filter: str | None = None,
    attributes: str | None = None,
    excluded_attributes: str | None = None,
) -> Request:
    """``GET /Users`` or ``/Groups`` with index paging (RFC 7644 §3.4.2.4, 1-based)."""
    query: dict[str, str] = {"startIndex": str(start_index), "count": str(count)}
    if filter:
        query["filter"] = filter
    query.update(_attributes(attributes, excluded_attributes))
    return endpoint.request("GET", resource_path(resource), query=query)


def build_get(
    endpoint: Endpoint,
    resource: str,
    rid: str,
    *,
    attributes: str | None = None,
    excluded_attributes: str | None = None,
) -> Request:
    """``GET /{resource}/{id}``."""
    query: Query = _attributes(attributes, excluded_attributes)
    return endpoint.request("GET", resource_path(resource, rid), query=query)


def build_create(
    endpoint: Endpoint, resource: str, payload: Mapping[str, Any]
) -> Request:
    """``POST /{resource}``: not replayable, the backend reconciles a lost answer."""
    return endpoint.request("POST", resource_path(resource), json_body=dict(payload))


def build_replace(
    endpoint: Endpoint,
    resource: str,
    rid: str,
    payload: Mapping[str, Any],
    *,
    etag: str | None = None,
) -> Request:
    """``PUT /{resource}/{id}``, conditional on ``etag`` when given (RFC 7644 §3.14)."""
    path = resource_path(resource, rid)
    return _if_match(endpoint.request("PUT", path, json_body=dict(payload)), etag)


def patch_body(operations: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A PatchOp message (RFC 7644 §3.5.2)."""
    return {"schemas": [SCHEMA_PATCH], "Operations": list(operations)}


def build_patch(
    endpoint: Endpoint,
    resource: str,
    rid: str,
    operations: Sequence[Mapping[str, Any]],
    *,
    etag: str | None = None,
    idempotent: bool = False,
) -> Request:
    """``PATCH /{resource}/{id}`` with a PatchOp body (RFC 7644 §3.5.2).

    ``idempotent`` marks set-style operations (member add/remove) safe to re-send
    after an unknown outcome.
    """
    request = endpoint.request(
        "PATCH",
        resource_path(resource, rid),
        json_body=patch_body(operations),
        idempotent=idempotent,
    )
    return _if_match(request, etag)


def build_delete(
    endpoint: Endpoint, resource: str, rid: str, *, etag: str | None = None
) -> Request:
    """``DELETE /{resource}/{id}``."""
    return _if_match(endpoint.request("DELETE", resource_path(resource, rid)), etag)


def build_bulk(
    endpoint: Endpoint, operations: Sequence[Mapping[str, Any]], *, idempotent: bool
) -> Request:
    """``POST /Bulk`` (RFC 7644 §3.7); ``failOnErrors`` is left to the server."""
    body = {"schemas": [SCHEMA_BULK], "Operations": list(operations)}
    return endpoint.request("POST", "/Bulk", json_body=body, idempotent=idempotent)


def quote_value(value: str) -> str:
    """A filter string literal (RFC 7644 §3.4.2.2: a JSON string)."""
    return json.dumps(value)


def filter_eq(attribute: str, value: str) -> str:
    """``attribute eq "value"``."""
    return f"{attribute} eq {quote_value(value)}"


def filter_any(attribute: str, values: Iterable[str]) -> str:
    """``attribute eq "a" or attribute eq "b" ...``."""
    return " or ".join(filter_eq(attribute, v) for v in values)


def member_add_ops(keys: Sequence[str]) -> list[dict[str, Any]]:
    """One ``add`` of ``members`` carrying every key (RFC 7644 §3.5.2.1)."""
    return [{"op": "add", "path": "members", "value": [{"value": k} for k in keys]}]


def member_remove_ops(keys: Sequence[str]) -> list[dict[str, Any]]:
    """One ``remove`` per key, by value filter (RFC 7644 §3.5.2.2)."""
    return [{"op": "remove", "path": f"members[{filter_eq('value', k)}]"} for k in keys]


def etag_of(response: Response, body: Any = None) -> str | None:
    """The resource version: the ``ETag`` header, else ``meta.version``."""
    tag = response.header("etag")
    if tag:
        return tag
    if isinstance(body, Mapping):
        meta = body.get("meta")
        if isinstance(meta, Mapping) and isinstance(meta.get("version"), str):
            return str(meta["version"])
    return None


def scim_type_of(exc: BaseException) -> str | None:
    """The ``scimType`` a `RejectedRequestError` carried, if any."""
    if isinstance(exc, RejectedRequestError):
        for key in exc.errors:
            return key
    return None


def _error_fields(body: Any) -> tuple[str, str | None]:
    if not isinstance(body, Mapping):
        return "", None
    detail = body.get("detail")
    scim_type = body.get("scimType")
    text = detail if isinstance(detail, str) else ""
    kind = scim_type if isinstance(scim_type, str) and scim_type else None
    return text, kind


def decipher(response: Response) -> Any:
    """The JSON of a success response (``None`` for 204), or the typed error.

    Raises:
        APIError: an error status; the class follows the status, the message carries
            the SCIM ``scimType`` and ``detail``.
        UnsupportedOperationError: 501, the server does not implement the feature.
        DecodeError: a success status whose body is not JSON.
    """
    if 200 <= response.status < 300:
        if response.status == 204:
            return None
        return read_body(response, BACKEND, Body.OPTIONAL)
    raise error_of(response)


def bulk_errors(response: Response, data: Any) -> list[Exception]:
    """The typed errors of the failed operations of a BulkResponse (RFC 7644 §3.7.3).

    Raises:
        DecodeError: the body is not a BulkResponse.
    """
    operations = data.get("Operations") if isinstance(data, Mapping) else None
    if not isinstance(operations, list):
        raise DecodeError("BulkResponse without Operations", backend=BACKEND)
    failed: list[Exception] = []
    for op in operations:
        code = op.get("status") if isinstance(op, Mapping) else None
        try:
            number = int(code)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise DecodeError(
                "bulk operation without a status", backend=BACKEND
            ) from None
        if number >= 300:
            body = json.dumps(op.get("response") or {}).encode()
            failed.append(error_of(evolve(response, status=number, body=body)))
    return failed


def error_of(response: Response) -> Exception:
    """The exception for an error response, from its SCIM error body."""
    detail, scim_type = _error_fields(try_json(response))
    if scim_type:
        detail = f"{scim_type}: {detail}" if detail else scim_type
    if response.status == 501:
        # Not an APIError: the server lacks a feature. The shared builder still
        # scrubs echoed credentials from the detail and redacts the URL.
        base = api_error(response, backend=BACKEND, detail=detail or "not implemented")
        return UnsupportedOperationError(
            f"[{BACKEND}] 501 {base.method} {base.url}: {base.detail}"
        )
    errors = {scim_type: [detail]} if scim_type else None
    return api_error(response, backend=BACKEND, detail=detail, errors=errors)
