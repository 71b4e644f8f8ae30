"""MockTransport: answer requests from a function, for unit tests of code using a Client.

In the style of httpx's ``MockTransport``: give it a handler that takes a
[`Request`][asyncgroups.transport.base.Request] and returns a
[`Response`][asyncgroups.transport.base.Response] (sync or async), and pass it as
``Client(backend, transport=MockTransport(handler))``:

    def handler(request: Request) -> Response:
        return Response(200, {"content-type": "application/json"}, b"[]", request)


    client = Client(backend, transport=MockTransport(handler))

The handler may raise a [`TransportError`][asyncgroups.errors.TransportError] to
simulate a connection failure. Every request is kept in `MockTransport.requests`.
"""

import inspect
from collections.abc import Awaitable, Callable

from asyncgroups.errors import ClientClosedError
from asyncgroups.transport.base import Request, Response

__all__ = ["MockTransport"]

Handler = Callable[[Request], Response | Awaitable[Response]]


class MockTransport:
    """A transport whose answers come from ``handler``.

    Args:
        handler: a sync or async function from a request to a response.
    """

    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        self.requests: list[Request] = []
        self.closed = False

    async def send(self, request: Request) -> Response:
        """Record ``request`` and return the handler's response.

        Raises:
            ClientClosedError: the transport was closed.
        """
        if self.closed:
            raise ClientClosedError("this transport is closed")
        self.requests.append(request)
        result = self._handler(request)
        if inspect.isawaitable(result):
            return await result
        return result

    async def aclose(self) -> None:
        """Mark the transport closed; idempotent."""
        self.closed = True
