"""Backend selection and credentials for the command line: flags first, then environment.

Every backend argument can come from a flag (``--token``) or from an
``ASYNCGROUPS_*`` variable (``ASYNCGROUPS_TOKEN``); a flag wins. A profile of the
config file (`asyncgroups.cli.settings`) fills in what neither sets. Only the arguments
the chosen backend accepts are handed to it, so one environment can hold settings for
several backends. Credentials are wrapped at once and never written anywhere: this
module formats no message that holds a value, only the names of missing settings.
"""

import argparse
import inspect
import math
import os
import ssl
from collections.abc import Mapping
from typing import Any

import asyncgroups as ag
from asyncgroups.arguments import check_proxy_url
from asyncgroups.errors import ConfigurationError

__all__ = [
    "CLIENT_DEFAULTS",
    "ENV_PREFIX",
    "SECRET_ARGUMENTS",
    "add_backend_arguments",
    "add_client_arguments",
    "add_encoding_argument",
    "add_profile_arguments",
    "backend_settings",
    "build_backend",
    "build_client",
    "env_flag",
    "env_name",
    "network_settings",
]

ENV_PREFIX = "ASYNCGROUPS_"

#: Flags every backend command understands: (flag, backend argument, help);
#: ``{env}`` in the help is the flag's environment variable.
_BACKEND_FLAGS: tuple[tuple[str, str, str], ...] = (
    ("--base-url", "base_url", "API base URL, e.g. an emulator's (env {env})"),
    ("--token", "token", "API token (neuroio, snip); prefer {env}"),
    ("--site", "site", "site name (periscope; env {env})"),
    ("--api-key", "api_key", "API key (periscope); prefer {env}"),
)

#: Backend arguments that are credentials: wrapped in ``Secret``, never shown.
SECRET_ARGUMENTS = frozenset(
    {"token", "api_key", "api_token", "password", "secret", "client_secret"}
)

#: The client settings when no flag, variable or profile gives them.
CLIENT_DEFAULTS: dict[str, Any] = {
    "concurrency": 16,
    "rate": None,
    "retries": 6,
    "timeout": 30.0,
    "adaptive": True,
}


def env_name(argument: str) -> str:
    """The environment variable for a backend argument: ``api_key`` -> ``ASYNCGROUPS_API_KEY``."""
    return ENV_PREFIX + argument.upper()


def add_backend_arguments(parser: argparse.ArgumentParser, *, prefix: str = "") -> None:
    """Add ``--backend`` and the credential flags to ``parser``.

    Args:
        parser: the (sub)command parser.
        prefix: a flag prefix for a second backend (``source-`` gives ``--source-token``).
    """
    dest = prefix.replace("-", "_")
    group = parser.add_argument_group(
        f"{prefix}backend" if prefix else "backend",
        f"flags override {ENV_PREFIX}{dest.upper()}* environment variables",
    )
    group.add_argument(
        f"--{prefix}backend",
        dest=f"{dest}backend",
        metavar="NAME",
        help=f"backend: {', '.join(ag.backends.available())} "
        f"(env {ENV_PREFIX}{dest.upper()}BACKEND)",
    )
    for flag, argument, text in _BACKEND_FLAGS:
        group.add_argument(
            f"--{prefix}{flag[2:]}",
            dest=f"{dest}{argument}",
            metavar=argument.upper(),
            help=text.format(env=f"{ENV_PREFIX}{dest.upper()}{argument.upper()}"),
        )
    group.add_argument(
        f"--{prefix}test-mode",
        dest=f"{dest}test_mode",
        action="store_true",
        default=None,
        help="ask the API not to keep changes (periscope test_mode)",
    )


def add_profile_arguments(
    parser: argparse.ArgumentParser, *, top: bool = False
) -> None:
    """Add ``--config`` and ``--profile``: the config file and the profile to use.

    Args:
        parser: the command's parser (or the program's, with ``top``).
        top: the program's parser, given before the command; a command's own
            flags leave those alone unless given (``argparse.SUPPRESS``).
    """
    default = None if top else argparse.SUPPRESS
    group = parser.add_argument_group(
        "config file", f"a profile fills in what flags and {ENV_PREFIX}* do not set"
    )
    group.add_argument(
        "--config",
        metavar="PATH",
        default=default,
        help=f"the config file (env {ENV_PREFIX}CONFIG; default: "
        "$XDG_CONFIG_HOME/asyncgroups/config.toml, or ~/.config/asyncgroups/config.toml)",
    )
    group.add_argument(
        "--profile",
        metavar="NAME",
        default=default,
        help=f"a [profiles.NAME] of the config file (env {ENV_PREFIX}PROFILE; "
        "default: its default_profile)",
    )
    if not top:
        parser.set_defaults(use_profile=True)


def add_client_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the client tuning flags (concurrency, rate, retries, timeout).

    Their defaults are ``None`` ("not given"), so a variable or a profile can set
    them; `CLIENT_DEFAULTS` applies last. ``--config`` and ``--profile`` come
    with them, and mark the command: `amain` resolves
    its settings (`asyncgroups.cli.settings.prepare`) before it runs, so
    every client setting has its value by then.
    """
    add_profile_arguments(parser)
    group = parser.add_argument_group("client")
    group.add_argument(
        "--concurrency",
        type=_positive_int,
        help=f"requests in flight (default 16; env {ENV_PREFIX}CONCURRENCY)",
    )
    group.add_argument(
        "--rate",
        type=_positive_float,
        help=f"requests per second (default: none; env {ENV_PREFIX}RATE)",
    )
    group.add_argument(
        "--retries",
        type=_positive_int,
        help=f"attempts per request (default 6; env {ENV_PREFIX}RETRIES)",
    )
    group.add_argument(
        "--timeout",
        type=_positive_float,
        help=f"seconds for one attempt (default 30; env {ENV_PREFIX}TIMEOUT)",
    )
    group.add_argument(
        "--adaptive",
        action=argparse.BooleanOptionalAction,
        help="learn the server's limit from its 429s (the default; --no-adaptive: "
        f"keep to --rate; env {ENV_PREFIX}ADAPTIVE)",
    )
    network = parser.add_argument_group(
        "network", f"flags override the {ENV_PREFIX}* variable each names"
    )
    network.add_argument(
        "--proxy",
        metavar="URL",
        help="send every request through this http:// proxy, "
        f"http://[USER:PASSWORD@]HOST:PORT; prefer {env_name('proxy')} when it "
        "holds a password",
    )
    network.add_argument(
        "--trust-env",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="use HTTP_PROXY, HTTPS_PROXY, NO_PROXY and .netrc from the environment "
        f"(env {env_name('trust_env')}; default: off)",
    )
    network.add_argument(
        "--ca-file",
        metavar="PATH",
        help="trust the CA certificates in this PEM bundle instead of the system's "
        f"(env {env_name('ca_file')}); verification stays on",
    )


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be >= 1")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError("must be a positive number")
    return value


def add_encoding_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--encoding`` for the command's input files."""
    parser.add_argument(
        "--encoding",
        metavar="NAME",
        help="encoding of the input files, e.g. cp1252 or latin-1 (default: UTF-8, "
        "or UTF-16/UTF-8 when the file starts with a byte-order mark)",
    )


def backend_settings(
    args: argparse.Namespace,
    *,
    prefix: str = "",
    environ: Mapping[str, str] | None = None,
) -> tuple[str, dict[str, Any]]:
    """The backend name and its keyword arguments, from flags and environment.

    Raises:
        ConfigurationError: no backend chosen, or a required argument is missing.
    """
    env = os.environ if environ is None else environ
    dest = prefix.replace("-", "_")
    env_prefix = ENV_PREFIX + dest.upper()
    name = getattr(args, f"{dest}backend", None) or env.get(env_prefix + "BACKEND")
    if not name:
        raise ConfigurationError(
            f"no backend chosen: pass --{prefix}backend NAME or set "
            f"{env_prefix}BACKEND ({', '.join(ag.backends.available())})"
        )
    cls = ag.backends.load(name)
    try:
        params = inspect.signature(cls).parameters
    except (TypeError, ValueError):  # pragma: no cover - exotic third-party classes
        params = {}  # type: ignore[assignment]
    accepts_any = any(p.kind is p.VAR_KEYWORD for p in params.values())
    kwargs: dict[str, Any] = {}
    missing: list[str] = []
    for pname, param in params.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        value = getattr(args, f"{dest}{pname}", None)
        if value is None:
            raw = env.get(env_prefix + pname.upper())
            value = _parse_env(raw, param.default) if raw else None
        if value is not None:
            kwargs[pname] = ag.Secret(value) if pname in SECRET_ARGUMENTS else value
        elif param.default is param.empty:
            missing.append(pname)
    if accepts_any:
        for _, argument, _ in _BACKEND_FLAGS:
            value = getattr(args, f"{dest}{argument}", None)
            if value is not None and argument not in kwargs:
                kwargs[argument] = value
    if missing:
        needed = ", ".join(
            f"--{prefix}{m.replace('_', '-')} or {env_prefix}{m.upper()}"
            for m in missing
        )
        raise ConfigurationError(f"the {name} backend needs: {needed}")
    return name, kwargs


def env_flag(raw: str | None) -> bool:
    """A boolean environment variable: ``1``, ``true``, ``yes`` or ``on``."""
    return raw is not None and raw.strip().lower() in {"1", "true", "yes", "on"}


def _parse_env(raw: str, default: Any) -> Any:
    if isinstance(default, bool):
        return env_flag(raw)
    return raw


def build_backend(
    args: argparse.Namespace,
    *,
    prefix: str = "",
    environ: Mapping[str, str] | None = None,
) -> ag.GroupBackend:
    """Build the backend chosen by flags and environment.

    Raises:
        ConfigurationError: unknown backend, or missing or wrong arguments.
    """
    name, kwargs = backend_settings(args, prefix=prefix, environ=environ)
    return ag.connect(name, **kwargs)


def build_client(
    args: argparse.Namespace,
    backend: ag.GroupBackend,
    *,
    hooks: ag.Hooks | None = None,
) -> ag.Client:
    """A Client for ``backend`` tuned by the client flags.

    Args:
        args: the parsed command line.
        backend: the backend to talk to.
        hooks: transport hooks (progress, retry warnings).
    """
    concurrency = int(getattr(args, "concurrency", 16))
    rate = getattr(args, "rate", None)
    network = network_settings(args)
    return ag.Client(
        backend,
        rate_limit=ag.RateLimit(
            per_second=rate,
            burst=max(1, int(rate)) if rate else None,
            max_concurrency=concurrency,
            adaptive=bool(getattr(args, "adaptive", True)),
        ),
        retry=ag.RetryPolicy(max_attempts=int(getattr(args, "retries", 6))),
        timeout=float(getattr(args, "timeout", 30.0)),
        concurrency=concurrency,
        hooks=hooks,
        **network,
    )


def network_settings(
    args: argparse.Namespace, *, environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The Client's ``proxy``, ``trust_env`` and ``ssl_context``, flags first.

    ``--proxy``/``ASYNCGROUPS_PROXY``, ``--trust-env``/``ASYNCGROUPS_TRUST_ENV``
    and ``--ca-file``/``ASYNCGROUPS_CA_FILE``, then a profile's ``proxy``,
    ``trust_env`` and ``ca_file`` (written onto ``args`` by
    `asyncgroups.cli.settings.prepare`); only the settings given are
    returned. Messages name the flag, variable or profile, never the proxy URL
    (it may hold a password).

    Raises:
        ConfigurationError: a malformed proxy URL, or a CA file that cannot be
            read or holds no PEM certificate.
    """
    env = os.environ if environ is None else environ
    settings: dict[str, Any] = {}
    proxy, where = _flag_or_env(args, env, "proxy")
    if proxy:
        check_proxy_url(proxy, where, error=ConfigurationError)
        settings["proxy"] = proxy
    trust_env = getattr(args, "trust_env", None)
    if trust_env is None:
        trust_env = env_flag(env.get(env_name("trust_env")))
    if trust_env:
        settings["trust_env"] = True
    ca_file, where = _flag_or_env(args, env, "ca_file")
    if ca_file:
        settings["ssl_context"] = _ssl_context(ca_file, where)
    return settings


def _flag_or_env(
    args: argparse.Namespace, env: Mapping[str, str], argument: str
) -> tuple[str | None, str]:
    """A setting's value and where it came from: the flag, a profile, its variable."""
    value = getattr(args, argument, None)
    if value is not None:
        # a profile's value is written onto args; its origin names the profile
        origins = getattr(args, "setting_origins", None) or {}
        return value, origins.get(argument, f"--{argument.replace('_', '-')}")
    return env.get(env_name(argument)), env_name(argument)


def _ssl_context(path: str, where: str) -> ssl.SSLContext:
    """A verifying client context that trusts the PEM bundle at ``path``."""
    problem = ""
    try:
        return ssl.create_default_context(cafile=path)
    except ssl.SSLError:  # an OSError too: before it
        problem = "it holds no PEM certificate"
    except OSError as exc:  # missing, unreadable, a directory
        problem = exc.strerror or type(exc).__name__
    except ValueError:
        problem = "it is not a usable CA bundle"
    # raised outside the handlers: no chained OS or OpenSSL error to walk
    raise ConfigurationError(f"{where} {path!r}: cannot use it as a CA file: {problem}")
