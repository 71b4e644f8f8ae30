"""The backend registry: built-in backends by name, third-party ones by entry point.

Third-party packages register a backend class in the ``asyncgroups.backends``
entry-point group; :func:`load` finds built-in names first, then entry points.
Built-in backends are imported lazily, on first use.
"""

import importlib
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

from asyncgroups.backends.base import Capability, GroupBackend
from asyncgroups.errors import ConfigurationError

if TYPE_CHECKING:
    from asyncgroups.backends.neuroio import NeuroIO
    from asyncgroups.backends.periscope import Periscope, PeriscopeSites
    from asyncgroups.backends.snip import Snip
    from asyncgroups_scim import SCIM

__all__ = [
    "BACKENDS",
    "ENTRY_POINT_GROUP",
    "SCIM",
    "Capability",
    "GroupBackend",
    "NeuroIO",
    "Periscope",
    "PeriscopeSites",
    "Snip",
    "available",
    "load",
]

ENTRY_POINT_GROUP = "asyncgroups.backends"

#: Built-in backends: registry name -> "module:attribute".
BACKENDS: dict[str, str] = {
    "neuroio": "asyncgroups.backends.neuroio:NeuroIO",
    "periscope": "asyncgroups.backends.periscope:Periscope",
    "snip": "asyncgroups.backends.snip:Snip",
}

_LAZY = {
    "NeuroIO": "asyncgroups.backends.neuroio",
    "Periscope": "asyncgroups.backends.periscope",
    "PeriscopeSites": "asyncgroups.backends.periscope",
    "Snip": "asyncgroups.backends.snip",
    # A plugin, registered by entry point like any third party; exposed here too.
    "SCIM": "asyncgroups_scim",
}


def available() -> list[str]:
    """Names of every backend: built-in and registered through entry points."""
    names = set(BACKENDS)
    names.update(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))
    return sorted(names)


def load(name: str) -> type[Any]:
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


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
