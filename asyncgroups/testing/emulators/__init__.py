"""The emulator registry: name -> factory building an aiohttp app, its store and credentials.

Emulators speak each real API's wire protocol with hand-written JSON; they never
import the client's ``sansio`` or ``wire`` modules, so a converter bug cannot be
mirrored on both sides.
"""

import importlib
from collections.abc import Callable, Iterable
from importlib.metadata import entry_points
from typing import Protocol

from aiohttp import web
from attrs import frozen

from asyncgroups.errors import ConfigurationError

__all__ = [
    "EMULATORS",
    "ENTRY_POINT_GROUP",
    "EmulatorApp",
    "EmulatorFactory",
    "EmulatorStore",
    "available",
    "get_factory",
    "register_emulator",
]


class EmulatorStore(Protocol):
    """What every emulator's store offers (tests, benchmarks and users rely on it)."""

    def seed_users(self, count: int) -> list[str]:
        """Create ``count`` users; return their member keys."""
        ...

    def seed_group(self, name: str, members: Iterable[str] = ()) -> str:
        """Create a group directly; return its id as the Client reports it."""
        ...

    def group_ids(self) -> list[str]:
        """Ids of every group, as the Client reports them."""
        ...

    def members(self, group_id: str) -> frozenset[str]:
        """Member keys of a group."""
        ...


@frozen
class EmulatorApp:
    """What a factory returns: the app, its store and the credentials to use it.

    ``url_credentials`` names credentials that are the emulator's own URL (a token
    host, say), filled in once the emulator is served.
    """

    app: web.Application
    store: EmulatorStore
    credentials: dict[str, str]
    url_credentials: tuple[str, ...] = ()


EmulatorFactory = Callable[..., EmulatorApp]

#: Third-party emulators register a factory in this entry-point group.
ENTRY_POINT_GROUP = "asyncgroups.emulators"

#: Built-in emulators: name -> "module:factory".
EMULATORS: dict[str, str | EmulatorFactory] = {
    "graph": "asyncgroups.testing.emulators.graph:build",
    "neuroio": "asyncgroups.testing.emulators.neuroio:build",
    "okta": "asyncgroups.testing.emulators.okta:build",
    "periscope": "asyncgroups.testing.emulators.periscope:build",
    "snip": "asyncgroups.testing.emulators.snip:build",
}


def register_emulator(name: str, factory: EmulatorFactory | str) -> None:
    """Register an emulator factory (third-party backends use this)."""
    EMULATORS[name] = factory


def available() -> list[str]:
    """Names of every registered emulator, entry points included."""
    names = set(EMULATORS)
    names.update(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))
    return sorted(names)


def get_factory(name: str) -> EmulatorFactory:
    """The factory registered under ``name``.

    Raises:
        KeyError: no emulator has that name.
        ConfigurationError: the emulator needs a package that is not installed
            (the message names the extra to install).
    """
    try:
        if name not in EMULATORS:
            for ep in entry_points(group=ENTRY_POINT_GROUP):
                if ep.name == name:
                    factory: EmulatorFactory = ep.load()
                    return factory
        try:
            target = EMULATORS[name]
        except KeyError:
            raise KeyError(
                f"unknown emulator {name!r}; available: {', '.join(available())}"
            ) from None
        if isinstance(target, str):
            module, _, attr = target.partition(":")
            found: EmulatorFactory = getattr(importlib.import_module(module), attr)
            return found
    except ImportError as exc:
        raise ConfigurationError(f"the {name} emulator cannot start: {exc}") from exc
    return target
