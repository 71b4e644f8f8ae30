"""``asyncgroups emulator KIND``: serve one standalone, seeded emulator until stopped.

It prints the URL and the test credentials the emulator generated, as ready-to-paste
``ASYNCGROUPS_*`` variables. These made-up credentials are the only ones the command
line ever prints; they open nothing but this emulator.
"""

import argparse
import asyncio
import contextlib
import signal

from asyncgroups.cli.config import env_name
from asyncgroups.cli.output import Output, plural
from asyncgroups.errors import ConfigurationError
from asyncgroups.testing import available, serve_emulator

__all__ = ["register", "run_emulator"]


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the ``emulator`` command."""
    parser = subparsers.add_parser(
        "emulator",
        help="serve a seeded emulator of one backend's API",
        description="Serve a seeded emulator until Ctrl-C; print its URL and test credentials.",
    )
    parser.add_argument("kind", metavar="KIND", help=f"one of {', '.join(available())}")
    parser.add_argument(
        "--host", default="127.0.0.1", help="interface (default: loopback)"
    )
    parser.add_argument(
        "--port", type=int, default=8080, help="TCP port; 0 picks a free one"
    )
    parser.add_argument(
        "--seed", type=int, default=1, help="seed for ids and test credentials"
    )
    parser.add_argument("--users", type=int, default=100, help="users to seed")
    parser.add_argument("--groups", type=int, default=5, help="groups to seed")
    parser.add_argument("--json", action="store_true", help="print the details as JSON")
    parser.set_defaults(handler=run_emulator)


async def run_emulator(args: argparse.Namespace, out: Output) -> int:
    """Serve the emulator until SIGINT/SIGTERM (or until the task is cancelled).

    Raises:
        ConfigurationError: unknown emulator kind or a bad port.
    """
    if args.kind not in available():
        raise ConfigurationError(
            f"unknown emulator {args.kind!r}; available: {', '.join(available())}"
        )
    if not 0 <= args.port <= 65535:
        raise ConfigurationError("--port must be between 0 and 65535")
    async with contextlib.AsyncExitStack() as stack:
        try:
            emu = await stack.enter_async_context(
                serve_emulator(
                    args.kind, seed=args.seed, host=args.host, port=args.port
                )
            )
        except OSError as exc:
            raise ConfigurationError(
                f"cannot listen on {args.host}:{args.port}: {exc.strerror}"
            ) from None
        keys = emu.store.seed_users(args.users) if args.users > 0 else []
        per_group = max(1, len(keys) // max(1, args.groups)) if keys else 0
        group_ids = [
            emu.store.seed_group(
                f"group-{i + 1}", members=keys[i * per_group : (i + 1) * per_group]
            )
            for i in range(max(0, args.groups))
        ]
        env = {env_name("backend"): emu.name, env_name("base_url"): emu.url}
        env.update({env_name(k): str(v) for k, v in emu.credentials.items()})
        if args.json:
            out.json(
                {
                    "kind": emu.name,
                    "url": emu.url,
                    "credentials": dict(emu.credentials),
                    "env": env,
                    "users": len(keys),
                    "groups": group_ids,
                }
            )
        else:
            out.line(f"{emu.name} emulator listening on {emu.url}")
            out.line(
                f"seeded {plural(len(keys), 'user')} and "
                f"{plural(len(group_ids), 'group')}"
            )
            out.line(
                "test credentials (made up by this emulator; they open nothing else):"
            )
            for key, value in env.items():
                out.line(f"  export {key}={value}")
            out.line("press Ctrl-C to stop")
        out.stdout.flush()
        await _wait_for_stop()
    out.info("emulator stopped")
    return 0


async def _wait_for_stop() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        # Outside the main thread (or on Windows) signals cannot be hooked; Ctrl-C
        # then arrives as KeyboardInterrupt/cancellation instead.
        with contextlib.suppress(ValueError, NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
    try:
        await stop.wait()
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
