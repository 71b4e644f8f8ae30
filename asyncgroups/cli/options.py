"""The settings a command that talks to an API has, and how each is written.

One `Option` per setting: its name (the flag's destination, the profile's key
and, upper-cased after ``ASYNCGROUPS_``, its environment variable), its type, its
default and whether it is a credential. The backend's own settings come from its
class's signature, so a third-party backend's arguments are settings too. Nothing
here formats a message that holds a value: problems name the setting and the type
it wants, never what was given.
"""

import inspect
import math
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

import asyncgroups as ag
from asyncgroups.cli.config import (
    CLIENT_DEFAULTS,
    ENV_PREFIX,
    SECRET_ARGUMENTS,
    env_flag,
)
from asyncgroups.errors import ConfigurationError

__all__ = ["Option", "backend_options", "options_for", "owners"]

_TYPE_NAMES = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "true or false",
}


@attrs.frozen
class Option:
    """One setting of a command.

    Attributes:
        name: the flag's destination, the profile key (``base_url``).
        kind: ``str``, ``int``, ``float`` or ``bool``.
        default: the value when nothing sets it (``None``: unset).
        flag: the command-line flag that sets it, if there is one.
        secret: a credential (wrapped in `Secret`, shown masked;
            a profile may name it by ``NAME_env`` or ``NAME_file``).
        positive: numbers must be above zero.
        path: a file name (in a profile, relative to the config file's folder).
    """

    name: str
    kind: type
    default: Any = None
    flag: str | None = None
    secret: bool = False
    positive: bool = False
    path: bool = False

    @property
    def env(self) -> str:
        """The environment variable: ``ASYNCGROUPS_`` and the upper-cased name."""
        return ENV_PREFIX + self.name.upper()

    def problem(self, value: object) -> str | None:
        """What is wrong with ``value`` (from a TOML file) for this setting, if anything."""
        if self.kind is float:
            right = isinstance(value, int | float) and not isinstance(value, bool)
        elif self.kind is int:
            right = isinstance(value, int) and not isinstance(value, bool)
        else:
            right = isinstance(value, self.kind)
        if not right:
            return f"must be {_TYPE_NAMES[self.kind]} (not {_describe(value)})"
        if self.kind in (int, float):
            number = float(value)  # type: ignore[arg-type]
            if not math.isfinite(number):
                return "must be a finite number"
            if self.positive and number <= 0:
                return "must be above zero"
        if self.kind is str and not value:
            return "must not be empty"
        return None

    def from_text(self, raw: str, origin: str) -> Any:
        """The value of an environment variable's text.

        Raises:
            ConfigurationError: not a number where one is needed (the message
                names ``origin``, never the text).
        """
        if self.kind is bool:
            return env_flag(raw)
        if self.kind is str:
            return raw
        try:
            value: float = int(raw) if self.kind is int else float(raw)
        except ValueError:
            raise ConfigurationError(
                f"{origin} must be {_TYPE_NAMES[self.kind]}"
            ) from None
        problem = self.problem(value)
        if problem:
            raise ConfigurationError(f"{origin} {problem}")
        return value


def _describe(value: object) -> str:
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return "a date or time"


#: The connection settings besides the backend's own: the client's tuning, then the
#: network options (``--proxy``, ``--ca-file``, ``--trust-env``).
_CLIENT_OPTIONS: tuple[Option, ...] = (
    Option(
        "concurrency",
        int,
        CLIENT_DEFAULTS["concurrency"],
        "--concurrency",
        positive=True,
    ),
    Option("rate", float, CLIENT_DEFAULTS["rate"], "--rate", positive=True),
    Option("retries", int, CLIENT_DEFAULTS["retries"], "--retries", positive=True),
    Option("timeout", float, CLIENT_DEFAULTS["timeout"], "--timeout", positive=True),
    Option("adaptive", bool, CLIENT_DEFAULTS["adaptive"], "--adaptive"),
    Option("proxy", str, None, "--proxy"),
    Option("ca_file", str, None, "--ca-file", path=True),
    Option("trust_env", bool, None, "--trust-env"),
)

#: Backend arguments that have a flag on every command that talks to an API.
_FLAGGED = frozenset({"base_url", "token", "site", "api_key", "test_mode"})


def _flag(name: str) -> str | None:
    return "--" + name.replace("_", "-") if name in _FLAGGED else None


def backend_options(name: str) -> tuple[Option, ...]:
    """The settings the backend ``name`` takes, from its class's signature.

    Arguments of other types than text, numbers and booleans (a clock) are left out.

    Raises:
        ConfigurationError: no backend has that name.
    """
    cls = ag.backends.load(name)
    try:
        params = inspect.signature(cls).parameters
    except (TypeError, ValueError):  # pragma: no cover - exotic third-party classes
        return ()
    found: list[Option] = []
    for pname, param in params.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        default = None if param.default is param.empty else param.default
        if default is not None and type(default) not in (str, int, float, bool):
            continue
        secret = pname in SECRET_ARGUMENTS
        kind = str if default is None or secret else type(default)
        found.append(
            Option(pname, kind, None if secret else default, _flag(pname), secret)
        )
    return tuple(found)


def options_for(backend: str | None) -> dict[str, Option]:
    """Every setting of a command talking to ``backend``, by name.

    Without a backend, the settings of every available backend, with no defaults
    (they differ between backends).

    Raises:
        ConfigurationError: no backend has that name.
    """
    names: Iterable[str] = [backend] if backend else ag.backends.available()
    found: dict[str, Option] = {"backend": Option("backend", str, None, "--backend")}
    for name in names:
        try:
            options = backend_options(name)
        except (ConfigurationError, ImportError):
            if backend:
                raise
            continue  # a plugin that cannot load: its settings are not known
        for option in options:
            if backend is None:
                option = attrs.evolve(option, default=None)
            found.setdefault(option.name, option)
    found.update((o.name, o) for o in _CLIENT_OPTIONS)
    return found


def owners(key: str, options: Mapping[str, Option]) -> list[str]:
    """The available backends that take ``key``, when ``options`` does not.

    ``key`` may be a credential's ``NAME_env`` or ``NAME_file`` form.
    """
    for suffix in ("_env", "_file"):
        stem = key.removesuffix(suffix)
        if stem != key and stem in SECRET_ARGUMENTS:
            key = stem
    if key in options:
        return []
    owning: list[str] = []
    for name in ag.backends.available():
        try:
            if any(o.name == key for o in backend_options(name)):
                owning.append(name)
        except (ConfigurationError, ImportError):  # pragma: no cover - broken plugin
            continue
    return owning
