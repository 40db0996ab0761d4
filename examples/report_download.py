"""A report from start to file: ``.and_wait()`` creates it and waits, the download follows.

    python examples/report_download.py [FILE]

Ozon makes reports in the background: the create call answers with a code, and
``/v1/report/info`` says when the file is ready. ``.and_wait(...)`` does both (with the spec's
pause between checks, growing, and a bounded wait), and the result's ``download(path)`` fetches
the file through ``client.download``, which never sends your credentials to the file's host.
Here it runs against the bundled sandbox; pass your own ``OzonClient`` to ``products_report``.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from ozon_async import OzonClient
from ozon_async.testing import Sandbox, ScaledClock


async def products_report(client: OzonClient, target: Path) -> Path:
    done = await client.report.products_create_v1.waiting(
        timeout=600,
        on_check=lambda status: print(
            f"  report: {status.result.status if status.result else '?'}"
        ),
    )(language="DEFAULT", visibility="ALL")
    done.raise_for_failed()  # TaskFailedError when Ozon could not make it

    def progress(received: int, total: int | None) -> None:
        print(f"  downloaded {received:,} of {total:,} bytes" if total else f"  {received:,} bytes")

    path = await done.download(target, progress=progress)
    print(f"report {done.task_id}: {done.checks} checks, {path.stat().st_size:,} bytes in {path}")
    return path


async def main(target: Path) -> None:
    async with Sandbox(seed=3, clock=ScaledClock(speed=60)) as sandbox, sandbox.client() as client:
        await products_report(client, target)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1] if len(sys.argv) > 1 else "products.csv")))
