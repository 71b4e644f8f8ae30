"""One Client's binding of a Periscope site: sans-I/O requests over the Channel.

Thin glue: each method builds a request with `sansio`, sends it through the
Client's transport (the kit's [`Channel`][asyncgroups.backends._kit.Channel]), and
structures the answer with `wire`. Memberships are read-modify-writes of the
user's ``groups`` list, serialised and coalesced per user by this session's
`MembershipQueues`, which belong to this Client alone.
"""

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from asyncgroups.backends._kit import Body, Channel
from asyncgroups.backends.paging import cursor_pages
from asyncgroups.backends.periscope import sansio, wire
from asyncgroups.backends.periscope.memberships import EVERYONE, MembershipQueues
from asyncgroups.backends.reconcile import create_reconciled
from asyncgroups.errors import InvalidInputError, NotFoundError
from asyncgroups.models import Group, Member, User
from asyncgroups.transport.base import Request

__all__ = ["PeriscopeSession"]

_BACKEND = sansio.BACKEND


class PeriscopeSession:
    """A Periscope site bound to one Client's transport.

    Users are identified by e-mail (``User.id``, ``Member.key``), groups by name
    (``Group.id``). Made by
    [`Periscope.open`][asyncgroups.backends.periscope.Periscope.open].

    Args:
        target: where and as whom requests go, and whether writes only test.
        channel: the line to the Client's transport.
        admin_email: sent as ``invited_by_email`` / ``created_by_email`` unless a
            call gives its own.
        default_access: the ``access`` of groups created without one.

    Attributes:
        memberships: this Client's per-user queues of group changes (empty when no
            membership change is waiting or running).
    """

    def __init__(
        self,
        target: sansio.Target,
        channel: Channel,
        *,
        admin_email: str | None,
        default_access: str,
    ) -> None:
        self._target = target
        self._channel = channel
        self._admin_email = admin_email
        self._default_access = default_access
        self.memberships = MembershipQueues(
            self._read_groups, self._write_groups, verify=not target.test_mode
        )

    @property
    def test_mode(self) -> bool:
        """Whether writes only test (``test_mode=true``: nothing persists)."""
        return self._target.test_mode

    def __repr__(self) -> str:
        state = "closed" if self._channel.closed else "open"
        return f"<PeriscopeSession test_mode={self.test_mode!r} {state}>"

    def check_group_id(self, group_id: str) -> None:
        """Refuse a group name that cannot become a path segment, before any batching.

        Raises:
            InvalidInputError: the name holds ``/``, ``?``, ``#`` or control characters.
        """
        sansio.check_group_name(group_id)

    async def aclose(self) -> None:
        """Refuse every later request (idempotent; the transport is the Client's)."""
        self._channel.close()

    async def _call(self, request: Request, expect: Body = Body.JSON) -> Any:
        return sansio.decipher(await self._channel.send(request), expect)

    # -- groups -------------------------------------------------------------------

    async def create_group(
        self, name: str, *, description: str | None = None, **extra: object
    ) -> Group:
        """Create a group; ``access`` and ``created_by_email`` default from the backend.

        An ambiguous create (connection lost after sending) is reconciled by looking
        the name up before re-sending.

        Raises:
            InvalidInputError: the name holds ``/``, ``?``, ``#`` or control chars,
                a description was given, or an unknown field.
            ConflictError: a group of that name exists.
        """
        payload = wire.group_payload(
            name=name,
            description=description,
            extra=extra,
            known=wire.GROUP_CREATE_FIELDS,
        )
        payload.setdefault("access", self._default_access)
        if self._admin_email is not None:
            payload.setdefault("created_by_email", self._admin_email)
        request = sansio.build_create_group(self._target, payload)

        async def send() -> Group:
            data = await self._call(request, Body.OPTIONAL)
            if data is None:
                return wire.structure_group(payload)
            return wire.structure_group(sansio.unwrap(data, "group"))

        return await create_reconciled(send, lambda: self._find_group(name))

    async def _find_group(self, name: str) -> Group | None:
        try:
            return await self.get_group(name)
        except NotFoundError:
            return None

    async def get_group(self, group_id: str) -> Group:
        """Fetch a group by name (matched case-insensitively by the server).

        Raises:
            NotFoundError: no such group.
        """
        data = await self._call(sansio.build_get_group(self._target, group_id))
        return wire.structure_group(sansio.unwrap(data, "group"))

    async def update_group(
        self,
        group_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        **extra: object,
    ) -> Group:
        """Change a group's ``name`` (a rename moves its id) or ``access``.

        Raises:
            InvalidInputError: a bad name, a description, or an unknown field.
            NotFoundError: no such group.
            ConflictError: the new name is taken.
            PermissionDeniedError: a built-in group cannot be renamed.
        """
        payload = wire.group_payload(
            name=name,
            description=description,
            extra=extra,
            known=wire.GROUP_UPDATE_FIELDS,
        )
        request = sansio.build_update_group(self._target, group_id, payload)
        data = await self._call(request, Body.OPTIONAL)
        if data is not None:
            return wire.structure_group(sansio.unwrap(data, "group"))
        if self.test_mode:
            return wire.structure_group({"name": group_id, **payload})
        return await self.get_group(payload.get("name", group_id))

    async def delete_group(self, group_id: str) -> None:
        """Delete a group (its members lose it from their ``groups``).

        Raises:
            NotFoundError: no such group.
            PermissionDeniedError: built-in groups cannot be deleted.
        """
        request = sansio.build_delete_group(self._target, group_id)
        await self._call(request, Body.OPTIONAL)

    async def iter_groups(self, query: str | None = None) -> AsyncIterator[Group]:
        """Iterate over the site's groups.

        The API answers with one list (a ``next_page_start`` cursor is followed if a
        server sends one); ``query`` filters names client-side, case-insensitively.
        """

        async def fetch(cursor: str | None) -> tuple[Sequence[Any], str | None]:
            data = await self._call(sansio.build_list_groups(self._target, cursor))
            return sansio.groups_page(data)

        needle = query.casefold() if query else None
        async for item in cursor_pages(
            fetch, backend=_BACKEND, key=sansio.item_key("name")
        ):
            group = wire.structure_group(item)
            if needle is None or needle in group.name.casefold():
                yield group

    # -- users --------------------------------------------------------------------

    async def create_user(
        self,
        *,
        email: str | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
        **extra: object,
    ) -> User:
        """Create a user; ``extra`` takes ``groups`` (names) and ``invited_by_email``.

        ``invited_by_email`` defaults to the backend's ``admin_email``. An ambiguous
        create is reconciled by looking the e-mail up before re-sending.

        Raises:
            InvalidInputError: no valid e-mail, or an unknown field.
            ConflictError: the e-mail is taken.
            RejectedRequestError: e.g. an unknown group name.
        """
        payload = wire.user_payload(
            email=email,
            first_name=first_name,
            last_name=last_name,
            extra=extra,
            known=wire.USER_CREATE_FIELDS,
        )
        if self._admin_email is not None:
            payload.setdefault("invited_by_email", self._admin_email)
        request = sansio.build_create_user(self._target, payload)
        address = str(payload["email"])

        async def send() -> User:
            data = await self._call(request, Body.OPTIONAL)
            if data is None:
                return wire.structure_user(payload)
            return wire.structure_user(sansio.unwrap(data, "user"))

        return await create_reconciled(send, lambda: self._find_user(address))

    async def _find_user(self, email: str) -> User | None:
        try:
            return await self.get_user(email)
        except NotFoundError:
            return None

    async def _get_user_data(self, email: str) -> Mapping[str, Any]:
        data = await self._call(sansio.build_get_user(self._target, email))
        return sansio.unwrap(data, "user")

    async def get_user(self, user_id: str) -> User:
        """Fetch a user by e-mail.

        Raises:
            NotFoundError: no such user.
        """
        return wire.structure_user(await self._get_user_data(user_id))

    async def update_user(
        self,
        user_id: str,
        *,
        email: str | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
        **extra: object,
    ) -> User:
        """Change a user's fields; a ``groups`` list (``extra``) replaces their groups.

        A ``groups`` change waits for the user's pending membership changes.

        Raises:
            InvalidInputError: an unknown field.
            NotFoundError: no such user.
        """
        payload = wire.user_payload(
            email=email,
            first_name=first_name,
            last_name=last_name,
            extra=extra,
            known=wire.USER_UPDATE_FIELDS,
        )
        request = sansio.build_update_user(self._target, user_id, payload)
        if "groups" in payload:
            async with self.memberships.locked(user_id):
                data = await self._call(request, Body.OPTIONAL)
        else:
            data = await self._call(request, Body.OPTIONAL)
        if data is None:
            if self.test_mode:
                return wire.structure_user({"email": user_id, **payload})
            return await self.get_user(payload.get("email", user_id))
        return wire.structure_user(sansio.unwrap(data, "user"))

    async def delete_user(self, user_id: str) -> None:
        """Delete a user.

        Raises:
            NotFoundError: no such user.
        """
        request = sansio.build_delete_user(self._target, user_id)
        await self._call(request, Body.OPTIONAL)

    async def iter_users(self, query: str | None = None) -> AsyncIterator[User]:
        """Iterate over the site's users, following ``next_page_start`` if sent.

        ``query`` filters client-side on e-mail and names, case-insensitively.
        """
        needle = query.casefold() if query else None
        async for item in self._iter_user_data():
            user = wire.structure_user(item)
            if needle is None or any(
                needle in (v or "").casefold()
                for v in (user.email, user.first_name, user.last_name)
            ):
                yield user

    async def _iter_user_data(self) -> AsyncIterator[Any]:
        async def fetch(cursor: str | None) -> tuple[Sequence[Any], str | None]:
            data = await self._call(sansio.build_list_users(self._target, cursor))
            return sansio.users_page(data)

        async for item in cursor_pages(
            fetch, backend=_BACKEND, key=sansio.item_key("email")
        ):
            yield item

    # -- memberships --------------------------------------------------------------

    async def iter_members(self, group_id: str) -> AsyncIterator[Member]:
        """Iterate over a group's members.

        There is no membership endpoint: this checks the group exists, then walks
        the user list and keeps users whose ``groups`` name it (case-insensitively).
        ``Everyone`` holds every user.

        Raises:
            NotFoundError: no such group.
        """
        group = await self.get_group(group_id)
        wanted = group.name.casefold()
        everyone = wanted == EVERYONE.casefold()
        async for item in self._iter_user_data():
            groups = wire.user_groups(item)
            if everyone or any(g.casefold() == wanted for g in groups):
                user = wire.structure_user(item)
                yield Member(key=user.id, group_id=group.id, email=user.email)

    async def add_members(self, group_ids: Sequence[str], keys: Sequence[str]) -> None:
        """Add each user (e-mail) in ``keys`` to every group in ``group_ids``.

        One read-modify-write per user, serialised with every other change to that
        user's groups made through this session, then verified by a re-read (except
        in test mode).

        Raises:
            NotFoundError: no such user.
            RejectedRequestError: e.g. an unknown group name.
            ConflictError: the user's groups kept changing under us.
        """
        for name in group_ids:
            sansio.check_group_name(name)
        for key in keys:
            await self.memberships.change(key, add=group_ids)

    async def remove_members(
        self, group_ids: Sequence[str], keys: Sequence[str]
    ) -> None:
        """Remove each user (e-mail) in ``keys`` from every group in ``group_ids``.

        Raises:
            InvalidInputError: ``Everyone`` cannot be left.
            NotFoundError: no such user.
        """
        for name in group_ids:
            sansio.check_group_name(name)
            if name.casefold() == EVERYONE.casefold():
                raise InvalidInputError("every user is in Everyone; it cannot be left")
        for key in keys:
            await self.memberships.change(key, remove=group_ids)

    async def _read_groups(self, email: str) -> list[str]:
        return wire.user_groups(await self._get_user_data(email))

    async def _write_groups(self, email: str, groups: list[str]) -> None:
        request = sansio.build_update_user(self._target, email, {"groups": groups})
        await self._call(request, Body.OPTIONAL)


if TYPE_CHECKING:
    from asyncgroups.backends import base

    _s: type[base.BackendSession] = PeriscopeSession
    _gc: type[base.GroupCreator] = PeriscopeSession
    _gu: type[base.GroupUpdater] = PeriscopeSession
    _gd: type[base.GroupDeleter] = PeriscopeSession
    _ur: type[base.UserReader] = PeriscopeSession
    _ul: type[base.UserLister] = PeriscopeSession
    _uc: type[base.UserCreator] = PeriscopeSession
    _uu: type[base.UserUpdater] = PeriscopeSession
    _ud: type[base.UserDeleter] = PeriscopeSession
    _ma: type[base.MemberAdder] = PeriscopeSession
    _mr: type[base.MemberRemover] = PeriscopeSession
