"""Order sync with labels: ship every FBS posting waiting to be packed and save their labels.

    python examples/order_sync.py [LABELS_DIR]

The job is ``sync_orders(client, since, to, labels_dir)``: walk the postings awaiting packaging
with ``.iter()`` (every page), ship each one in a single package, then make their labels with
Ozon's label flow (one call starts a task per label size; ``.and_wait()`` waits for each) and
save each PDF. Here it runs against the bundled sandbox (a local shop, 60 times faster than real
time); pass your own ``OzonClient`` to run it on your shop.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

from ozon_async import BadRequestError, OzonClient
from ozon_async.testing import Sandbox, ScaledClock


async def sync_orders(
    client: OzonClient, since: datetime, to: datetime, labels_dir: Path
) -> list[Path]:
    """Ship what waits to be packed; returns the label files written."""
    shipped: list[str] = []
    waiting = client.posting.fbs_list_v4.iter(
        limit=100, filter={"since": since, "to": to, "statuses": ["awaiting_packaging"]}
    )
    async for posting in waiting:
        number = posting.posting_number
        if number is None:
            continue
        package = [{"product_id": p.sku, "quantity": p.quantity} for p in posting.products]
        try:
            await client.posting.fbs_ship_v4(
                posting_number=number, packages=[{"products": package}]
            )
        except BadRequestError as exc:  # e.g. it was cancelled meanwhile: skip it
            print(f"  {number}: not shipped ({exc.message})")
            continue
        shipped.append(number)
    labels_dir.mkdir(parents=True, exist_ok=True)
    if not shipped:
        print("nothing was waiting to be packed")
        return []
    # Ozon's label flow: one call starts a task per label size; .and_wait() waits for each
    labels = await client.posting.fbs_package_label_create_v3.and_wait(posting_numbers=shipped)
    labels.raise_for_failed()
    files = [
        await task.download(labels_dir / f"labels-{task.kind or task.task_id}.pdf")
        for task in labels.tasks
    ]
    print(f"shipped {len(shipped)} postings; labels in {len(files)} PDF file(s) in {labels_dir}")
    return files


async def main(labels_dir: Path) -> None:
    async with Sandbox(seed=11, clock=ScaledClock(speed=60)) as sandbox, sandbox.client() as client:
        now = datetime.fromtimestamp(sandbox.now(), timezone.utc)
        await sync_orders(client, now - timedelta(days=30), now, labels_dir)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1] if len(sys.argv) > 1 else "labels")))
