"""The backend registry: built-in backends by name, third-party ones by entry point.

Third-party packages register a backend class in the ``asyncgroups.backends``
entry-point group; [`load`][asyncgroups.backends.load] finds built-in names first, then
entry points, and [`connect`][asyncgroups.backends.connect] builds one by name. Built-in
backends are imported lazily, on first use.
"""

import importlib
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

from asyncgroups.backends.base import BackendSession, Capability, GroupBackend
from asyncgroups.errors import ConfigurationError

if TYPE_CHECKING:
    from asyncgroups.backends.graph import Graph
    from asyncgroups.backends.neuroio import NeuroIO
    from asyncgroups.backends.okta import Okta
    from asyncgroups.backends.periscope import Periscope
    from asyncgroups.backends.snip import Snip
    from asyncgroups_scim import SCIM

__all__ = [
    "BACKENDS",
    "ENTRY_POINT_GROUP",
    "SCIM",
    "BackendSession",
    "Capability",
    "Graph",
    "GroupBackend",
    "NeuroIO",
    "Okta",
    "Periscope",
    "Snip",
    "available",
    "connect",
    "load",
]

ENTRY_POINT_GROUP = "asyncgroups.backends"

#: Built-in backends: registry name -> "module:attribute".
BACKENDS: dict[str, str] = {
    "graph": "asyncgroups.backends.graph:Graph",
    "neuroio": "asyncgroups.backends.neuroio:NeuroIO",
    "okta": "asyncgroups.backends.okta:Okta",
    "periscope": "asyncgroups.backends.periscope:Periscope",
    "snip": "asyncgroups.backends.snip:Snip",
}

_LAZY = {
    "Graph": "asyncgroups.backends.graph",
    "NeuroIO": "asyncgroups.backends.neuroio",
    "Okta": "asyncgroups.backends.okta",
    "Periscope": "asyncgroups.backends.periscope",
    # Several sites at once: the fan-out layer above the Client (asyncgroups.sites);
    # still reachable here, loaded on first use, never imported by the backends.
    "PeriscopeSites": "asyncgroups.sites",
    "Snip": "asyncgroups.backends.snip",
    # A plugin, registered by entry point like any third party; exposed here too.
    "SCIM": "asyncgroups_scim",
}


def available() -> list[str]:
    """Names of every backend: built-in and registered through entry points."""
    names = set(BACKENDS)
    names.update(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))
    return sorted(names)


def load(name: str) -> type[GroupBackend]:
    """The backend class registered under ``name``.

    Raises:
        ConfigurationError: no backend has that name.
    """
    target = BACKENDS.get(name)
    if target is not None:
        module, _, attr = target.partition(":")
        return getattr(importlib.import_module(module), attr)  # type: ignore[no-any-return]
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == name:
            return ep.load()  # type: ignore[no-any-return]
    raise ConfigurationError(
        f"unknown backend {name!r}; available: {', '.join(available())}"
    )


def connect(name: str, **kwargs: Any) -> GroupBackend:
    """Build a backend by registry name: ``connect("neuroio", token=...)``.

    Raises:
        ConfigurationError: no backend has that name, its arguments are wrong, or
            what it built does not satisfy
            [`GroupBackend`][asyncgroups.backends.base.GroupBackend].
    """
    factory = load(name)
    try:
        backend = factory(**kwargs)
    except TypeError as exc:
        raise ConfigurationError(
            f"bad arguments for the {name} backend: {exc}"
        ) from None
    if not isinstance(backend, GroupBackend):
        raise ConfigurationError(
            f"the {name} backend built {type(backend).__name__}, which does not "
            "satisfy the GroupBackend protocol"
        )
    return backend


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
