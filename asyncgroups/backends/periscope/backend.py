"""The Periscope backend: sans-I/O requests + the converter + the Client's transport.

Thin glue: each method builds a request with :mod:`.sansio`, sends it through the
transport the Client bound, and structures the answer with :mod:`.wire`. Memberships
are read-modify-writes of the user's ``groups`` list, serialised per user by
:class:`~.memberships.MembershipQueues`.
"""

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from asyncgroups.backends.base import Capability, GroupBackend
from asyncgroups.backends.paging import cursor_pages
from asyncgroups.backends.periscope import sansio, wire
from asyncgroups.backends.periscope.auth import check_site, partner_auth
from asyncgroups.backends.periscope.memberships import EVERYONE, MembershipQueues
from asyncgroups.backends.reconcile import create_reconciled
from asyncgroups.config import Secret
from asyncgroups.errors import ConfigurationError, InvalidInputError, NotFoundError
from asyncgroups.models import Group, Member, User
from asyncgroups.transport.base import AsyncTransport, Request, Response
from asyncgroups.validation import check_base_url, check_email, check_header_value

__all__ = ["DEFAULT_ACCESS", "DEFAULT_BASE_URL", "Periscope"]

DEFAULT_BASE_URL = "https://api.periscopedata.com"
#: The ``access`` a new group gets unless told otherwise (values are undocumented).
DEFAULT_ACCESS = "View"


def _base_url(value: str) -> str:
    value = check_base_url(value)
    # The vendor's examples include the prefix; accept it either way.
    return value.removesuffix(sansio.PREFIX)


class Periscope:
    """Periscope Data's User & Group Management API (v1), one site.

    Users are identified by e-mail (``User.id``, ``Member.key``), groups by name
    (``Group.id``). Memberships live in each user's ``groups`` list: adding or
    removing members is a read-modify-write of the user, serialised per user, one
    user per request (``max_batch`` is 1) but any number of groups in that request.

    Args:
        site: the site name (the slug in ``app.periscopedata.com/app/<site>``).
        api_key: the site's API key (kept in a :class:`~asyncgroups.Secret`).
        test_mode: send ``test_mode=true`` on every write: the server validates
            and answers but persists nothing.
        base_url: scheme and host of the API.
        admin_email: sent as ``invited_by_email`` / ``created_by_email`` unless a
            call gives its own.
        default_access: the ``access`` of groups created without one.

    Raises:
        ConfigurationError: a site, key, e-mail or URL is empty or holds CR/LF.
    """

    name: ClassVar[str] = "periscope"
    CAPABILITIES: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.GROUPS_CREATE,
            Capability.GROUPS_UPDATE,
            Capability.GROUPS_DELETE,
            Capability.USERS_GET,
            Capability.USERS_LIST,
            Capability.USERS_CREATE,
            Capability.USERS_UPDATE,
            Capability.USERS_DELETE,
            Capability.MEMBERS_LIST,
            Capability.MEMBERS_ADD,
            Capability.MEMBERS_REMOVE,
            # One PUT of a user's groups adds (or removes) that user in many groups.
            Capability.MEMBERS_ADD_MANY,
            Capability.MEMBERS_REMOVE_MANY,
            Capability.TEST_MODE,
        }
    )
    #: One user per request: each request is one user's read-modify-write.
    max_batch: ClassVar[int] = 1

    def __init__(
        self,
        *,
        site: str,
        api_key: str | Secret,
        test_mode: bool = False,
        base_url: str = DEFAULT_BASE_URL,
        admin_email: str | None = None,
        default_access: str = DEFAULT_ACCESS,
    ) -> None:
        self.site = check_site(site)
        self._api_key = Secret(api_key)
        self.test_mode = bool(test_mode)
        self.base_url = _base_url(base_url)
        if admin_email is not None:
            try:
                check_email(admin_email, "admin_email")
            except InvalidInputError as exc:
                raise ConfigurationError(str(exc)) from None
        self.admin_email = admin_email
        check_header_value(default_access, "default_access")
        self.default_access = default_access
        self._endpoint = sansio.Endpoint(
            self.base_url, partner_auth(self.site, self._api_key), self.test_mode
        )
        self._transport: AsyncTransport | None = None
        self.memberships = MembershipQueues(
            self._read_groups, self._write_groups, verify=not self.test_mode
        )

    @property
    def capabilities(self) -> frozenset[Capability]:
        """What this backend can do."""
        return self.CAPABILITIES

    def check_group_id(self, group_id: str) -> None:
        """Refuse a group name that cannot become a path segment, before any batching.

        Raises:
            InvalidInputError: the name holds ``/``, ``?``, ``#`` or control characters.
        """
        sansio.check_group_name(group_id)

    def bind(self, transport: AsyncTransport) -> None:
        """Receive the Client's transport stack."""
        self._transport = transport

    def __repr__(self) -> str:
        return (
            f"Periscope(site={self.site!r}, base_url={self.base_url!r}, "
            f"test_mode={self.test_mode!r})"
        )

    async def _send(self, request: Request) -> Response:
        if self._transport is None:
            raise ConfigurationError("the backend is not bound: use it via a Client")
        return await self._transport.send(request)

    async def _call(self, request: Request, *, empty_ok: bool = False) -> Any:
        return sansio.decipher(await self._send(request), empty_ok=empty_ok)

    # -- groups -------------------------------------------------------------------

    async def create_group(self, name: str, **fields: Any) -> Group:
        """Create a group; ``access`` and ``created_by_email`` default from the backend.

        An ambiguous create (connection lost after sending) is reconciled by looking
        the name up before re-sending.

        Raises:
            InvalidInputError: the name holds ``/``, ``?``, ``#`` or control chars.
            ConflictError: a group of that name exists.
        """
        payload = wire.group_payload({"name": name, **fields})
        payload.setdefault("access", self.default_access)
        if self.admin_email is not None:
            payload.setdefault("created_by_email", self.admin_email)
        request = sansio.build_create_group(self._endpoint, payload)

        async def send() -> Group:
            data = await self._call(request, empty_ok=True)
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
        data = await self._call(sansio.build_get_group(self._endpoint, group_id))
        return wire.structure_group(sansio.unwrap(data, "group"))

    async def update_group(self, group_id: str, **fields: Any) -> Group:
        """Change a group's ``name`` (a rename moves its id) or ``access``.

        Raises:
            NotFoundError: no such group.
            ConflictError: the new name is taken.
            PermissionDeniedError: a built-in group cannot be renamed.
        """
        payload = wire.group_payload(fields)
        request = sansio.build_update_group(self._endpoint, group_id, payload)
        data = await self._call(request, empty_ok=True)
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
        await self._call(
            sansio.build_delete_group(self._endpoint, group_id), empty_ok=True
        )

    async def iter_groups(self, query: str | None = None) -> AsyncIterator[Group]:
        """Iterate over the site's groups.

        The API answers with one list (a ``next_page_start`` cursor is followed if a
        server sends one); ``query`` filters names client-side, case-insensitively.
        """

        async def fetch(cursor: str | None) -> tuple[Sequence[Any], str | None]:
            data = await self._call(sansio.build_list_groups(self._endpoint, cursor))
            return sansio.groups_page(data)

        needle = query.casefold() if query else None
        async for item in cursor_pages(
            fetch, backend=self.name, key=sansio.item_key("name")
        ):
            group = wire.structure_group(item)
            if needle is None or needle in group.name.casefold():
                yield group

    # -- users --------------------------------------------------------------------

    async def create_user(self, **fields: Any) -> User:
        """Create a user (``email``, ``first_name``, ``last_name``, ``groups``).

        ``invited_by_email`` defaults to the backend's ``admin_email``. An ambiguous
        create is reconciled by looking the e-mail up before re-sending.

        Raises:
            InvalidInputError: no valid e-mail.
            ConflictError: the e-mail is taken.
            RejectedRequestError: e.g. an unknown group name.
        """
        payload = wire.user_payload(fields)
        if self.admin_email is not None:
            payload.setdefault("invited_by_email", self.admin_email)
        request = sansio.build_create_user(self._endpoint, payload)
        email = str(payload["email"])

        async def send() -> User:
            data = await self._call(request, empty_ok=True)
            if data is None:
                return wire.structure_user(payload)
            return wire.structure_user(sansio.unwrap(data, "user"))

        return await create_reconciled(send, lambda: self._find_user(email))

    async def _find_user(self, email: str) -> User | None:
        try:
            return await self.get_user(email)
        except NotFoundError:
            return None

    async def _get_user_data(self, email: str) -> Mapping[str, Any]:
        data = await self._call(sansio.build_get_user(self._endpoint, email))
        return sansio.unwrap(data, "user")

    async def get_user(self, user_id: str) -> User:
        """Fetch a user by e-mail.

        Raises:
            NotFoundError: no such user.
        """
        return wire.structure_user(await self._get_user_data(user_id))

    async def update_user(self, user_id: str, **fields: Any) -> User:
        """Change a user's fields; a ``groups`` list replaces their memberships.

        A ``groups`` change waits for the user's pending membership changes.

        Raises:
            NotFoundError: no such user.
        """
        payload = wire.user_payload(fields)
        request = sansio.build_update_user(self._endpoint, user_id, payload)
        if "groups" in payload:
            async with self.memberships.locked(user_id):
                data = await self._call(request, empty_ok=True)
        else:
            data = await self._call(request, empty_ok=True)
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
        await self._call(
            sansio.build_delete_user(self._endpoint, user_id), empty_ok=True
        )

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
            data = await self._call(sansio.build_list_users(self._endpoint, cursor))
            return sansio.users_page(data)

        async for item in cursor_pages(
            fetch, backend=self.name, key=sansio.item_key("email")
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
        user's groups made through this backend, then verified by a re-read (except
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
        request = sansio.build_update_user(self._endpoint, email, {"groups": groups})
        await self._call(request, empty_ok=True)


if TYPE_CHECKING:
    _: type[GroupBackend] = Periscope
