"""The sandbox sends push notifications, as Ozon does: ``Sandbox(push_url=...)`` posts the
matching event when the shop changes, pings the URL when it starts, and sends an event again,
at growing intervals, until it is answered with 200.

Resending follows Ozon's rules (``RESEND_MAX_INTERVAL``, ``RESEND_AT_MAX`` of the spec's
``x-ozon-push``): the first resend 5 sandbox seconds after the failure (Ozon says "a few"),
each wait twice the one before up to the maximum, then that many more at the maximum.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import aiohttp
import msgspec

from ozon_async.push._events import ANSWER_WITHIN, RESEND_AT_MAX, RESEND_MAX_INTERVAL, STATES
from ozon_async.testing import _data as d
from ozon_async.testing._state import Chat, Posting, Product, substatus

if TYPE_CHECKING:
    from ozon_async.testing._clock import SandboxClock
    from ozon_async.testing._shop import Shop

__all__ = ["PushDelivery", "PushSender", "ozon_resend_delays"]


def ozon_resend_delays(first: float = 5.0) -> tuple[float, ...]:
    """Seconds to wait before each resend: doubling from ``first`` up to Ozon's maximum, then
    Ozon's number of resends at the maximum."""
    delays: list[float] = []
    wait = first
    while wait < RESEND_MAX_INTERVAL:
        delays.append(wait)
        wait *= 2
    return (*delays, *([float(RESEND_MAX_INTERVAL)] * RESEND_AT_MAX))


@dataclass
class PushDelivery:
    """One event the sandbox sent: its body and each attempt (sandbox time, then the HTTP status
    or the error). ``delivered`` once answered with 200; ``gave_up`` after the last resend."""

    message_type: str
    body: dict[str, Any]
    attempts: list[tuple[float, int | str]] = field(default_factory=list)
    delivered: bool = False
    gave_up: bool = False

    @property
    def finished(self) -> bool:
        return self.delivered or self.gave_up


class PushSender:
    """Posts events to ``url`` as Ozon does (JSON body, one request per event, answered within
    ``timeout`` seconds or counted as failed), resending with ``resend_delays`` sandbox seconds
    between attempts."""

    def __init__(
        self,
        url: str,
        clock: SandboxClock,
        *,
        timeout: float = ANSWER_WITHIN,
        resend_delays: Sequence[float] | None = None,
    ) -> None:
        self.url = url
        self.clock = clock
        self.timeout = timeout
        self.resend_delays = tuple(ozon_resend_delays() if resend_delays is None else resend_delays)
        self.deliveries: list[PushDelivery] = []
        #: Ozon's check of the URL at start: the problems found, in the codes of
        #: /v1/notification/check (empty: the URL answered the ping correctly).
        self.ping_errors: list[str] | None = None
        self._session: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.timeout),
            headers={"User-Agent": "ozon_async-sandbox-push"},
        )
        self.ping_errors = await self.ping()

    async def stop(self) -> None:
        for t in list(self._tasks):
            t.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks))
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def settle(self, timeout: float = 30.0) -> None:
        """Wait (at most ``timeout`` real seconds) until every event sent so far was delivered or
        given up on."""

        async def wait() -> None:
            while self._tasks:
                await asyncio.wait(list(self._tasks))

        await asyncio.wait_for(wait(), timeout)

    def send(self, body: dict[str, Any]) -> PushDelivery:
        """Queue an event; it is posted at once and resent until answered with 200."""
        delivery = PushDelivery(str(body.get("message_type")), body)
        self.deliveries.append(delivery)
        task = asyncio.get_running_loop().create_task(self._deliver(delivery))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return delivery

    async def _post(self, body: dict[str, Any]) -> tuple[int | str, bytes, str]:
        if self._session is None:
            return "not started", b"", ""
        try:
            async with self._session.post(
                self.url,
                data=msgspec.json.encode(body),
                headers={"Content-Type": "application/json"},
            ) as resp:
                return resp.status, await resp.read(), resp.content_type
        except asyncio.TimeoutError:
            return "REQUEST_TIMEOUT", b"", ""
        except aiohttp.ClientError as exc:
            return f"REQUEST_ERROR: {exc}", b"", ""

    async def _deliver(self, delivery: PushDelivery) -> None:
        for wait in (0.0, *self.resend_delays):
            if wait:
                await self.clock.sleep(wait)
            status, _, _ = await self._post(delivery.body)
            delivery.attempts.append((self.clock.now(), status))
            if status == 200:
                delivery.delivered = True
                return
        delivery.gave_up = True

    async def ping(self) -> list[str]:
        """Send ``TYPE_PING`` and check the answer the way Ozon's URL check does; the problems
        found, as /v1/notification/check names them."""
        body = {"message_type": "TYPE_PING", "time": d.iso(self.clock.now())}
        status, content, ctype = await self._post(body)
        if isinstance(status, str):
            return [status.split(":", 1)[0]]
        if status >= 500:
            return ["SERVER_FAULT"]
        if status != 200:
            return ["STATUS_CODE_NOT_OK"]
        if not content.strip():
            return ["EMPTY_BODY"]
        if ctype != "application/json":
            return ["INVALID_BODY"]
        try:
            answer = msgspec.json.decode(content)
        except msgspec.DecodeError:
            return ["INVALID_JSON"]
        if not isinstance(answer, dict) or not all(
            isinstance(answer.get(k), str) for k in ("version", "name", "time")
        ):
            return ["WRONG_RESULT_FIELD"]
        try:
            datetime.fromisoformat(str(answer["time"]).replace("Z", "+00:00"))
        except ValueError:
            return ["WRONG_RESULT_TIME_FIELD"]
        return []


# ---------------------------------------------------------------------- events of the shop
def push_state(status: str) -> str:
    """The push status of a Seller API posting status (the first the spec pairs with it)."""
    states = STATES["TYPE_STATE_CHANGED"].get(status)
    return states[0] if states else substatus(status)


def state_changed(sb: Shop, p: Posting, now: float) -> dict[str, Any]:
    return {
        "message_type": "TYPE_STATE_CHANGED",
        "posting_number": p.posting_number,
        "new_state": push_state(p.status),
        "changed_state_date": d.iso(now),
        "warehouse_id": p.warehouse_id,
        "seller_id": sb.company_id,
    }


def posting_cancelled(
    sb: Shop, p: Posting, old_status: str, reason: tuple[int, str], now: float
) -> dict[str, Any]:
    return {
        "message_type": "TYPE_POSTING_CANCELLED",
        "posting_number": p.posting_number,
        "products": [{"sku": it["sku"], "quantity": it["quantity"]} for it in p.products],
        "old_state": push_state(old_status),
        "new_state": "posting_canceled",
        "changed_state_date": d.iso(now),
        "reason": {"id": reason[0], "message": reason[1]},
        "warehouse_id": p.warehouse_id,
        "seller_id": sb.company_id,
    }


def new_posting(sb: Shop, p: Posting) -> dict[str, Any]:
    return {
        "message_type": "TYPE_NEW_POSTING",
        "posting_number": p.posting_number,
        "products": [
            {"sku": it["sku"], "offer_id": it["offer_id"], "quantity": it["quantity"]}
            for it in p.products
        ],
        "in_process_at": d.iso(p.in_process_at),
        "warehouse_id": p.warehouse_id,
        "shipment_date": d.iso(p.shipment_date),
        "tpl_integration_type": "ozon",
        "is_express": p.is_express,
        "tracking_number": p.tracking_number,
        "delivery_date_begin": d.iso(p.shipment_date + 86400),
        "delivery_date_end": d.iso(p.shipment_date + 3 * 86400),
        "seller_id": sb.company_id,
    }


def stocks_changed(sb: Shop, changed: dict[int, set[int]], now: float) -> dict[str, Any]:
    """``changed``: product id -> the warehouses whose stock changed."""
    items = []
    for pid, warehouses in changed.items():
        p = sb.state.products[pid]
        items.append(
            {
                "product_id": p.product_id,
                "sku": p.sku,
                "updated_at": d.iso(now),
                "stocks": [
                    {
                        "warehouse_id": wid,
                        "present": p.stocks.get(wid, 0),
                        "reserved": p.reserved.get(wid, 0),
                    }
                    for wid in sorted(warehouses)
                ],
            }
        )
    return {"message_type": "TYPE_STOCKS_CHANGED", "seller_id": sb.company_id, "items": items}


def item_changed(
    sb: Shop, offer_id: str, product_id: int, is_error: bool, now: float
) -> dict[str, Any]:
    return {
        "message_type": "TYPE_CREATE_OR_UPDATE_ITEM",
        "seller_id": sb.company_id,
        "offer_id": offer_id,
        "product_id": product_id,
        "is_error": is_error,
        "changed_at": d.iso(now),
    }


def new_message(sb: Shop, chat: Chat, message: dict[str, Any]) -> dict[str, Any]:
    return {
        "message_type": "TYPE_NEW_MESSAGE",
        "chat_id": chat.chat_id,
        "chat_type": chat.chat_type,
        "message_id": str(message["message_id"]),
        "created_at": d.iso(message["created_at"]),
        "user": dict(message["user"]),
        "data": list(message["data"]),
        "seller_id": sb.company_id,
    }


# ---------------------------------------------------------------------- what a buyer does
def place_order(
    sb: Shop, items: Sequence[tuple[Product, int]], warehouse_id: int | None = None
) -> Posting:
    """A buyer orders ``items`` (product, quantity): a new FBS posting awaiting packaging."""
    state = sb.state
    now = sb.now()
    rng = random.Random(f"{state.seed}:order:{len(state.postings)}")
    number = d.posting_number(rng)
    while number in state.postings:
        number = d.posting_number(rng)
    fbs = [w for w in state.warehouses.values() if not w.is_rfbs and not w.archived]
    wid = (
        warehouse_id
        if warehouse_id is not None
        else (fbs or list(state.warehouses.values()))[0].warehouse_id
    )
    if wid not in state.warehouses:
        raise ValueError(f"warehouse {wid} not found")
    if not items:
        raise ValueError("an order needs at least one product")
    products = []
    for product, qty in items:
        if qty < 1:
            raise ValueError("quantities must be at least 1")
        products.append(
            {
                "product_id": product.product_id,
                "sku": product.sku,
                "offer_id": product.offer_id,
                "name": product.name,
                "quantity": qty,
                "price": product.price,
            }
        )
    p = Posting(
        posting_number=number,
        order_id=rng.randint(10**10, 10**11 - 1),
        status="awaiting_packaging",
        substatus=substatus("awaiting_packaging"),
        warehouse_id=wid,
        delivery_method_id=wid + rng.randint(1, 9),
        in_process_at=now,
        shipment_date=now + 86400,
        status_changed_at=now,
        products=products,
        customer={
            "customer_id": rng.randint(10**7, 10**9),
            "name": d.full_name(rng),
            "phone": d.phone(rng),
            "address": d.address(rng),
        },
    )
    state.postings[number] = p
    sb.push(new_posting(sb, p))
    return p


def buyer_writes(sb: Shop, chat_id: str, text: str) -> dict[str, Any]:
    """A buyer writes in a chat: the message is added and ``TYPE_NEW_MESSAGE`` sent."""
    chat = sb.state.chats.get(chat_id)
    if chat is None:
        raise ValueError(f"chat {chat_id} not found")
    if not text.strip():
        raise ValueError("the message is empty")
    message = sb.state.add_message(chat, "Customer", [text], sb.now())
    sb.push(new_message(sb, chat, message))
    return message
