"""One-line messages for a server that cannot listen (the sandbox, the MCP server's HTTP)."""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

__all__ = ["OneLineParser", "listen_error"]


class OneLineParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors are one line (``prog: message (see --help)``)
    and exit code 2, instead of the whole usage block."""

    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: {message} (see --help)", file=sys.stderr)
        raise SystemExit(2)


def listen_error(exc: OSError, host: str, port: int) -> str:
    """One line for a server that cannot listen (a busy port, a host not on this machine)."""
    import errno

    where = f"{host}:{port}"
    if exc.errno == errno.EADDRINUSE:
        return f"port {port} is already in use on {host} (choose another with --port, or 0)"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"not allowed to listen on {where} (ports below 1024 need privileges)"
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"cannot listen on {where}: {host} is not an address of this machine"
    return f"cannot listen on {where}: {exc.strerror or exc}"
