"""The parts every backend shares, written once.

- [`Endpoint`][asyncgroups.backends._kit.Endpoint]: where requests go and the headers
  each carries (hidden in a repr); builds
  [`Request`][asyncgroups.transport.base.Request] values, and follows a paging link only
  on its own host. Pure.
- [`Body`][asyncgroups.backends._kit.Body] and
  [`read_body`][asyncgroups.backends._kit.read_body]: the one "what body do we expect"
  convention for a success answer (JSON required, JSON or nothing, ignored).
- [`Channel`][asyncgroups.backends._kit.Channel]: a session's line to its Client's
  transport, and the one error for use after the session was closed.
- [`make_strict_converter`][asyncgroups.backends._kit.make_strict_converter] and
  [`structure`][asyncgroups.backends._kit.structure]: the strict cattrs hooks (no
  coercion of numbers to text or text to numbers) and the one wrapper that turns a
  structure failure into [`DecodeError`][asyncgroups.errors.DecodeError].
- [`settle`][asyncgroups.backends._kit.settle]: run one call's requests together,
  raising the first failure once all have ended.
- [`RecordLocks`][asyncgroups.backends._kit.RecordLocks]: one lock per record, for
  read-modify-write APIs.
- [`structure_object`][asyncgroups.backends._kit.structure_object]:
  [`structure`][asyncgroups.backends._kit.structure] of what must be a JSON object;
  [`Shape`][asyncgroups.backends._kit.Shape] the same for one wire class, made once.
- Re-exported so a backend outside this package needs nothing else:
  [`refuse_unknown`][asyncgroups.backends._kit.refuse_unknown],
  [`path_id`][asyncgroups.backends._kit.path_id],
  [`int_id`][asyncgroups.backends._kit.int_id] and
  [`positive_int`][asyncgroups.backends._kit.positive_int] (checks made before any I/O,
  in `asyncgroups.backends.checks`),
  [`offset_pages`][asyncgroups.backends._kit.offset_pages] (limit/offset paging),
  [`create_reconciled`][asyncgroups.backends._kit.create_reconciled] (a create whose
  outcome is unknown), [`api_error`][asyncgroups.backends._kit.api_error] and
  [`try_json`][asyncgroups.backends._kit.try_json] (typed errors from error answers).

Only [`Channel`][asyncgroups.backends._kit.Channel] and
[`settle`][asyncgroups.backends._kit.settle] await anything (the transport they are
given, the calls they are handed).
"""

import asyncio
import contextlib
import enum
import json
import weakref
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Hashable,
    Iterable,
    Mapping,
    Sequence,
)
from typing import Any, Generic, TypeVar
from urllib.parse import quote, urlencode, urlsplit

import cattrs
from attrs import field, frozen

from asyncgroups import _redact
from asyncgroups.backends.checks import (
    PATH_CHARS,
    int_id,
    path_id,
    positive_int,
    refuse_unknown,
)
from asyncgroups.backends.paging import offset_pages
from asyncgroups.backends.reconcile import create_reconciled
from asyncgroups.backends.status import api_error, parse_json, try_json
from asyncgroups.errors import ClientClosedError, DecodeError
from asyncgroups.transport.base import AsyncTransport, Request, Response

__all__ = [
    "PATH_CHARS",
    "Body",
    "Channel",
    "Endpoint",
    "Query",
    "RecordLocks",
    "Shape",
    "api_error",
    "create_reconciled",
    "int_id",
    "make_strict_converter",
    "offset_pages",
    "path_id",
    "positive_int",
    "read_body",
    "refuse_unknown",
    "settle",
    "structure",
    "structure_object",
    "try_json",
]

T = TypeVar("T")

#: Query parameters: a mapping, or pairs in the order they are sent.
Query = Mapping[str, str] | Sequence[tuple[str, str]]

JSON_TYPE = "application/json"


@frozen
class Endpoint:
    """Where requests go and the headers every request carries.

    Attributes:
        base_url: scheme, host and any path prefix, without a trailing slash.
        headers: sent on every request, credentials included (hidden in a repr).
        media_type: ``Content-Type`` of JSON bodies and ``Accept`` of answers.
    """

    base_url: str
    headers: Mapping[str, str] = field(factory=dict, repr=_redact.headers_repr)
    media_type: str = JSON_TYPE

    def url(self, path: str, query: Query | None = None) -> str:
        """The absolute URL of ``path`` (which starts with ``/``) with ``query``."""
        if not query:
            return f"{self.base_url}{path}"
        pairs = list(query.items()) if isinstance(query, Mapping) else list(query)
        # ASCII letters and digits only (a limit, an offset): nothing to quote,
        # nor urlencode's work (0.6 against 2.1 µs for two pairs)
        text = "".join([f"{k}{v}" for k, v in pairs])
        if text.isascii() and text.isalnum():
            return f"{self.base_url}{path}?" + "&".join([f"{k}={v}" for k, v in pairs])
        return f"{self.base_url}{path}?{urlencode(pairs, quote_via=quote)}"

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Query | None = None,
        json_body: Any = None,
        idempotent: bool = False,
        family: str | None = None,
    ) -> Request:
        """A request to ``path``; ``json_body`` (if not ``None``) is sent as JSON.

        ``idempotent`` marks a write that is safe to replay (DELETE and PUT are by
        method; a POST or PATCH only when its API makes it so). ``family`` names
        the endpoint family whose rate-limit budget it spends, where the API keeps
        one per family.
        """
        headers = dict(self.headers)
        headers["Accept"] = self.media_type
        data = b""
        if json_body is not None:
            headers["Content-Type"] = self.media_type
            data = json.dumps(json_body, separators=(",", ":")).encode()
        # url(), inlined without a query: a call less a request
        url = f"{self.base_url}{path}" if not query else self.url(path, query)
        # positional: half the cost of keywords in attrs' __init__ (0.32 against
        # 0.59 µs a Request, best of 5 x 200,000 on the benchmark machine)
        return Request(method, url, headers, data, idempotent, None, family)

    def follow(
        self,
        link: str,
        *,
        backend: str,
        what: str = "next link",
        family: str | None = None,
    ) -> Request:
        """A GET of a paging link the server sent, which must stay on this host.

        Raises:
            DecodeError: the link points elsewhere (the credentials would follow it).
        """
        mine, theirs = urlsplit(self.base_url), urlsplit(link)
        if (theirs.scheme, theirs.netloc) != (mine.scheme, mine.netloc):
            raise DecodeError(
                f"{what} leaves the API host ({_redact.url(link)})", backend=backend
            )
        headers = dict(self.headers)
        headers["Accept"] = self.media_type
        return Request("GET", link, headers=headers, family=family)


class Body(enum.Enum):
    """What a success answer's body must hold."""

    #: A JSON document; an empty body is a ``DecodeError``.
    JSON = "json"
    #: A JSON document, or nothing at all (``None``), e.g. a 204.
    OPTIONAL = "optional"
    #: Ignored: the API documents no body, or one we do not use.
    NONE = "none"


def read_body(response: Response, backend: str, expect: Body = Body.JSON) -> Any:
    """The JSON of a success answer, as ``expect`` says (the one convention).

    Raises:
        DecodeError: ``expect`` is ``JSON`` (or ``OPTIONAL`` with a non-empty body)
            and the body is not JSON.
    """
    if expect is Body.NONE:
        return None
    if expect is Body.OPTIONAL and not response.body.strip():
        return None
    return parse_json(response, backend=backend)


class Channel:
    """A session's line to its Client's transport.

    The session closes it in ``aclose()``; a request sent after that raises the
    one not-open error, [`ClientClosedError`][asyncgroups.errors.ClientClosedError]. The
    transport itself belongs to the Client and is never closed here.
    """

    __slots__ = ("_backend", "_transport")

    def __init__(self, transport: AsyncTransport, backend: str) -> None:
        self._transport: AsyncTransport | None = transport
        self._backend = backend

    @property
    def closed(self) -> bool:
        """Whether the session closed this channel."""
        return self._transport is None

    def send(self, request: Request) -> Awaitable[Response]:
        """Send ``request`` through the Client's transport: its coroutine, unwrapped.

        Raises:
            ClientClosedError: the session (its Client) was closed.
        """
        transport = self._transport
        if transport is None:
            raise ClientClosedError(
                f"this {self._backend} session is closed; use an open Client"
            )
        return transport.send(request)  # no wrapping coroutine: ~0.18 µs less

    def close(self) -> None:
        """Refuse every later request (idempotent)."""
        self._transport = None


def _strict_str(value: Any, _: type) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


def _strict_int(value: Any, _: type) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an integer, got {type(value).__name__}")
    return value


def _strict_bool(value: Any, _: type) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"expected a boolean, got {type(value).__name__}")
    return value


def make_strict_converter() -> cattrs.Converter:
    """A converter that never coerces: wire rules every backend shares.

    - strings, integers and booleans must arrive as such (a number where a name
      belongs, or ``"1"`` where an id belongs, is an error, so a server change
      shows up as a ``DecodeError`` instead of silently different data);
    - detailed validation is on, so errors name the path of the bad value;
    - unknown keys are allowed (servers add fields).

    A backend's ``wire.configure_converter`` adds its own hooks on top.
    """
    conv = cattrs.Converter(detailed_validation=True, forbid_extra_keys=False)
    conv.register_structure_hook(str, _strict_str)
    conv.register_structure_hook(int, _strict_int)
    conv.register_structure_hook(bool, _strict_bool)
    return conv


def structure(
    conv: cattrs.Converter, data: Any, cls: type[T], *, backend: str, what: str
) -> T:
    """``conv.structure(data, cls)``, with any failure as a ``DecodeError``.

    Raises:
        DecodeError: ``data`` does not have the shape of ``cls``; ``details`` lists
            the paths at fault and the cattrs error is the cause.
    """
    try:
        return conv.structure(data, cls)
    except _SHAPE_ERRORS as exc:
        raise _shape_error(exc, backend, what) from exc


#: What structuring data of the wrong shape raises (cattrs and the attrs validators).
_SHAPE_ERRORS = (
    cattrs.BaseValidationError,
    TypeError,
    ValueError,
    KeyError,
    AttributeError,
)


def _shape_error(exc: Exception, backend: str, what: str) -> DecodeError:
    """The ``DecodeError`` for a failure to structure ``what``."""
    if isinstance(exc, cattrs.BaseValidationError):
        return DecodeError(
            f"unexpected {what} shape",
            backend=backend,
            details=cattrs.transform_error(exc, path=what.replace(" ", "_")),
        )
    return DecodeError(f"unexpected {what} shape: {exc}", backend=backend)


class Shape(Generic[T]):
    """``Shape(conv, cls, backend=, what=)(data)``: `structure_object`, hook taken once.

    The same checks and errors without the converter's dispatch on each call
    (0.84 against 0.64 µs a NeuroIO group, best of 5 x 200,000); the hook is
    taken from ``conv`` at the first call: register hooks before that.
    """

    __slots__ = ("_backend", "_cls", "_conv", "_hook", "_what")

    def __init__(
        self, conv: cattrs.Converter, cls: type[T], *, backend: str, what: str
    ) -> None:
        self._conv, self._cls, self._backend, self._what = conv, cls, backend, what
        self._hook: Callable[[Any, type[T]], T] | None = None

    def __call__(self, data: Any) -> T:
        """``data`` structured as the wire class, or a ``DecodeError``."""
        if not isinstance(data, dict):
            raise DecodeError(
                f"expected a JSON object for {self._what}, got {type(data).__name__}",
                backend=self._backend,
            )
        hook = self._hook
        if hook is None:
            hook = self._hook = self._conv.get_structure_hook(self._cls)
        try:
            return hook(data, self._cls)
        except _SHAPE_ERRORS as exc:
            raise _shape_error(exc, self._backend, self._what) from exc


async def settle(calls: Iterable[Awaitable[None]]) -> None:
    """Run ``calls`` together; every one runs to its end, the first failure is raised.

    For APIs that change one membership a request: the requests of one call are
    sent concurrently (the Client's limiter paces them), and none is abandoned
    half-way because another failed.
    """
    outcomes = await asyncio.gather(*calls, return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome


def structure_object(
    conv: cattrs.Converter, data: Any, cls: type[T], *, backend: str, what: str
) -> T:
    """`structure` of a JSON object: anything else is one clear ``DecodeError``.

    (cattrs would report a list or ``null`` once per field instead.)
    """
    if not isinstance(data, dict):
        raise DecodeError(
            f"expected a JSON object for {what}, got {type(data).__name__}",
            backend=backend,
        )
    return structure(conv, data, cls, backend=backend, what=what)


class RecordLocks:
    """One `asyncio.Lock` per record, for read-modify-write APIs.

    A lock lives while some coroutine holds or awaits it (weak values), so memory
    stays bounded by the records in use, not by every record ever touched.
    """

    __slots__ = ("_locks",)

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[Hashable, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    def __len__(self) -> int:
        return len(self._locks)

    @contextlib.asynccontextmanager
    async def hold(self, key: Hashable) -> AsyncIterator[None]:
        """Hold ``key``'s lock: one read-modify-write of that record at a time."""
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        async with lock:
            yield
