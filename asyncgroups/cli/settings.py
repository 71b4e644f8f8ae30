"""Where each setting of a command comes from: flag, environment, profile, default.

For every setting (`asyncgroups.cli.options`) the first of these that gives
it wins:

1. its flag (``--base-url``);
2. its ``ASYNCGROUPS_*`` variable (``ASYNCGROUPS_BASE_URL``; an empty one is unset);
3. the chosen profile of the config file (`asyncgroups.cli.profiles`);
4. its default.

The backend is chosen first, by the same rule, since the other settings are its
arguments. `prepare` writes the result onto the parsed command line, so the
commands and `build_backend` see one set of values;
`resolve` also says where each came from (``asyncgroups config show``).
Credentials are wrapped in `Secret` and shown masked.
"""

import argparse
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import attrs

import asyncgroups as ag
from asyncgroups import _redact
from asyncgroups.cli.config import CLIENT_DEFAULTS
from asyncgroups.cli.options import Option, options_for
from asyncgroups.cli.profiles import (
    Profile,
    config_location,
    load_config,
    select_profile,
)
from asyncgroups.errors import ConfigurationError

__all__ = ["Resolution", "Setting", "prepare", "resolve"]

DEFAULT = "default"


@attrs.frozen
class Setting:
    """One setting's value and where it came from.

    Attributes:
        option: the setting.
        value: its value (a credential is a `Secret`, or the
            flag's text); never in the repr.
        origin: ``--token``, ``ASYNCGROUPS_TOKEN``, ``profile prod (token_env
            NEUROIO_TOKEN)`` or ``default``.
        layer: which of the four gave it: ``flag``, ``env``, ``profile`` or
            ``default``.
    """

    option: Option = attrs.field(repr=lambda o: o.name)
    value: Any = attrs.field(repr=False)
    origin: str
    layer: Literal["flag", "env", "profile", "default"]

    def shown(self) -> str:
        """The value as it may be shown: credentials masked, URLs without user info."""
        if self.option.secret:
            return _redact.REDACTED
        if isinstance(self.value, bool):
            return "true" if self.value else "false"
        if self.option.name == "proxy" or self.option.name.endswith("url"):
            return _redact.url(str(self.value))
        return str(self.value)

    def plain(self) -> object:
        """The value for a JSON document: masked as `shown`, else as it is."""
        if self.option.secret or isinstance(self.value, str):
            return self.shown()
        return self.value


@attrs.frozen
class Resolution:
    """The settings of one command and where each came from.

    Attributes:
        config: the config file's path (whether or not it exists).
        config_found: it exists.
        profile: the chosen profile, if any.
        profiles: every profile's name in the file.
        settings: each setting that has a value, by name.
        warnings: what the user should know (a credential in a file others read).
    """

    config: Path
    config_found: bool
    profile: Profile | None
    profiles: tuple[str, ...]
    settings: Mapping[str, Setting]
    warnings: tuple[str, ...] = ()


def resolve(
    args: argparse.Namespace, environ: Mapping[str, str] | None = None
) -> Resolution:
    """Every setting of the command in ``args``, by flag > variable > profile > default.

    Args:
        args: the parsed command line (its ``config`` and ``profile`` too).
        environ: the environment (default: ``os.environ``).

    Raises:
        ProfileError: the config file or the profile is wrong, or a credential it
            names cannot be read.
        ConfigurationError: an unknown backend; a variable that is not a number.
    """
    env = os.environ if environ is None else environ
    path, named_by = config_location(getattr(args, "config", None), env)
    config = load_config(path, named_by)
    profile = select_profile(config, getattr(args, "profile", None), env, path)
    backend_option = Option("backend", str, None, "--backend")
    chosen = _pick(backend_option, args, env, profile)
    backend = str(chosen.value) if chosen is not None else None
    try:
        options = options_for(backend)
    except ConfigurationError as exc:
        if profile is None or chosen is None or chosen.layer != "profile":
            raise
        raise profile.error(f"backend: {exc}", key="backend") from None
    if profile is not None:
        profile.check(options, backend)
    settings: dict[str, Setting] = {}
    for option in options.values():
        setting = _pick(option, args, env, profile)
        if setting is not None:
            settings[option.name] = setting
    return Resolution(
        path,
        config is not None,
        profile,
        tuple(sorted(config.profiles)) if config else (),
        settings,
        tuple(config.warnings()) if config else (),
    )


def _pick(
    option: Option,
    args: argparse.Namespace,
    environ: Mapping[str, str],
    profile: Profile | None,
) -> Setting | None:
    value = getattr(args, option.name, None)
    if value is not None:
        return Setting(option, value, option.flag or "flag", "flag")
    raw = environ.get(option.env)
    if raw:
        value = option.from_text(raw, option.env)
        value = ag.Secret(value) if option.secret else value
        return Setting(option, value, option.env, "env")
    entry = profile.entries.get(option.name) if profile is not None else None
    if profile is not None and entry is not None:
        how = entry.describe()
        origin = f"profile {profile.name}" + (f" ({how})" if how else "")
        return Setting(option, profile.value(entry, option, environ), origin, "profile")
    if option.default is not None:
        return Setting(option, option.default, DEFAULT, "default")
    return None


def prepare(
    args: argparse.Namespace, environ: Mapping[str, str] | None = None
) -> Resolution:
    """Resolve the command's settings and write them onto ``args``.

    A flag's value stays as it is; a profile's takes the place of the flag's
    ``None``. A variable's value is left for the code that reads the variable
    after the flag (`backend_settings` and the like,
    whose messages then name the variable), except for the client's settings,
    which have no such reader: their variables' values and defaults are written.
    ``args.setting_origins`` tells where each value came from.

    Returns:
        The resolution (its ``warnings`` are for the caller to show).

    Raises:
        ProfileError: see `resolve`.
        ConfigurationError: see `resolve`.
    """
    resolution = resolve(args, environ)
    for name, setting in resolution.settings.items():
        if getattr(args, name, None) is not None:
            continue  # the flag's
        if name in CLIENT_DEFAULTS or setting.layer == "profile":
            setattr(args, name, setting.value)
    args.setting_origins = {n: s.origin for n, s in resolution.settings.items()}
    return resolution
