"""The ``Capability`` enum: what a backend can do beyond reading groups and members.

Its own module so that the layers above the Client (the sync engine, the CLI) can
name capabilities without importing the backends package.
"""

import enum

__all__ = ["Capability"]


class Capability(enum.Enum):
    """What a backend can do beyond reading groups and members.

    The Client raises ``UnsupportedOperationError`` before any request for an
    operation whose capability the backend does not declare.
    """

    GROUPS_CREATE = "groups.create"
    GROUPS_UPDATE = "groups.update"
    GROUPS_DELETE = "groups.delete"
    USERS_GET = "users.get"
    USERS_LIST = "users.list"
    USERS_CREATE = "users.create"
    USERS_UPDATE = "users.update"
    USERS_DELETE = "users.delete"
    MEMBERS_LIST = "members.list"
    MEMBERS_ADD = "members.add"
    MEMBERS_REMOVE = "members.remove"
    #: One add request serves several groups.
    MEMBERS_ADD_MANY = "members.add_many"
    #: One remove request serves several groups.
    MEMBERS_REMOVE_MANY = "members.remove_many"
    ROLES = "roles"
    TEST_MODE = "test_mode"
