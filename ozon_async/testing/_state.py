"""The sandbox shop: warehouses, products, FBS postings, returns, chats, reports, import tasks and
label tasks, seeded from one number and changed by the requests the sandbox serves."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from ozon_async.testing import _data as d

DAY = 86400.0


@dataclass
class Warehouse:
    warehouse_id: int
    name: str
    is_rfbs: bool
    created_at: float
    address: dict[str, Any]
    phone: str
    status: str = "created"
    archived: bool = False


@dataclass
class Product:
    product_id: int
    offer_id: str
    sku: int
    name: str
    price: str
    old_price: str
    min_price: str
    created_at: float
    updated_at: float
    description_category_id: int
    type_id: int
    barcode: str
    vat: str = "0.2"
    currency_code: str = "RUB"
    archived: bool = False
    stocks: dict[int, int] = field(default_factory=dict)  # warehouse id -> units present
    reserved: dict[int, int] = field(default_factory=dict)
    fbo_present: int = 0
    attributes: list[dict[str, Any]] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    weight: int = 500
    dimensions: tuple[int, int, int] = (100, 100, 100)

    @property
    def visible(self) -> bool:
        return not self.archived and float(self.price) > 0

    def total_present(self) -> int:
        return sum(self.stocks.values())


@dataclass
class Posting:
    posting_number: str
    order_id: int
    status: str
    substatus: str
    warehouse_id: int
    delivery_method_id: int
    in_process_at: float
    shipment_date: float
    status_changed_at: float
    products: list[dict[str, Any]]
    customer: dict[str, Any]
    is_express: bool = False
    delivering_date: float | None = None
    tracking_number: str = ""
    cancellation: dict[str, Any] = field(default_factory=dict)
    packages: list[list[dict[str, Any]]] = field(default_factory=list)

    @property
    def order_number(self) -> str:
        return self.posting_number.rsplit("-", 1)[0]

    def total(self) -> float:
        return float(sum(float(p["price"]) * int(p["quantity"]) for p in self.products))


@dataclass
class Return:
    id: int
    posting_number: str
    order_id: int
    product: dict[str, Any]
    reason: str
    status: str
    created_at: float
    warehouse_id: int
    schema: str = "Fbs"


@dataclass
class Chat:
    chat_id: str
    chat_type: str
    chat_status: str
    created_at: float
    posting_number: str | None
    messages: list[dict[str, Any]] = field(default_factory=list)
    read_up_to: int = 0

    def unread(self) -> list[dict[str, Any]]:
        return [
            m
            for m in self.messages
            if m["message_id"] > self.read_up_to and m["user"]["type"] != "Seller"
        ]


@dataclass
class Report:
    code: str
    report_type: str
    created_at: float
    params: dict[str, Any]
    fmt: str = "csv"
    polls: int = 0
    done_at: float | None = None
    content: bytes | None = None  # frozen when the report is ready


@dataclass
class LabelTask:
    """A task of /v3/posting/fbs/package-label/create: the labels of one size for some postings."""

    task_id: int
    task_type: str  # "big_label" or "small_label"
    posting_numbers: list[str]
    created_at: float
    polls: int = 0
    done_at: float | None = None
    printed: list[str] = field(default_factory=list)
    #: postings without a label: {"posting_number", "message"}
    unprinted: list[dict[str, str]] = field(default_factory=list)
    content: bytes | None = None  # the PDF, made when the task completes


@dataclass
class ImportTask:
    task_id: int
    created_at: float
    items: list[dict[str, Any]]
    results: list[dict[str, Any]]
    polls: int = 0
    done: bool = False


REASONS = ["Не подошёл размер", "Товар не соответствует описанию", "Брак", "Передумал покупать"]
RETURN_STATUSES = [
    ("ArrivedAtReturnPlace", "В пункте выдачи"),
    ("MovingToSeller", "В пути к продавцу"),
    ("ReturnedToSeller", "Получен продавцом"),
    ("Utilizing", "На утилизации"),
]
CANCEL_REASONS = [
    (352, "Товар закончился на складе продавца", "seller"),
    (400, "Покупатель отменил заказ", "client"),
    (402, "Заказ не был передан в доставку вовремя", "ozon"),
]


class ShopState:
    """Everything the sandbox shop holds. ``anchor`` is the instant the seeded history ends."""

    def __init__(
        self,
        seed: int,
        anchor: float,
        *,
        products: int = 60,
        postings: int = 300,
        warehouses: int = 4,
        returns: int = 30,
        chats: int = 12,
    ) -> None:
        self.seed = seed
        self.anchor = anchor
        self.rng = random.Random(f"ozon-sandbox:{seed}")
        self.warehouses: dict[int, Warehouse] = {}
        self.products: dict[int, Product] = {}
        self.postings: dict[str, Posting] = {}
        self.returns: dict[int, Return] = {}
        self.chats: dict[str, Chat] = {}
        self.reports: dict[str, Report] = {}
        self.tasks: dict[int, ImportTask] = {}
        self.label_tasks: dict[int, LabelTask] = {}
        self.stock_writes: dict[tuple[int, int], float] = {}
        self.price_writes: dict[int, list[float]] = {}
        self._message_seq = 10**9
        self._seed_warehouses(warehouses)
        self._seed_products(products)
        self._seed_postings(postings)
        self._seed_returns(returns)
        self._seed_chats(chats)

    # ------------------------------------------------------------------ seeding
    def _seed_warehouses(self, n: int) -> None:
        rng = self.rng
        for i in range(max(1, n)):
            wid = 1020000000000000 + rng.randint(10**9, 10**10 - 1) * 100
            addr = d.address(rng)
            rfbs = n > 1 and i == n - 1  # the last one ships rFBS (the seller delivers)
            label = "rFBS" if rfbs else d.WAREHOUSE_WORDS[i % len(d.WAREHOUSE_WORDS)]
            self.warehouses[wid] = Warehouse(
                warehouse_id=wid,
                name=f"Склад {label}, {addr['city']}",
                is_rfbs=rfbs,
                created_at=self.anchor - rng.uniform(200, 900) * DAY,
                address=addr,
                phone=d.phone(rng),
            )

    def new_product(
        self, offer: str, name: str, price: str, created: float, rng: random.Random
    ) -> Product:
        pid = rng.randint(100_000_000, 1_999_999_999)
        while pid in self.products:
            pid += 1
        price_value = float(price)
        return Product(
            product_id=pid,
            offer_id=offer,
            sku=rng.randint(1_000_000_000, 3_999_999_999),
            name=name,
            price=f"{price_value:.2f}",
            old_price=f"{round(price_value * rng.uniform(1.1, 1.6)):.2f}",
            min_price=f"{round(price_value * 0.8):.2f}",
            created_at=created,
            updated_at=created,
            description_category_id=rng.choice([17028922, 17027484, 15621048, 17028650]),
            type_id=rng.choice([94765, 93080, 970895715, 91565]),
            barcode=f"46{rng.randint(10**10, 10**11 - 1)}",
            images=[
                f"https://cdn1.ozone.ru/s3/multimedia-{rng.choice('abcdef')}/{rng.randint(6 * 10**9, 7 * 10**9)}.jpg"
            ],
            weight=rng.randint(100, 4000),
            dimensions=(rng.randint(50, 500), rng.randint(50, 500), rng.randint(20, 300)),
        )

    def _seed_products(self, n: int) -> None:
        rng = self.rng
        for i in range(n):
            offer = f"ART-{1001 + i:05d}"
            p = self.new_product(
                offer,
                d.product_name(rng),
                d.money(rng, 290, 15000),
                self.anchor - rng.uniform(30, 400) * DAY,
                rng,
            )
            p.archived = rng.random() < 0.1
            for wid in self.warehouses:
                if not p.archived and rng.random() < 0.8:
                    p.stocks[wid] = rng.randint(0, 120)
                    p.reserved[wid] = min(p.stocks[wid], rng.randint(0, 4))
            p.fbo_present = rng.randint(0, 300) if rng.random() < 0.5 else 0
            p.attributes = [
                {
                    "id": 85,
                    "complex_id": 0,
                    "values": [{"dictionary_value_id": 971082156, "value": "Нет бренда"}],
                },
                {
                    "id": 9048,
                    "complex_id": 0,
                    "values": [{"dictionary_value_id": 0, "value": p.name.split(",")[0]}],
                },
                {
                    "id": 10096,
                    "complex_id": 0,
                    "values": [{"dictionary_value_id": 61576, "value": p.name.rsplit(", ", 1)[-1]}],
                },
            ]
            self.products[p.product_id] = p

    def _seed_postings(self, n: int) -> None:
        rng = self.rng
        live = [p for p in self.products.values() if not p.archived]
        fbs = [w for w in self.warehouses.values() if not w.is_rfbs]
        for _ in range(n):
            number = d.posting_number(rng)
            while number in self.postings:
                number = d.posting_number(rng)
            age = rng.uniform(0, 30) * DAY
            started = self.anchor - age
            rfbs = [w for w in self.warehouses.values() if w.is_rfbs]
            wh = rng.choice(fbs) if rng.random() < 0.85 or not rfbs else rfbs[0]
            items = []
            for product in rng.sample(live, k=rng.choice((1, 1, 1, 2, 3))):
                items.append(
                    {
                        "product_id": product.product_id,
                        "sku": product.sku,
                        "offer_id": product.offer_id,
                        "name": product.name,
                        "quantity": rng.choice((1, 1, 1, 2)),
                        "price": product.price,
                    }
                )
            status = self._status_for_age(age, rng)
            addr = d.address(rng)
            customer = {
                "customer_id": rng.randint(10**7, 10**9),
                "name": d.full_name(rng),
                "phone": d.phone(rng),
                "address": addr,
            }
            p = Posting(
                posting_number=number,
                order_id=rng.randint(10**10, 10**11 - 1),
                status=status,
                substatus=_SUBSTATUS.get(status, f"posting_{status}"),
                warehouse_id=wh.warehouse_id,
                delivery_method_id=wh.warehouse_id + rng.randint(1, 9),
                in_process_at=started,
                shipment_date=started + rng.uniform(1, 2.5) * DAY,
                status_changed_at=min(self.anchor, started + rng.uniform(0, 3) * DAY),
                products=items,
                customer=customer,
                is_express=rng.random() < 0.05,
            )
            if status in ("delivering", "delivered", "driver_pickup", "sent_by_seller"):
                p.tracking_number = f"{rng.randint(10**11, 10**12 - 1)}"
            if status == "delivered":
                p.delivering_date = started + rng.uniform(2, 6) * DAY
            if status == "cancelled":
                reason_id, reason, initiator = rng.choice(CANCEL_REASONS)
                p.cancellation = {
                    "cancel_reason_id": reason_id,
                    "cancel_reason": reason,
                    "cancellation_type": initiator,
                    "cancellation_initiator": {
                        "seller": "Продавец",
                        "client": "Покупатель",
                        "ozon": "Ozon",
                    }[initiator],
                    "cancelled_after_ship": False,
                    "affect_cancellation_rating": initiator == "seller",
                }
            self.postings[number] = p

    @staticmethod
    def _status_for_age(age: float, rng: random.Random) -> str:
        if age < 1.5 * DAY:
            return rng.choice(["awaiting_packaging"] * 6 + ["awaiting_deliver"] * 3 + ["cancelled"])
        if age < 5 * DAY:
            return rng.choice(
                ["awaiting_deliver", "delivering", "delivering", "driver_pickup", "cancelled"]
            )
        return rng.choice(["delivered"] * 8 + ["cancelled", "not_accepted", "arbitration"])

    def _seed_returns(self, n: int) -> None:
        rng = self.rng
        done = [p for p in self.postings.values() if p.status == "delivered"]
        for i, posting in enumerate(rng.sample(done, k=min(n, len(done)))):
            item = posting.products[0]
            code, _ = rng.choice(RETURN_STATUSES)
            rid = 10**9 + (i + 1) * 7919 + rng.randint(0, 7000)
            self.returns[rid] = Return(
                id=rid,
                posting_number=posting.posting_number,
                order_id=posting.order_id,
                product=dict(item),
                reason=rng.choice(REASONS),
                status=code,
                created_at=min(
                    self.anchor,
                    (posting.delivering_date or posting.in_process_at) + rng.uniform(1, 10) * DAY,
                ),
                warehouse_id=posting.warehouse_id,
            )

    def _seed_chats(self, n: int) -> None:
        rng = self.rng
        postings = list(self.postings.values())
        for i in range(n):
            chat_id = d.ozon_uuid(rng)
            posting = rng.choice(postings) if i else None
            created = self.anchor - rng.uniform(0, 20) * DAY
            chat = Chat(
                chat_id=chat_id,
                chat_type="Buyer_Seller" if posting else "Seller_Support",
                chat_status=rng.choice(["Opened", "Opened", "Closed"]),
                created_at=created,
                posting_number=posting.posting_number if posting else None,
            )
            for j in range(rng.randint(1, 5)):
                author = "Customer" if j % 2 == 0 else "Seller"
                self.add_message(chat, author, [rng.choice(d.PHRASES)], created + j * 3600)
            chat.read_up_to = chat.messages[-1]["message_id"] if rng.random() < 0.5 else 0
            self.chats[chat_id] = chat

    # ------------------------------------------------------------------ helpers
    def add_message(self, chat: Chat, author: str, data: list[str], at: float) -> dict[str, Any]:
        self._message_seq += self.rng.randint(1, 50)
        user_id = {"Seller": "seller", "Customer": f"{self.rng.randint(10**7, 10**8)}"}.get(
            author, "support"
        )
        message = {
            "message_id": self._message_seq,
            "created_at": at,
            "user": {"id": user_id, "type": author},
            "data": data,
            "is_image": False,
        }
        chat.messages.append(message)
        return message

    def product_by(
        self, *, offer_id: Any = None, product_id: Any = None, sku: Any = None
    ) -> Product | None:
        for p in self.products.values():
            if offer_id not in (None, "") and p.offer_id == str(offer_id):
                return p
            if product_id not in (None, "", 0) and str(p.product_id) == str(product_id):
                return p
            if sku not in (None, "", 0) and str(p.sku) == str(sku):
                return p
        return None

    def pools(self) -> dict[str, list[Any]]:
        """Identifiers that exist in the shop, by field name, for generated answers."""
        products = list(self.products.values())
        postings = list(self.postings.values())[:200]
        return {
            "posting_number": [p.posting_number for p in postings],
            "parent_posting_number": [p.posting_number for p in postings],
            "order_number": [p.order_number for p in postings],
            "order_id": [p.order_id for p in postings],
            "offer_id": [p.offer_id for p in products],
            "product_id": [p.product_id for p in products],
            "sku": [p.sku for p in products],
            "product_name": [p.name for p in products],
            "warehouse_id": list(self.warehouses),
            "warehouse_name": [w.name for w in self.warehouses.values()],
            "chat_id": list(self.chats),
            "return_id": list(self.returns),
        }


_SUBSTATUS = {
    "awaiting_packaging": "posting_created",
    "awaiting_deliver": "posting_awaiting_passport_data",
    "delivering": "posting_in_carriage",
    "driver_pickup": "posting_driver_pick_up",
    "delivered": "posting_received",
    "cancelled": "posting_canceled",
    "not_accepted": "posting_not_in_carriage",
    "arbitration": "posting_in_arbitration",
    "sent_by_seller": "posting_transferred_to_courier_service",
}


def substatus(status: str) -> str:
    return _SUBSTATUS.get(status, f"posting_{status}")
