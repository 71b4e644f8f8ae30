"""The OAuth2 client-credentials token of one Graph session: fetched, cached, renewed.

`TokenProvider` holds the bearer token in a [`Secret`][asyncgroups.config.Secret],
fetches it through the session's own transport (so it is paced, retried and counted
like any request), keeps it until shortly before it expires, and renews it once
when the API says it is no longer valid. Every fetch happens under one lock: however
many callers find the token stale at once, one token request is sent. The token
never appears in a repr, log line or message.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable

from asyncgroups.config import Secret

__all__ = ["TokenProvider"]

#: Renew this long before expiry (or at a tenth of a short lifetime).
MARGIN = 300.0


class TokenProvider:
    """A cached bearer token for one session.

    Args:
        fetch: sends the token request; returns the token and its lifetime (s).
        clock: monotonic seconds (injectable for tests).
    """

    __slots__ = ("_clock", "_expires", "_fetch", "_fetches", "_lock", "_token")

    def __init__(
        self,
        fetch: Callable[[], Awaitable[tuple[str, float]]],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._clock = clock
        self._lock = asyncio.Lock()
        self._token: Secret | None = None
        self._expires = 0.0
        self._fetches = 0

    def __repr__(self) -> str:
        state = "none" if self._token is None else "Secret('***')"
        return f"<TokenProvider token={state} fetches={self._fetches}>"

    @property
    def fetches(self) -> int:
        """Token requests this provider has made (sent, successful or not)."""
        return self._fetches

    def _fresh(self) -> Secret | None:
        if self._token is not None and self._clock() < self._expires:
            return self._token
        return None

    async def token(self) -> Secret:
        """The current token, fetched first if there is none or it is about to expire.

        Raises:
            AuthenticationError: the token endpoint refused the credentials.
            APIError | TransportError: the token endpoint could not be reached.
        """
        fresh = self._fresh()
        if fresh is not None:
            return fresh
        async with self._lock:
            fresh = self._fresh()
            if fresh is not None:
                return fresh
            return await self._renew()

    async def refresh(self, stale: Secret) -> Secret:
        """A new token after the API refused ``stale``; one fetch for every caller.

        A caller whose ``stale`` token was already replaced gets the replacement
        without a request.
        """
        async with self._lock:
            if self._token is not None and self._token != stale:
                return self._token
            return await self._renew()

    async def _renew(self) -> Secret:
        self._token = None
        self._fetches += 1
        started = self._clock()
        value, lifetime = await self._fetch()
        token = Secret(value)
        self._token = token
        self._expires = started + lifetime - min(MARGIN, lifetime / 10)
        return token
