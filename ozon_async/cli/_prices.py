"""``ozon prices``: product prices (``ozon prices push FILE``)."""

from __future__ import annotations

import click

from ozon_async.cli._rows import push_command
from ozon_async.cli._runner import CONTEXT

__all__ = ["prices"]


@click.group(context_settings=CONTEXT)
def prices() -> None:
    """Product prices."""


prices.add_command(
    push_command(
        "POST /v1/product/import/prices",
        "prices push",
        "offer_id,price,old_price,min_price   (or product_id; other columns: currency_code,\n"
        "        vat, auto_action_enabled, ... as in the model)\n"
        "        ART-1,1490.00,1990.00,1290.00",
    )
)
