"""The config file: named profiles of connection settings, read with ``tomllib``.

The file is ``--config PATH``, else ``$ASYNCGROUPS_CONFIG``, else
``$XDG_CONFIG_HOME/asyncgroups/config.toml`` (``~/.config/asyncgroups/config.toml``)::

    default_profile = "prod"

    [profiles.prod]
    backend = "neuroio"
    token_env = "NEUROIO_TOKEN"  # or token_file = "neuroio.token", or token = "..."
    concurrency = 8

A profile's keys are the settings' names (`asyncgroups.cli.options`). A
credential can be named rather than written: ``NAME_env`` reads an environment
variable, ``NAME_file`` a file (stripped; a relative path is relative to the config
file). Those are read only when the profile's value is the one used. The file is
only ever read. Every problem is a `ProfileError` naming the file, the
profile and the key, never a value.
"""

import difflib
import os
import re
import stat
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

import attrs

import asyncgroups as ag
from asyncgroups.cli.config import ENV_PREFIX, SECRET_ARGUMENTS
from asyncgroups.cli.options import Option, owners
from asyncgroups.errors import ConfigurationError

__all__ = [
    "ConfigFile",
    "Entry",
    "Profile",
    "ProfileError",
    "config_location",
    "load_config",
    "select_profile",
]

CONFIG_ENV = ENV_PREFIX + "CONFIG"
PROFILE_ENV = ENV_PREFIX + "PROFILE"
_TOP_KEYS = ("default_profile", "profiles")
_FORMS = {"_env": "env", "_file": "file"}
_LINE = re.compile(r"\bline (\d+)")
#: A variable's name as it is shown in messages (anything else may be a credential).
_VARIABLE = re.compile(r"[A-Z_][A-Z0-9_]{0,63}")
#: Keys people write that are not settings, and what to write instead.
_HINTS = {
    "verify": "certificates are always verified; for a private CA set ca_file",
}


class ProfileError(ConfigurationError):
    """The config file, or the profile taken from it, is wrong.

    Attributes:
        path: the config file.
        profile: the profile in question, if one is.
        key: the key in question, if one is.
        line: the line of a TOML syntax error.
    """

    def __init__(
        self,
        message: str,
        *,
        path: Path | None = None,
        profile: str | None = None,
        key: str | None = None,
        line: int | None = None,
    ) -> None:
        super().__init__(message)
        self.path = path
        self.profile = profile
        self.key = key
        self.line = line


@attrs.frozen
class Entry:
    """One setting of a profile, as the file gives it.

    Attributes:
        key: the setting's name (``token`` for ``token_env`` too).
        form: ``value`` (written in the file), ``env`` (``KEY_env``: a variable's
            name) or ``file`` (``KEY_file``: a file, made absolute).
        raw: what the file holds; never shown (it may be a credential).
    """

    key: str
    form: Literal["value", "env", "file"]
    raw: Any = attrs.field(repr=False)

    @property
    def written_as(self) -> str:
        """The key as the file spells it (``token_env``)."""
        return self.key if self.form == "value" else f"{self.key}_{self.form}"

    def describe(self) -> str:
        """Where the value comes from, safe to show: ``token_env NEUROIO_TOKEN``."""
        if self.form == "value":
            return ""
        return f"{self.written_as} {self.raw}"


@attrs.frozen
class Profile:
    """A named ``[profiles.NAME]`` table of the config file.

    Attributes:
        name: the profile's name.
        path: the config file.
        entries: its settings by name; their values never show in a repr.
        asked_by: what chose it: ``--profile``, ``ASYNCGROUPS_PROFILE`` or
            ``default_profile``.
    """

    name: str
    path: Path
    entries: Mapping[str, Entry]
    asked_by: str = ""

    def check(self, options: Mapping[str, Option], backend: str | None) -> None:
        """Check every key and value against the settings of ``backend``.

        Raises:
            ProfileError: an unknown key (with the closest known one), a value of
                the wrong type, or a credential form for a setting that is not one.
        """
        known = sorted(
            {o.name for o in options.values()}
            | {o.name + f for o in options.values() if o.secret for f in _FORMS}
        )
        for entry in self.entries.values():
            option = options.get(entry.key)
            if option is None or (entry.form != "value" and not option.secret):
                self._unknown(entry.written_as, known, options, backend)
                continue
            if entry.form != "value":
                if not isinstance(entry.raw, str) or not entry.raw:
                    what = "a variable" if entry.form == "env" else "a file"
                    raise self.error(
                        f"{entry.written_as} must be the name of {what} (a string)",
                        key=entry.written_as,
                    )
                continue
            problem = option.problem(entry.raw)
            if problem:
                raise self.error(f"{entry.written_as} {problem}", key=entry.written_as)

    def _unknown(
        self,
        key: str,
        known: list[str],
        options: Mapping[str, Option],
        backend: str | None,
    ) -> None:
        message = f"unknown key {key!r}"
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.55)
        taken_by = owners(key, options) if backend else []
        if key in _HINTS:
            message += f": {_HINTS[key]}"
        elif close:
            message += f"; did you mean {close[0]!r}?"
        elif taken_by:
            message += (
                f": the {backend} backend does not take it ({', '.join(taken_by)} does)"
            )
        else:
            message += f"; the keys are: {', '.join(known)}"
        raise self.error(message, key=key)

    def value(self, entry: Entry, option: Option, environ: Mapping[str, str]) -> Any:
        """The value of ``entry``: as written, a variable's value or a file's.

        A file name (``ca_file``) is made absolute against the config file's folder;
        a credential is wrapped in `Secret`.

        Raises:
            ProfileError: the variable is not set, or the file cannot be read or
                is empty.
        """
        if entry.form == "value":
            if option.path:
                return str(self.path.parent / Path(entry.raw).expanduser())
            if option.kind is float:
                return float(entry.raw)
            return ag.Secret(entry.raw) if option.secret else entry.raw
        if entry.form == "env":
            found = environ.get(entry.raw)
            if found:
                return ag.Secret(found)
            if _VARIABLE.fullmatch(entry.raw):
                raise self.error(
                    f"{entry.written_as} names {entry.raw}, which is not set",
                    key=entry.written_as,
                )
            # Not shown: not a variable's usual name, so perhaps the credential.
            raise self.error(
                f"{entry.written_as} names no variable that is set; it holds the "
                "variable's name (such as NEUROIO_TOKEN), not the credential",
                key=entry.written_as,
            )
        path = self.path.parent / Path(entry.raw).expanduser()
        try:
            text = path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            raise self.error(
                f"{entry.written_as}: no such file: {path}", key=entry.written_as
            ) from None
        except (OSError, UnicodeDecodeError) as exc:
            why = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise self.error(
                f"{entry.written_as}: cannot read {path}: {why}",
                key=entry.written_as,
            ) from None
        if not text:
            raise self.error(
                f"{entry.written_as}: {path} is empty", key=entry.written_as
            )
        return ag.Secret(text)

    def error(self, text: str, *, key: str | None = None) -> ProfileError:
        """A `ProfileError` about this profile."""
        return ProfileError(
            f"{self.path}: profile {self.name!r}: {text}",
            path=self.path,
            profile=self.name,
            key=key,
        )


@attrs.frozen
class ConfigFile:
    """The config file as read.

    Attributes:
        path: where it is.
        default_profile: its ``default_profile``, if any.
        profiles: each profile's table, by name (checked when one is chosen).
        mode: its permission bits.
    """

    path: Path
    default_profile: str | None
    profiles: Mapping[str, Mapping[str, Any]] = attrs.field(repr=False)
    mode: int = 0o600

    def profile(self, name: str, asked_by: str) -> Profile:
        """The profile ``name``, with its keys sorted into entries.

        Raises:
            ProfileError: no such profile (the message names the known ones), or
                a credential given twice.
        """
        table = self.profiles.get(name)
        if table is None:
            known = ", ".join(sorted(self.profiles)) or "none"
            close = difflib.get_close_matches(name, list(self.profiles), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ProfileError(
                f"{self.path}: no profile {name!r} (asked for by {asked_by}); "
                f"profiles: {known}{hint}",
                path=self.path,
                profile=name,
            )
        entries: dict[str, Entry] = {}
        for key, raw in table.items():
            entry = _entry(key, raw)
            if entry.key in entries:
                raise ProfileError(
                    f"{self.path}: profile {name!r}: {entry.key} is given twice "
                    f"({entries[entry.key].written_as} and {entry.written_as}); "
                    "keep one",
                    path=self.path,
                    profile=name,
                    key=entry.written_as,
                )
            entries[entry.key] = entry
        return Profile(name, self.path, entries, asked_by)

    def warnings(self) -> list[str]:
        """A warning if the file holds a credential and others may read it (as ssh)."""
        if os.name != "posix" or not self.mode & 0o077:
            return []
        inline = [
            f"{name}.{key}"
            for name, table in sorted(self.profiles.items())
            for key in table
            if key in SECRET_ARGUMENTS
        ]
        if not inline:
            return []
        return [
            f"{self.path} holds credentials ({', '.join(inline)}) and can be read by "
            f"others (mode {self.mode:04o}): chmod 600 it, or name them with "
            "*_env or *_file keys"
        ]


def _entry(key: str, raw: object) -> Entry:
    for suffix, form in _FORMS.items():
        stem = key.removesuffix(suffix)
        if stem != key and stem in SECRET_ARGUMENTS:
            return Entry(stem, "file" if form == "file" else "env", raw)
    return Entry(key, "value", raw)


def config_location(
    flag: str | None, environ: Mapping[str, str]
) -> tuple[Path, str | None]:
    """The config file's path, and what named it (``None``: the default place).

    ``--config`` first, then ``ASYNCGROUPS_CONFIG``, then
    ``$XDG_CONFIG_HOME/asyncgroups/config.toml`` (an absolute ``XDG_CONFIG_HOME``
    only, as the XDG specification says), else ``~/.config/asyncgroups/config.toml``.
    """
    if flag:
        return Path(flag).expanduser(), "--config"
    if environ.get(CONFIG_ENV):
        return Path(environ[CONFIG_ENV]).expanduser(), CONFIG_ENV
    base = environ.get("XDG_CONFIG_HOME", "")
    folder = Path(base) if base and Path(base).is_absolute() else None
    if folder is None:
        home = environ.get("HOME")
        folder = (Path(home) if home else Path.home()) / ".config"
    return folder / "asyncgroups" / "config.toml", None


def load_config(path: Path, named_by: str | None) -> ConfigFile | None:
    """Read the config file at ``path``.

    Args:
        path: where it is.
        named_by: the flag or variable that named it; ``None`` for the default
            place, where a missing file is no error.

    Returns:
        The file, or ``None`` when the default place holds none.

    Raises:
        ProfileError: a named file is missing; the file cannot be read, is not
            valid TOML (the message gives the line) or has unknown or mistyped
            top-level keys.
    """
    try:
        data = path.read_bytes()
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        if named_by is None:
            return None
        raise ProfileError(
            f"no config file at {path} (named by {named_by})", path=path
        ) from None
    except OSError as exc:
        raise ProfileError(f"cannot read {path}: {exc.strerror}", path=path) from None
    try:
        document = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ProfileError(f"{path}: not UTF-8 text", path=path) from None
    except tomllib.TOMLDecodeError as exc:
        match = _LINE.search(str(exc))
        raise ProfileError(
            f"{path}: not valid TOML: {exc}",
            path=path,
            line=int(match.group(1)) if match else None,
        ) from None
    for key in document:
        if key not in _TOP_KEYS:
            close = difflib.get_close_matches(key, _TOP_KEYS, n=1)
            hint = (
                f"; did you mean {close[0]!r}?"
                if close
                else " (settings go in a [profiles.NAME] table)"
            )
            raise ProfileError(f"{path}: unknown key {key!r}{hint}", path=path, key=key)
    default = document.get("default_profile")
    if default is not None and not (isinstance(default, str) and default):
        raise ProfileError(
            f"{path}: default_profile must be a profile's name (a string)",
            path=path,
            key="default_profile",
        )
    profiles = document.get("profiles", {})
    if not isinstance(profiles, dict):
        raise ProfileError(
            f"{path}: profiles must be tables: [profiles.NAME]",
            path=path,
            key="profiles",
        )
    for name, table in profiles.items():
        if not isinstance(table, dict):
            raise ProfileError(
                f"{path}: profiles.{name} must be a table: [profiles.{name}]",
                path=path,
                profile=name,
            )
    return ConfigFile(path, default, profiles, mode)


def select_profile(
    config: ConfigFile | None,
    flag: str | None,
    environ: Mapping[str, str],
    path: Path,
) -> Profile | None:
    """The profile to use, or ``None`` when none is asked for.

    ``--profile`` first, then ``ASYNCGROUPS_PROFILE``, then the file's
    ``default_profile``.

    Raises:
        ProfileError: the profile asked for is not in the file, or there is no file.
    """
    asked: Iterable[tuple[str | None, str]] = (
        (flag, "--profile"),
        (environ.get(PROFILE_ENV), PROFILE_ENV),
        (config.default_profile if config else None, "default_profile"),
    )
    for name, asked_by in asked:
        if not name:
            continue
        if config is None:
            raise ProfileError(
                f"profile {name!r} asked for by {asked_by}, but there is no config "
                f"file at {path}",
                path=path,
                profile=name,
            )
        return config.profile(name, asked_by)
    return None
