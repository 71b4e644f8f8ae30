"""asyncgroups-scim: a SCIM 2.0 backend (RFC 7643/7644) for asyncgroups, as a plugin.

The package registers itself the way any third-party backend does: the
``asyncgroups.backends`` entry point ``scim`` names [`SCIM`][asyncgroups_scim.SCIM], and
the ``asyncgroups.emulators`` entry point names `asyncgroups_scim.emulator.build`, an
emulator built on python-scim's ``scim2-server`` (the ``test`` extra).

Features read from ``/ServiceProviderConfig`` and how the backend degrades
without them:

- ``patch``: membership and field updates are PATCH operations; without it, a
  read-modify-write PUT of the whole resource, serialised per resource within the
  backend and, with ``etag``, conditional on ``If-Match`` (a 412 is re-read and
  retried). Without either, writers in other processes may overwrite each other.
- ``filter``: listings with a ``query``, create reconciliation and member-id checks
  use ``filter``; without it, listings are filtered here, reconciliation walks the
  whole listing, and member ids are not checked before an add.
- ``bulk``: with ``SCIM(bulk=True)`` (which declares ``MEMBERS_ADD_MANY`` and
  ``MEMBERS_REMOVE_MANY``: capabilities are configuration, fixed before any I/O),
  one ``/Bulk`` request serves several groups; without it, one PATCH per group.

[`SCIM.open`][asyncgroups_scim.SCIM.open] returns a `SCIMSession`, which holds
everything that belongs to one Client (the discovered features, the per-resource locks);
``cast(SCIMSession, client.session).discover()`` reads the features up front.

What scim2-server (0.8) lacks, and how the backend copes:

- no referential integrity: a member ``value`` naming no user is stored, and
  deleting a user leaves it in its groups. The backend looks ids up before an add
  (``verify_members``), so unknown ids fail with ``NotFoundError``; stale members
  of deleted users are listed as the server reports them.
- members carry no ``display`` or e-mail, so ``Member.email`` is ``None`` unless
  ``member_emails=True`` (one user lookup per 50 members).
- core Groups have no description; a ``description`` raises ``InvalidInputError``.
- members of a group are not paged (RFC 7644 offers no member paging): a group is
  read in one document.
"""

from asyncgroups.testing import register_emulator
from asyncgroups_scim.backend import SCIM
from asyncgroups_scim.session import SCIMSession

__all__ = ["SCIM", "SCIMSession"]

register_emulator("scim", "asyncgroups_scim.emulator:build")
