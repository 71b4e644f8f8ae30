"""One Client's binding to Snip: the session that does the Snip backend's work.

Thin glue: `sansio` builds requests and deciphers
responses, `wire` reads the JSON, and this module
sends requests through the Client's transport (the kit's ``Channel``). It reconciles
creates and removals whose outcome is unknown, so a lost answer never duplicates a
group; the ids this session created, which that reconciliation must not mistake for
a lost create's group, are this session's own memory.
"""

from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from asyncgroups.backends._kit import (
    Body,
    Channel,
    Endpoint,
    RecordLocks,
    refuse_unknown,
)
from asyncgroups.backends.reconcile import create_reconciled
from asyncgroups.backends.snip import sansio, wire
from asyncgroups.errors import (
    AsyncGroupsError,
    InvalidInputError,
    NotFoundError,
    outcome_unknown,
)
from asyncgroups.models import Group, Member, User
from asyncgroups.transport.base import AsyncTransport, Request

if TYPE_CHECKING:
    from asyncgroups.backends.base import (
        BackendSession,
        GroupCreator,
        GroupDeleter,
        GroupUpdater,
        MemberRemover,
        UserLister,
        UserReader,
    )

__all__ = ["RECONCILE_WINDOW", "SnipSession"]

#: How much older than the pre-create listing (server clock) a reconciled group may
#: claim to be: a sanity check only, the id decides.
RECONCILE_WINDOW = timedelta(minutes=10)
#: Times one removal PATCH may be sent: after a lost answer or a gateway error the
#: group is re-read and only the members still there are sent again.
_REMOVAL_ATTEMPTS = 5


class SnipSession:
    """A [`Snip`][asyncgroups.backends.snip.Snip] backend bound to one Client.

    Made by ``Snip.open(transport)``; reach it as ``cast(SnipSession,
    client.session)`` for the Snip-only operations (`set_roles`,
    `transfer_ownership`, `leave_group`). After `aclose` every
    request raises ``ClientClosedError``.
    """

    __slots__ = ("_channel", "_created", "_creates", "_endpoint", "_max_batch")

    def __init__(
        self, transport: AsyncTransport, endpoint: Endpoint, *, max_batch: int
    ) -> None:
        self._channel = Channel(transport, sansio.BACKEND)
        self._endpoint = endpoint
        self._max_batch = max_batch
        #: Ids of groups this session created: never a lost create's group.
        self._created: set[int] = set()
        #: Creates of one name run one at a time (see `create_group`).
        self._creates = RecordLocks()

    def __repr__(self) -> str:
        state = "closed" if self._channel.closed else "open"
        return f"<SnipSession base_url={self._endpoint.base_url!r} {state}>"

    async def aclose(self) -> None:
        """Refuse every later request (idempotent); the transport is the Client's."""
        self._channel.close()

    def check_group_id(self, group_id: str) -> None:
        """Nothing to refuse up front.

        Each operation refuses a non-integer id before any I/O with
        ``NotFoundError`` (nothing can have it), per key in a member batch.
        """

    async def _call(self, request: Request, expect: Body = Body.JSON) -> Any:
        return sansio.decipher(await self._channel.send(request), expect)

    async def _fetch_group(self, gid: int) -> wire.WireGroup:
        request = sansio.build_get_group(self._endpoint, gid)
        return wire.structure_group(await self._call(request))

    async def _fetch_groups(self) -> list[wire.WireGroup]:
        request = sansio.build_list_groups(self._endpoint)
        return wire.structure_groups(await self._call(request))

    async def _patch(self, gid: int, **changes: Any) -> None:
        request = sansio.build_patch_group(
            self._endpoint, gid, max_remove=self._max_batch, **changes
        )
        await self._call(request, Body.NONE)

    # -- groups ---------------------------------------------------------------

    async def create_group(
        self, name: str, *, description: str | None = None, **extra: object
    ) -> Group:
        """Create a group; a ``description`` is set by a follow-up PATCH.

        A create whose answer was lost is reconciled, never re-sent blindly: names
        are not unique on Snip and our clock may disagree with the server's, so the
        groups are listed once before sending and only a group we own with that
        name and an id above every id listed then is taken as the lost one. This
        session runs creates of one name one at a time, so it is this create's own.

        If the group was created but the follow-up that sets its ``description``
        failed, the error is raised with a ``created_group_id`` attribute (the new
        group's id) and a note saying so: re-sending the create would duplicate it.

        Raises:
            InvalidInputError: a name outside 3-255 characters or an unknown field.
            APIError: the server refused.
        """
        _refuse_extra(extra)
        request = sansio.build_create_group(self._endpoint, name)
        # Snip numbers groups from one increasing counter (ids are never reused),
        # so the group a lost POST made is above every id visible before sending.
        # This costs one listing per create; the server's Date header of that
        # listing is the reference for a wide, clock-skew-proof sanity check.
        async with self._creates.hold(name):
            listing = await self._channel.send(sansio.build_list_groups(self._endpoint))
            groups = wire.structure_groups(sansio.decipher(listing))
            floor = max((g.id for g in groups), default=0)
            since = sansio.server_time(listing)

            async def send() -> wire.WireGroup:
                return wire.structure_group(await self._call(request))

            async def find() -> wire.WireGroup | None:
                return self._reconcile(await self._fetch_groups(), name, floor, since)

            group = await create_reconciled(send, find)
            self._created.add(group.id)
        if description is not None:
            try:
                return await self.update_group(str(group.id), description=description)
            except Exception as exc:
                exc.created_group_id = str(group.id)  # type: ignore[attr-defined]
                exc.add_note(
                    f"snip group {group.id} was created; its description may not "
                    "have been set (do not re-send the create)"
                )
                raise
        return wire.group_to_model(group)

    def _reconcile(
        self,
        groups: Sequence[wire.WireGroup],
        name: str,
        floor: int,
        since: datetime | None,
    ) -> wire.WireGroup | None:
        """The group a lost create made: named so, owned by us, newer than ``floor``.

        ``created`` is only a sanity check against the server's own clock (the
        ``Date`` of the listing taken before sending), with a wide window.
        """
        oldest = None if since is None else since - RECONCILE_WINDOW
        candidates = [
            g
            for g in groups
            if g.name == name
            and g.id > floor
            and g.id not in self._created
            and (owner := g.owner) is not None
            and owner.self_
            and (oldest is None or g.created is None or g.created >= oldest)
        ]
        return max(candidates, key=lambda g: g.id, default=None)

    async def get_group(self, group_id: str) -> Group:
        """Fetch one group.

        Raises:
            NotFoundError: no such group, or the token's user is not a member.
        """
        gid = sansio.int_id(group_id)
        return wire.group_to_model(await self._fetch_group(gid))

    async def update_group(
        self,
        group_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        **extra: object,
    ) -> Group:
        """Change ``name`` and/or ``description`` (PATCH, then GET as Snip's client).

        ``None`` leaves a field as it is; with nothing to change, only the GET is
        sent.

        Raises:
            InvalidInputError: a bad name or an unknown field.
            PermissionDeniedError: plain members may not change a group.
            NotFoundError: no such group.
        """
        _refuse_extra(extra)
        gid = sansio.int_id(group_id)
        changes: dict[str, Any] = {}
        if name is not None:
            changes["name"] = name
        if description is not None:
            changes["description"] = description
        if changes:
            await self._patch(gid, **changes)
        return wire.group_to_model(await self._fetch_group(gid))

    async def delete_group(self, group_id: str) -> None:
        """Delete a group (owner only): GET it, then DELETE it.

        A DELETE may be re-sent below us after its answer was lost (by the retry
        policy, and by aiohttp itself, which silently re-sends an idempotent
        request once when the connection drops), so its 404 may just mean "an
        earlier attempt deleted it". The GET first tells "no such group" apart:
        after it, a 404 means the group is gone, which is what was asked.

        Raises:
            PermissionDeniedError: the token's user is not the owner.
            NotFoundError: no such group.
        """
        gid = sansio.int_id(group_id)
        await self._fetch_group(gid)
        request = sansio.build_delete_group(self._endpoint, gid)
        try:
            await self._call(request, Body.NONE)
        except NotFoundError:
            return

    async def iter_groups(self, query: str | None = None) -> AsyncIterator[Group]:
        """The groups the token's user is a member of (one unpaged array).

        Args:
            query: keep only names containing it (case-insensitive, client-side).
        """
        needle = query.casefold() if query else None
        for group in await self._fetch_groups():
            if needle is None or needle in group.name.casefold():
                yield wire.group_to_model(group)

    # -- members --------------------------------------------------------------

    async def iter_members(self, group_id: str) -> AsyncIterator[Member]:
        """The members of a group, with roles and first e-mails.

        Raises:
            NotFoundError: no such group.
        """
        group = await self._fetch_group(sansio.int_id(group_id))
        for member in group.members:
            yield wire.member_to_model(member)

    async def remove_members(
        self, group_ids: Sequence[str], keys: Sequence[str]
    ) -> None:
        """Remove user ids from each group: one PATCH per group.

        A removal whose answer was lost, or that a gateway answered 502/503/504,
        is checked against the group and re-sent for the members still there
        ([`outcome_unknown`][asyncgroups.errors.outcome_unknown] is the rule), so it
        converges and nobody is "removed twice" (a 400 on Snip).

        Raises:
            NotFoundError: a non-integer key or group id, or no such group.
            InvalidInputError: more keys than ``max_batch``.
            RejectedRequestError: a key is not a member.
            PermissionDeniedError: the role does not allow removals.
        """
        if len(keys) > self._max_batch:
            raise InvalidInputError(
                f"at most {self._max_batch} keys per request, not {len(keys)}"
            )
        uids = [sansio.int_id(k, "user id") for k in keys]
        for group_id in group_ids:
            gid = sansio.int_id(group_id)
            pending = uids
            for _ in range(_REMOVAL_ATTEMPTS - 1):
                try:
                    await self._patch(gid, remove_members=pending)
                except AsyncGroupsError as exc:
                    if not outcome_unknown(exc):
                        raise
                    present = {
                        m.user_id for m in (await self._fetch_group(gid)).members
                    }
                    pending = [u for u in pending if u in present]
                    if not pending:
                        break
                else:
                    break
            else:
                await self._patch(gid, remove_members=pending)

    # -- snip-only operations -------------------------------------------------

    async def leave_group(self, group_id: str | int) -> None:
        """Leave a group (the owner cannot: transfer ownership first).

        Raises:
            RejectedRequestError: the token's user owns the group.
            NotFoundError: no such group.
        """
        request = sansio.build_leave_group(self._endpoint, sansio.int_id(group_id))
        await self._call(request, Body.NONE)

    async def set_roles(
        self, group_id: str | int, roles: Mapping[str | int, str]
    ) -> Group:
        """Set members' roles: ``{user_id: "moderator" | "member"}``.

        Raises:
            InvalidInputError: an unknown role.
            PermissionDeniedError: plain members may not; nobody changes the owner.
        """
        gid = sansio.int_id(group_id)
        wanted = {sansio.int_id(k, "user id"): role for k, role in roles.items()}
        await self._patch(gid, update_member_roles=wanted)
        return wire.group_to_model(await self._fetch_group(gid))

    async def transfer_ownership(
        self, group_id: str | int, user_id: str | int
    ) -> Group:
        """Make another member the owner; the previous owner becomes a moderator.

        Raises:
            PermissionDeniedError: the token's user is not the owner.
        """
        gid = sansio.int_id(group_id)
        await self._patch(gid, transfer_ownership=sansio.int_id(user_id, "user id"))
        return wire.group_to_model(await self._fetch_group(gid))

    # -- users (read-only, derived from group members) --------------------------

    async def iter_users(self, query: str | None = None) -> AsyncIterator[User]:
        """Every user who shares a group with the token's user, once each.

        Args:
            query: keep only users whose e-mail contains it (case-insensitive).
        """
        needle = query.casefold() if query else None
        seen: set[int] = set()
        for group in await self._fetch_groups():
            for member in group.members:
                if member.user_id in seen:
                    continue
                seen.add(member.user_id)
                user = wire.member_to_user(member)
                if needle is None or needle in (user.email or "").casefold():
                    yield user

    async def get_user(self, user_id: str) -> User:
        """A user who shares a group with the token's user.

        Raises:
            NotFoundError: no visible group has that user.
        """
        uid = sansio.int_id(user_id, "user id")
        for group in await self._fetch_groups():
            for member in group.members:
                if member.user_id == uid:
                    return wire.member_to_user(member)
        raise NotFoundError(
            f"no user {uid} in any group this token can see", backend=sansio.BACKEND
        )


def _refuse_extra(extra: Mapping[str, object]) -> None:
    """Snip groups have no fields beyond ``name`` and ``description``.

    Raises:
        InvalidInputError: naming every unknown field.
    """
    refuse_unknown(extra, (), backend="snip", what="group")


if TYPE_CHECKING:
    _s: type[BackendSession] = SnipSession
    _c: type[GroupCreator] = SnipSession
    _u: type[GroupUpdater] = SnipSession
    _d: type[GroupDeleter] = SnipSession
    _r: type[MemberRemover] = SnipSession
    _ur: type[UserReader] = SnipSession
    _ul: type[UserLister] = SnipSession
