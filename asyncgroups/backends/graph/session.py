"""One Microsoft Graph backend bound to one Client: groups, users, members, $batch.

Thin glue: `sansio` builds requests and deciphers answers, `wire`
structures JSON into models, `TokenProvider` keeps the bearer token
and `Batcher` packs membership changes into ``$batch`` requests.
Every request, the token request included, goes through the Client's transport.
"""

import secrets
import time
from collections.abc import AsyncIterator, Callable, Hashable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import evolve

from asyncgroups.backends._kit import Body, Channel, Endpoint, refuse_unknown, settle
from asyncgroups.backends.base import (
    BackendSession,
    GroupCreator,
    GroupDeleter,
    GroupUpdater,
    MemberAdder,
    MemberRemover,
    UserLister,
    UserReader,
)
from asyncgroups.backends.graph import changes, oauth, sansio, wire
from asyncgroups.backends.graph.auth import TokenProvider
from asyncgroups.backends.graph.batching import Batcher
from asyncgroups.backends.graph.changes import SubRequest, SubResponse
from asyncgroups.backends.paging import cursor_pages
from asyncgroups.backends.reconcile import create_reconciled
from asyncgroups.config import Secret
from asyncgroups.models import Group, Member, User
from asyncgroups.transport.base import Request, Response

__all__ = ["GraphSession"]

T = TypeVar("T")

#: Group fields beyond name and description that ``extra=`` may set.
CREATE_FIELDS = (
    "mailNickname",
    "mailEnabled",
    "securityEnabled",
    "groupTypes",
    "visibility",
)
UPDATE_FIELDS = ("mailNickname", "visibility")


def _authorised(request: Request, token: Secret) -> Request:
    headers = dict(request.headers)
    headers["Authorization"] = f"Bearer {token.reveal()}"
    return evolve(request, headers=headers)


class GraphSession:
    """Microsoft Graph bound to one Client's transport (``client.session``).

    Args:
        channel: the line to the Client's transport.
        endpoint: the Graph host (no credentials: the bearer token is added per
            request).
        token_request: builds the client-credentials token request.
        secrets: values never to show in an error (the client secret).
        page_size: ``$top`` asked for on listings.
        clock: monotonic seconds for the token's expiry.
        batch_attempts: times a sub-request answered 429/503/504 inside a
            ``$batch`` is sent.
    """

    def __init__(
        self,
        channel: Channel,
        endpoint: Endpoint,
        token_request: Callable[[], Request],
        secrets: Sequence[str],
        *,
        page_size: int,
        clock: Callable[[], float] = time.monotonic,
        batch_attempts: int = 6,
    ) -> None:
        self._channel = channel
        self._endpoint = endpoint
        self._token_request = token_request
        self._secrets = tuple(secrets)
        self._page_size = page_size
        self.tokens = TokenProvider(self._fetch_token, clock=clock)
        self.batcher = Batcher(self._send_one, self._send_many, attempts=batch_attempts)

    def __repr__(self) -> str:
        state = "closed" if self._channel.closed else "open"
        return f"<GraphSession base_url={self._endpoint.base_url!r} {state}>"

    # plumbing

    async def _fetch_token(self) -> tuple[str, float]:
        response = await self._channel.send(self._token_request())
        return oauth.decipher_token(response, self._secrets)

    async def _send(self, request: Request) -> Response:
        """Send with the bearer token; renew it once if the API refuses it."""
        token = await self.tokens.token()
        response = await self._channel.send(_authorised(request, token))
        if sansio.is_expired_token(response):
            token = await self.tokens.refresh(token)
            response = await self._channel.send(_authorised(request, token))
        return response

    async def _call(self, request: Request, expect: Body = Body.JSON) -> Any:
        return sansio.decipher(await self._send(request), expect)

    async def _send_one(self, sub: SubRequest) -> SubResponse:
        return changes.sub_response(await self._send(sub.request(self._endpoint)))

    async def _send_many(self, subs: Sequence[SubRequest]) -> list[SubResponse]:
        data = await self._call(changes.build_batch(self._endpoint, subs))
        return changes.parse_batch(data, len(subs))

    def _raise_for(self, answer: SubResponse, sub: SubRequest) -> None:
        if not 200 <= answer.status < 300:
            request = sub.request(self._endpoint)
            sansio.decipher(changes.as_response(answer, request), Body.NONE)

    def check_group_id(self, group_id: str) -> None:
        """Refuse an id that can never name a Graph object, before any I/O.

        Raises:
            InvalidInputError: the id holds path, query or space characters.
        """
        sansio.check_id(group_id, "group id")

    async def aclose(self) -> None:
        """Refuse every later request (idempotent); the transport is the Client's."""
        self._channel.close()
        await self.batcher.aclose()

    # groups

    async def create_group(
        self, name: str, *, description: str | None = None, **extra: object
    ) -> Group:
        """Create a security group; an ambiguous attempt is reconciled, never doubled.

        Every new group gets a unique ``mailNickname`` (its name's safe characters
        and a random suffix, unless ``mailNickname`` is given): a create whose
        answer was lost is found again by it.

        Args:
            name: the display name.
            description: the description.
            extra: ``mailNickname``, ``mailEnabled``, ``securityEnabled``,
                ``groupTypes``, ``visibility``.

        Raises:
            InvalidInputError: an unknown field.
            APIError: the server refused.
        """
        refuse_unknown(extra, CREATE_FIELDS, backend="graph", what="group")
        fields = dict(extra)
        nickname = fields.get("mailNickname")
        if not isinstance(nickname, str):
            nickname = sansio.mail_nickname(name, secrets.token_hex(4))
            fields["mailNickname"] = nickname
        request = sansio.build_create_group(self._endpoint, name, description, fields)

        async def send() -> Group:
            return wire.structure_group(await self._call(request))

        async def find() -> Group | None:
            data = await self._call(
                sansio.build_find_nickname(self._endpoint, nickname)
            )
            groups, _ = wire.structure_group_page(data)
            return groups[0] if groups else None

        return await create_reconciled(send, find)

    async def get_group(self, group_id: str) -> Group:
        """Fetch one group.

        Raises:
            NotFoundError: no such group (a malformed GUID included).
        """
        data = await self._call(sansio.build_get_group(self._endpoint, group_id))
        return wire.structure_group(data)

    async def update_group(
        self,
        group_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        **extra: object,
    ) -> Group:
        """Change a group's fields (``None`` leaves one as it is); then read it back.

        Raises:
            InvalidInputError: an unknown field.
            NotFoundError: no such group.
        """
        refuse_unknown(extra, UPDATE_FIELDS, backend="graph", what="group")
        fields: dict[str, Any] = dict(extra)
        if name is not None:
            fields["displayName"] = name
        if description is not None:
            fields["description"] = description
        if fields:
            request = sansio.build_update_group(self._endpoint, group_id, fields)
            await self._call(request, Body.NONE)
        return await self.get_group(group_id)

    async def delete_group(self, group_id: str) -> None:
        """Delete a group (answered 204).

        Raises:
            NotFoundError: no such group.
        """
        request = sansio.build_delete_group(self._endpoint, group_id)
        await self._call(request, Body.NONE)

    async def _walk(
        self,
        first: Request,
        structure: Callable[[Any], tuple[list[T], str | None]],
        key: Callable[[T], Hashable],
    ) -> AsyncIterator[T]:
        """Every item of a listing: ``first``, then each ``@odata.nextLink``."""

        async def page(link: str | None) -> tuple[list[T], str | None]:
            request = first if link is None else sansio.build_next(self._endpoint, link)
            return structure(await self._call(request))

        async for item in cursor_pages(page, backend=sansio.BACKEND, key=key):
            yield item

    async def iter_groups(self, query: str | None = None) -> AsyncIterator[Group]:
        """Iterate over groups (``@odata.nextLink`` paging); names starting with ``query``."""
        first = sansio.build_list_groups(self._endpoint, query, self._page_size)
        async for group in self._walk(first, wire.structure_group_page, _id):
            yield group

    # users

    async def get_user(self, user_id: str) -> User:
        """Fetch one user.

        Raises:
            NotFoundError: no such user.
        """
        data = await self._call(sansio.build_get_user(self._endpoint, user_id))
        return wire.structure_user(data)

    async def iter_users(self, query: str | None = None) -> AsyncIterator[User]:
        """Iterate over users; display names starting with ``query`` if given."""
        first = sansio.build_list_users(self._endpoint, query, self._page_size)
        async for user in self._walk(first, wire.structure_user_page, _id):
            yield user

    # members

    async def iter_members(self, group_id: str) -> AsyncIterator[Member]:
        """Iterate over a group's direct members (user object ids are the keys).

        Raises:
            NotFoundError: no such group.
        """
        first = sansio.build_list_members(self._endpoint, group_id, self._page_size)

        def members(data: Any) -> tuple[list[Member], str | None]:
            return wire.structure_member_page(data, group_id)

        async for member in self._walk(first, members, _key):
            yield member

    async def add_members(self, group_ids: Sequence[str], keys: Sequence[str]) -> None:
        """Add ``keys`` to every group: one ``members@odata.bind`` PATCH per 20 keys.

        The PATCHes of every group (and of every other call in flight) are packed
        into ``$batch`` requests. A key that is already a member is success: when
        Graph refuses a PATCH for that, its keys are added one by one by ``$ref``,
        where "already exists" is success.

        Raises:
            NotFoundError: a group or a key does not exist (the other groups'
                changes were applied).
            APIError: a sub-request failed for another reason.
        """
        for key in keys:
            sansio.check_id(key, "member key")
        await settle([self._add(gid, keys) for gid in group_ids])

    async def _add(self, group_id: str, keys: Sequence[str]) -> None:
        chunks = [
            keys[i : i + changes.MAX_BIND]
            for i in range(0, len(keys), changes.MAX_BIND)
        ]
        await settle([self._bind(group_id, chunk) for chunk in chunks])

    async def _bind(self, group_id: str, keys: Sequence[str]) -> None:
        sub = changes.build_bind_members(self._endpoint, group_id, keys)
        answer = await self.batcher.send(sub)
        if not changes.is_already_member(answer):
            self._raise_for(answer, sub)
            return
        await settle([self._ref(group_id, key) for key in keys])

    async def _ref(self, group_id: str, key: str) -> None:
        sub = changes.build_add_member_ref(self._endpoint, group_id, key)
        answer = await self.batcher.send(sub)
        if not changes.is_already_member(answer):
            self._raise_for(answer, sub)

    async def remove_members(
        self, group_ids: Sequence[str], keys: Sequence[str]
    ) -> None:
        """Remove ``keys`` from every group: one ``DELETE .../$ref`` each, packed.

        Removing a key that is not a member (or no longer exists) is success.

        Raises:
            NotFoundError: a group does not exist (the other groups' changes were
                applied).
            APIError: a sub-request failed for another reason.
        """
        for key in keys:
            sansio.check_id(key, "member key")
        await settle([self._unlink(gid, key) for gid in group_ids for key in keys])

    async def _unlink(self, group_id: str, key: str) -> None:
        sub = changes.build_remove_member(group_id, key)
        answer = await self.batcher.send(sub)
        if not changes.is_not_member(answer, group_id):
            self._raise_for(answer, sub)


def _id(item: Group | User) -> str:
    return item.id


def _key(member: Member) -> str:
    return member.key


if TYPE_CHECKING:
    _s: type[BackendSession] = GraphSession
    _c: type[GroupCreator] = GraphSession
    _u: type[GroupUpdater] = GraphSession
    _d: type[GroupDeleter] = GraphSession
    _a: type[MemberAdder] = GraphSession
    _r: type[MemberRemover] = GraphSession
    _ur: type[UserReader] = GraphSession
    _ul: type[UserLister] = GraphSession
