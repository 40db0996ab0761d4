"""Realistic data for the sandbox: Russian names and addresses, Ozon-shaped identifiers, and a
generator that fills any schema of the spec with plausible values.

Everything is drawn from a :class:`random.Random` the caller seeds, so the same seed gives the same
data. The schema generator works from field names, formats, enums and the values seen in the
spec's own examples; it never writes the placeholder ``"string"``.
"""

from __future__ import annotations

import random
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

# ---------------------------------------------------------------------------- vocabulary
FIRST_NAMES_M = [
    "Александр",
    "Дмитрий",
    "Максим",
    "Сергей",
    "Андрей",
    "Алексей",
    "Артём",
    "Илья",
    "Кирилл",
    "Михаил",
    "Никита",
    "Матвей",
    "Роман",
    "Егор",
    "Иван",
    "Павел",
]
FIRST_NAMES_F = [
    "Анна",
    "Мария",
    "Елена",
    "Ольга",
    "Наталья",
    "Татьяна",
    "Ирина",
    "Екатерина",
    "Светлана",
    "Юлия",
    "Дарья",
    "Алина",
    "Ксения",
    "Полина",
    "Виктория",
    "Софья",
]
LAST_NAMES = [
    "Иванов",
    "Смирнов",
    "Кузнецов",
    "Попов",
    "Васильев",
    "Петров",
    "Соколов",
    "Михайлов",
    "Новиков",
    "Фёдоров",
    "Морозов",
    "Волков",
    "Алексеев",
    "Лебедев",
    "Семёнов",
    "Егоров",
    "Павлов",
    "Козлов",
    "Степанов",
    "Николаев",
]
PATRONYMICS_M = ["Александрович", "Дмитриевич", "Сергеевич", "Андреевич", "Игоревич", "Олегович"]
PATRONYMICS_F = ["Александровна", "Дмитриевна", "Сергеевна", "Андреевна", "Игоревна", "Олеговна"]
CITIES = [
    ("Москва", "Москва", "101000", 55.7558, 37.6173),
    ("Санкт-Петербург", "Санкт-Петербург", "190000", 59.9343, 30.3351),
    ("Новосибирск", "Новосибирская область", "630000", 55.0084, 82.9357),
    ("Екатеринбург", "Свердловская область", "620000", 56.8389, 60.6057),
    ("Казань", "Республика Татарстан", "420000", 55.7887, 49.1221),
    ("Нижний Новгород", "Нижегородская область", "603000", 56.2965, 43.9361),
    ("Самара", "Самарская область", "443000", 53.1959, 50.1002),
    ("Ростов-на-Дону", "Ростовская область", "344000", 47.2357, 39.7015),
    ("Краснодар", "Краснодарский край", "350000", 45.0355, 38.9753),
    ("Воронеж", "Воронежская область", "394000", 51.6720, 39.1843),
    ("Пермь", "Пермский край", "614000", 58.0105, 56.2502),
    ("Тверь", "Тверская область", "170000", 56.8587, 35.9176),
]
STREETS = [
    "ул. Ленина",
    "ул. Гагарина",
    "ул. Мира",
    "пр-т Победы",
    "ул. Советская",
    "ул. Садовая",
    "ул. Лесная",
    "Московское ш.",
    "ул. Пушкина",
    "ул. Строителей",
    "Новая ул.",
    "ул. Заводская",
]
DISTRICTS = ["Центральный", "Ленинский", "Октябрьский", "Кировский", "Советский", "Заречный"]
PRODUCT_KINDS = [
    ("Футболка", "хлопковая"),
    ("Кружка", "керамическая"),
    ("Рюкзак", "городской"),
    ("Чехол для смартфона", "силиконовый"),
    ("Настольная лампа", "светодиодная"),
    ("Термос", "стальной"),
    ("Коврик для йоги", "нескользящий"),
    ("Наушники", "беспроводные"),
    ("Сковорода", "антипригарная"),
    ("Плед", "флисовый"),
    ("Набор отвёрток", "прецизионный"),
    ("Органайзер", "настольный"),
    ("Зонт", "складной"),
    ("Полотенце", "махровое"),
    ("Бутылка для воды", "спортивная"),
    ("Кабель USB-C", "плетёный"),
    ("Ежедневник", "датированный"),
    ("Свеча", "ароматическая"),
    ("Подушка", "ортопедическая"),
    ("Контейнер", "пищевой"),
]
COLORS = ["чёрный", "белый", "серый", "синий", "красный", "зелёный", "бежевый", "розовый"]
COMPANIES = [
    "ООО «Ромашка»",
    "ООО «Северный ветер»",
    "ИП Смирнова А. В.",
    "ООО «ТехноДом»",
    "АО «Уральские товары»",
    "ООО «Лавка мастеров»",
]
WAREHOUSE_WORDS = ["Основной", "Север", "Юг", "Экспресс", "Резерв", "Крупногабарит"]
PHRASES = [
    "Здравствуйте! Когда отправите заказ?",
    "Спасибо, всё пришло в целости.",
    "Подскажите, есть ли этот товар другого цвета?",
    "Заказ собран и передан в доставку.",
    "Товар соответствует описанию.",
    "Можно изменить адрес доставки?",
    "Добрый день! Уточните, пожалуйста, размер.",
    "Упаковка была повреждена при доставке.",
]
ERROR_CODES = ["INVALID_VALUE", "VALIDATION_FAILED", "NOT_FOUND", "ATTRIBUTE_MISSING"]
KNOWN_WORDS: dict[str, list[str]] = {
    "tpl_integration_type": ["ozon", "3pl_tracking", "non_integrated", "aggregator"],
    "delivery_schema": ["FBS", "RFBS"],
    "sort_dir": ["ASC", "DESC"],
    "dir": ["ASC", "DESC"],
    "direction": ["Forward", "Backward"],
    "dimension_unit": ["mm", "cm"],
    "weight_unit": ["g", "kg"],
    "language": ["DEFAULT", "RU", "EN"],
    "chat_status": ["Opened", "Closed"],
    "chat_type": ["Buyer_Seller", "Seller_Support"],
    "vat": ["0", "0.1", "0.2"],
    "level": ["error", "warning"],
    "warehouse_type": ["FBS", "RFBS", "EXPRESS"],
    "payment_type_group_name": ["Карты оплаты", "Ozon Карта", "СБП"],
    "delivery_type": ["PVZ", "Courier", "Postamat"],
    "cargo_type": ["BOX", "PALLET"],
    "utc": ["UTC+03:00"],
    "utc_offset": ["+03:00"],
    "warehouse_timezone": ["Europe/Moscow"],
    "sale_schema": ["FBO", "FBS", "RFBS"],
    "source": ["sds", "fbo", "fbs"],
    "user_type": ["Customer", "Seller", "Support"],
    "prr_option": ["lift", "stairs", "none"],
    "first_mile_type": ["DropOff", "Pickup"],
}

PLACEHOLDERS = {"string", "String", "str", ""}
DIGITS_PATTERN = re.compile(r"^\^?-?\??(\[0-9\]|\\d)[+*]\$?$")


# ---------------------------------------------------------------------------- Ozon-shaped values
def money(rng: random.Random, low: float = 190.0, high: float = 25000.0) -> str:
    """A price with two decimals, as Ozon writes them in strings (``"1490.00"``)."""
    value = rng.uniform(low, high)
    return f"{round(value / 10) * 10 - rng.choice((0, 1, 10)):.2f}"


def posting_number(rng: random.Random) -> str:
    """``0123456789-0001-1``: order number, then the posting's number within the order."""
    return f"{rng.randint(10**9, 10**10 - 1):010d}-{rng.randint(1, 120):04d}-{rng.randint(1, 3)}"


def offer_id(rng: random.Random, n: int | None = None) -> str:
    prefix = rng.choice(["ART", "SKU", "PH", "OF", "TS"])
    return f"{prefix}-{n if n is not None else rng.randint(1000, 99999):05d}"


def ozon_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def person(rng: random.Random) -> tuple[str, str, str]:
    """(first name, last name, patronymic), with matching genders."""
    if rng.random() < 0.5:
        return rng.choice(FIRST_NAMES_M), rng.choice(LAST_NAMES), rng.choice(PATRONYMICS_M)
    return rng.choice(FIRST_NAMES_F), rng.choice(LAST_NAMES) + "а", rng.choice(PATRONYMICS_F)


def full_name(rng: random.Random) -> str:
    first, last, middle = person(rng)
    return f"{last} {first} {middle}"


def phone(rng: random.Random) -> str:
    return f"+79{rng.randint(0, 999_999_999):09d}"


def address(rng: random.Random) -> dict[str, Any]:
    city, region, zip_prefix, lat, lon = rng.choice(CITIES)
    street = f"{rng.choice(STREETS)}, д. {rng.randint(1, 120)}"
    flat = f", кв. {rng.randint(1, 300)}" if rng.random() < 0.6 else ""
    return {
        "city": city,
        "region": region,
        "district": rng.choice(DISTRICTS),
        "zip_code": f"{zip_prefix[:3]}{rng.randint(0, 999):03d}",
        "address_tail": f"{street}{flat}",
        "address": f"{region}, г. {city}, {street}{flat}",
        "country": "Россия",
        "latitude": round(lat + rng.uniform(-0.1, 0.1), 6),
        "longitude": round(lon + rng.uniform(-0.1, 0.1), 6),
    }


def product_name(rng: random.Random) -> str:
    kind, adjective = rng.choice(PRODUCT_KINDS)
    return f"{kind} {adjective}, {rng.choice(COLORS)}"


def iso(ts: float) -> str:
    """Epoch seconds as Ozon writes instants: ``2026-03-02T09:00:00Z`` (milliseconds dropped)."""
    return datetime.fromtimestamp(int(ts), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: Any) -> float | None:
    """An ISO instant (or date) from a request, as epoch seconds; ``None`` when absent or invalid."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()


# ---------------------------------------------------------------------------- schema generator
@dataclass
class GenContext:
    """What the generator knows beyond the schema.

    Attributes:
        rng: the random source (seeded by the caller).
        now: the sandbox's time (epoch seconds).
        since, to: the time range the request asked about; dates are drawn inside it.
        pools: values that exist in the shop, by field name (``posting_number``, ``sku``...).
        echo: identifier values the request carried, by field name; answers reuse them.
        examples: scalar values seen in the spec's examples, by field name.
    """

    rng: random.Random
    now: float
    since: float | None = None
    to: float | None = None
    pools: Mapping[str, list[Any]] = field(default_factory=dict)
    echo: Mapping[str, list[Any]] = field(default_factory=dict)
    examples: Mapping[str, list[Any]] = field(default_factory=dict)

    def instant(self) -> float:
        to = self.to if self.to is not None else self.now
        since = self.since if self.since is not None else to - 30 * 86400
        if since > to:
            since, to = to, since
        return self.rng.uniform(since, to)


_ID_SUFFIXES = ("_id", "_ids", "Id", "Ids")
_MONEY_WORDS = (
    "price",
    "amount",
    "sum",
    "commission",
    "payout",
    "cost",
    "fee",
    "charge",
    "compensation",
    "revenue",
    "balance",
    "payment",
    "accrual",
    "bonus",
    "discount_value",
)
_COUNT_WORDS = (
    "quantity",
    "count",
    "stock",
    "present",
    "reserved",
    "qty",
    "free_to_sell",
    "items_number",
    "boxes",
)


def is_id_key(key: str) -> bool:
    return key in ("id", "sku", "skus", "ids") or key.endswith(_ID_SUFFIXES)


def singular(key: str) -> str:
    return key[:-1] if key.endswith("s") and not key.endswith("ss") else key


class SchemaFaker:
    """Values for the spec's schemas. ``generate(schema, ctx)`` returns JSON-ready data."""

    def __init__(self, spec: Mapping[str, Any], max_depth: int = 7) -> None:
        self.schemas: Mapping[str, Any] = spec.get("components", {}).get("schemas", {})
        self.max_depth = max_depth
        # resolve()'s answers for schemas with a $ref or a combination, and shape()'s for every
        # schema, by id (the schema is kept with its answer, so the id stays its own): answers
        # draw on the same few thousand schemas again and again
        self._resolved: dict[int, tuple[Any, dict[str, Any]]] = {}
        self._shapes: dict[int, tuple[Any, dict[str, Any], str]] = {}

    # -- schema helpers
    def resolve(self, schema: Any) -> dict[str, Any]:
        """``schema`` with its ``$ref`` followed and ``anyOf``/``oneOf``/``allOf`` merged into
        one schema (callers must not change it)."""
        if isinstance(schema, dict) and not _COMPOSED.intersection(schema):
            return schema
        done = self._resolved.get(id(schema))
        if done is not None and done[0] is schema:
            return done[1]
        result = self._resolve(schema)
        if len(self._resolved) > 100_000:  # schemas made on the fly, not the spec's: start over
            self._resolved.clear()
        self._resolved[id(schema)] = (schema, result)
        return result

    def _resolve(self, schema: Any) -> dict[str, Any]:
        seen = 0
        while isinstance(schema, dict) and "$ref" in schema and seen < 50:
            schema = self.schemas.get(schema["$ref"].rsplit("/", 1)[-1], {})
            seen += 1
        if not isinstance(schema, dict):
            return {}
        for key in ("anyOf", "oneOf"):
            if key in schema:
                options = [self.resolve(s) for s in schema[key]]
                real = [o for o in options if _main_type(o) != "null"]
                merged = dict(real[0] if real else {})
                for k, v in schema.items():
                    if k not in (key, "$ref"):
                        merged.setdefault(k, v)
                return merged
        if "allOf" in schema:
            combined: dict[str, Any] = {"type": "object", "properties": {}}
            for part in schema["allOf"]:
                part = self.resolve(part)
                combined["properties"].update(part.get("properties", {}))
                for k, v in part.items():
                    if k != "properties":
                        combined.setdefault(k, v)
            return combined
        return schema

    def shape(self, schema: Any) -> tuple[dict[str, Any], str]:
        """``resolve(schema)`` and its main type (``kind``)."""
        done = self._shapes.get(id(schema))
        if done is not None and done[0] is schema:
            return done[1], done[2]
        resolved = self.resolve(schema)
        kind = _main_type(resolved)
        if len(self._shapes) > 100_000:  # schemas made on the fly, not the spec's: start over
            self._shapes.clear()
        self._shapes[id(schema)] = (schema, resolved, kind)
        return resolved, kind

    def properties(self, schema: Any) -> dict[str, Any]:
        props: dict[str, Any] = self.resolve(schema).get("properties", {})
        return props

    def kind(self, schema: Any) -> str:
        return self.shape(schema)[1]

    # -- generation
    def generate(
        self, schema: Any, ctx: GenContext, key: str = "", path: tuple[str, ...] = ()
    ) -> Any:
        return self._gen(schema, ctx, key, path, 0)

    def _gen(
        self, schema: Any, ctx: GenContext, key: str, path: tuple[str, ...], depth: int
    ) -> Any:
        s, kind = self.shape(schema)
        if kind == "object":
            out: dict[str, Any] = {}
            if depth >= self.max_depth:
                return out
            for name, sub in s.get("properties", {}).items():
                out[name] = self._gen(sub, ctx, name, (*path, name), depth + 1)
            order_ranges(out)
            return out
        if kind == "array":
            lo = int(s.get("minItems", 0))
            hi = int(s.get("maxItems", 3))
            hi = min(hi, 3 if depth < 4 else 1)
            if depth >= self.max_depth or hi <= 0:
                return []
            echoed = ctx.echo.get(key) or ctx.echo.get(singular(key))
            n = max(lo, min(hi, len(echoed))) if echoed else ctx.rng.randint(max(lo, 1), max(hi, 1))
            item_key = singular(key)
            return [
                self._gen(s.get("items", {}), ctx, item_key, (*path, key), depth + 1)
                for _ in range(n)
            ]
        return self.scalar(s, ctx, key, path, kind)

    def scalar(
        self, s: dict[str, Any], ctx: GenContext, key: str, path: tuple[str, ...], kind: str
    ) -> Any:
        rng = ctx.rng
        if kind == "null":
            return None
        if "const" in s:
            return s["const"]
        # the documented values of an answer string (x-ozon-known-values) are realistic too
        listed = s.get("enum") or s.get("x-ozon-known-values") or []
        enum = [e for e in listed if e not in PLACEHOLDERS and e is not None]
        if enum:
            typed = [e for e in enum if _matches(e, kind)]
            return rng.choice(typed or enum)
        if kind == "boolean":
            return rng.random() < 0.5
        if kind == "integer":
            return self._integer(s, ctx, key, path)
        if kind == "number":
            return self._number(s, ctx, key)
        if kind == "string":
            if DIGITS_PATTERN.match(s.get("pattern", "")):
                return str(self._integer(s, ctx, key, path))
            return self._string(s, ctx, key, path)
        return None

    def _pick(self, ctx: GenContext, key: str) -> Any:
        for source in (ctx.echo, ctx.pools):
            values = source.get(key) or source.get(singular(key))
            if values:
                return ctx.rng.choice(values)
        return None

    def _integer(self, s: dict[str, Any], ctx: GenContext, key: str, path: tuple[str, ...]) -> int:
        rng = ctx.rng
        low = s.get("minimum")
        high = s.get("maximum")
        k = key.lower()
        if is_id_key(key) or k in ("sku", "order_id"):
            found = self._pick(ctx, key)
            if found is not None and str(found).lstrip("-").isdigit():
                return int(found)
            value = ozon_int_id(rng, k)
        elif any(w in k for w in _COUNT_WORDS):
            value = rng.randint(0, 40)
        elif k in ("total", "total_count", "unread_count", "total_unread_count"):
            value = rng.randint(0, 60)
        elif k in ("page", "page_number", "first_page"):
            value = 1
        elif k in ("limit", "page_size"):
            value = 100
        elif k in ("offset",):
            value = 0
        elif "percent" in k or "rate" in k:
            value = rng.randint(0, 100)
        elif k in ("height", "width", "depth", "length"):
            value = rng.randint(50, 600)
        elif "weight" in k:
            value = rng.randint(100, 5000)
        elif k in ("year",):
            value = datetime.fromtimestamp(ctx.now, timezone.utc).year
        elif "days" in k or k == "day":
            value = rng.randint(1, 30)
        elif any(w in k for w in _MONEY_WORDS):
            value = rng.randint(100, 20000)
        elif "rating" in k or k in ("score", "stars"):
            value = rng.randint(1, 5)
        else:
            value = rng.randint(1, 500)
        if low is not None and value < low:
            value = int(low)
        if high is not None and value > high:
            value = int(high)
        return value

    def _number(self, s: dict[str, Any], ctx: GenContext, key: str) -> float:
        rng = ctx.rng
        k = key.lower()
        if k in ("latitude", "lat"):
            value = round(rng.uniform(45.0, 60.0), 6)
        elif k in ("longitude", "lon", "lng"):
            value = round(rng.uniform(30.0, 90.0), 6)
        elif "percent" in k:
            value = round(rng.uniform(0, 40), 2)
        elif "ratio" in k or "share" in k:
            value = round(rng.uniform(0, 1), 3)
        elif "index" in k or k.endswith("_rate") or k == "rate":
            value = round(rng.uniform(0.5, 1.5), 2)
        elif "rating" in k:
            value = round(rng.uniform(3.5, 5.0), 1)
        elif "weight" in k or "volume" in k:
            value = round(rng.uniform(0.1, 12.0), 3)
        elif any(w in k for w in _MONEY_WORDS) or k in ("vat", "acquiring"):
            value = (
                float(money(rng, 20, 20000)) if k not in ("vat",) else rng.choice((0.0, 0.1, 0.2))
            )
        elif any(w in k for w in _COUNT_WORDS):
            value = float(rng.randint(0, 40))
        else:
            value = round(rng.uniform(1, 1000), 2)
        low, high = s.get("minimum"), s.get("maximum")
        if low is not None and value < low:
            value = float(low)
        if high is not None and value > high:
            value = float(high)
        return value

    def _string(self, s: dict[str, Any], ctx: GenContext, key: str, path: tuple[str, ...]) -> str:
        """A plausible value for a string field, by its format and name (``path`` leads to it)."""
        k = key.lower()
        fmt = s.get("format")
        where = " ".join(path[:-1]).lower()
        found = self._pick(ctx, key) if (is_id_key(key) or k in _POOL_STRINGS) else None
        if found is not None:
            return str(found)
        for rule in (self._string_codes, self._string_places, self._string_goods):
            value = rule(key, k, fmt, where, ctx)
            if value is not None:
                return value
        return self._string_text(key, k, where, ctx)

    def _string_codes(self, key: str, k: str, fmt: Any, where: str, ctx: GenContext) -> str | None:
        """Dates, ids, codes, money and contact details."""
        rng = ctx.rng
        if fmt == "date-time" or k.endswith(("_at", "moment", "timestamp")) or k in _DATETIME_KEYS:
            return iso(ctx.instant())
        if (
            fmt == "date"
            or k == "date"
            or k.endswith(("_date", "date_from", "date_to"))
            or k.startswith("date_")
        ):
            return iso(ctx.instant())[:10]
        if fmt == "uuid" or k.endswith(("uuid", "token", "chat_id")):
            return ozon_uuid(rng)
        if fmt in ("uri", "url") or k.endswith(("url", "link", "_src")) or k in _IMAGE_KEYS:
            ext = "pdf" if "pdf" in k or k in ("file", "file_url") else "jpg"
            return f"https://cdn1.ozone.ru/s3/multimedia-{rng.choice('abcdef')}/{rng.randint(6 * 10**9, 7 * 10**9)}.{ext}"
        if k in ("posting_number", "parent_posting_number"):
            return posting_number(rng)
        if k == "order_number":
            return posting_number(rng).rsplit("-", 1)[0]
        if k in ("offer_id", "new_offer_id"):
            return offer_id(rng)
        if "currency" in k:
            return "RUB"
        if k in ("country_iso_code", "country_code"):
            return "RU"
        if k == "country":
            return "Россия"
        if k in KNOWN_WORDS:
            return rng.choice(KNOWN_WORDS[k])
        if k == "vat":
            return rng.choice(("0", "0.1", "0.2"))
        if any(w in k for w in _MONEY_WORDS) or k in ("minimal_price", "min_price", "net_price"):
            return money(rng)
        if "phone" in k:
            return phone(rng)
        if "email" in k:
            first = rng.choice(["anna", "ivan", "olga", "petr", "maria", "sergey"])
            return f"{first}.{rng.randint(10, 999)}@example.ru"
        if k in ("inn", "payer_inn", "receiver_inn"):
            return f"{rng.randint(10**9, 10**10 - 1)}"
        if k.endswith("kpp"):
            return f"{rng.randint(10**8, 10**9 - 1)}"
        if "zip" in k or "postal" in k:
            return f"{rng.randint(100000, 699999)}"
        return None

    def _string_places(self, key: str, k: str, fmt: Any, where: str, ctx: GenContext) -> str | None:
        """Places, people, companies and carriers."""
        rng = ctx.rng
        if k in (
            "city",
            "warehouse_city",
            "cluster_from",
            "cluster_to",
            "region",
            "district",
            "address",
            "address_tail",
            "dropoff_address",
            "destination_place_name",
        ):
            addr = address(rng)
            return str(addr.get(k, addr["city"] if "cluster" in k else addr["address"]))
        if k in ("first_name",):
            return person(rng)[0]
        if k in ("last_name",):
            return person(rng)[1]
        if k == "patronymic":
            return person(rng)[2]
        if k.endswith(("driver_name", "customer_name", "client_name", "courier_name")) or (
            k == "name"
            and any(
                w in where for w in ("customer", "addressee", "user", "driver", "courier", "buyer")
            )
        ):
            return full_name(rng)
        if "company" in k or k in ("payer_name", "receiver_name", "seller_name", "platform_name"):
            return rng.choice(COMPANIES)
        if k in ("warehouse_name", "warehouse") or (k == "name" and "warehouse" in where):
            return str(
                rng.choice(
                    ctx.pools.get("warehouse_name") or [f"Склад {rng.choice(WAREHOUSE_WORDS)}"]
                )
            )
        if "delivery_method" in k or (k == "name" and "delivery_method" in where):
            return f"Доставка Ozon самостоятельно, {rng.choice(CITIES)[0]}"
        if k in ("tpl_provider", "tpl_provider_name"):
            return "Доставка Ozon"
        return None

    def _string_goods(self, key: str, k: str, fmt: Any, where: str, ctx: GenContext) -> str | None:
        """Marks, customs numbers, vehicles and product names."""
        rng = ctx.rng
        if "barcode" in k:
            return f"OZN{rng.randint(10**9, 10**10 - 1)}"
        if k in ("mandatory_mark", "mark"):
            return f"0104601234567890215{rng.randint(10**6, 10**7 - 1)}"
        if k == "gtd":
            return f"10702070/{datetime.fromtimestamp(ctx.now, timezone.utc):%d%m%y}/{rng.randint(10**6, 10**7 - 1)}"
        if k == "rnpt":
            return f"10702070/{rng.randint(10**6, 10**7 - 1)}/{rng.randint(1, 99):02d}"
        if k in ("imei",):
            return f"{rng.randint(10**14, 10**15 - 1)}"
        if k in ("vehicle_license_plate", "car_number"):
            letters = "АВЕКМНОРСТУХ"
            return f"{rng.choice(letters)}{rng.randint(100, 999)}{rng.choice(letters)}{rng.choice(letters)}{rng.choice((77, 97, 99, 177, 750))}"
        if k in ("vehicle_model", "car_model"):
            return rng.choice(["ГАЗель Next", "Ford Transit", "Лада Ларгус"])
        if k in ("name", "product_name", "title", "name_search", "offer_name") or k.endswith(
            "product_name"
        ):
            names = ctx.pools.get("product_name")
            return (
                str(rng.choice(names))
                if names and "product" in (where + " " + k)
                else product_name(rng)
            )
        return None

    def _string_text(self, key: str, k: str, where: str, ctx: GenContext) -> str:
        """Messages, numbers, examples from the spec, and a made-up value last."""
        rng = ctx.rng
        if k.startswith("error") or k in ("rejection_comment",):
            return ""
        if k == "code" and "error" in where:
            return rng.choice(ERROR_CODES)
        if any(
            w in k for w in ("text", "message", "comment", "description", "reason", "hint", "info")
        ):
            return rng.choice(PHRASES)
        if k in ("cursor", "last_id"):
            return ozon_uuid(rng).replace("-", "")[:16]
        if k in ("tracking_number", "return_number", "ru_post_tracking_number"):
            return f"RU{rng.randint(10**8, 10**9 - 1)}RU"
        if k.endswith("number"):
            return f"{rng.randint(10**6, 10**8 - 1)}"
        if k in ("pin", "code"):
            return f"{rng.randint(1000, 999999)}"
        seen = [
            v for v in ctx.examples.get(key, []) if isinstance(v, str) and v not in PLACEHOLDERS
        ]
        if seen:
            return str(rng.choice(seen))
        if "status" in k or "state" in k:
            return rng.choice(["active", "processing", "completed"])
        if "type" in k:
            return rng.choice(["default", "regular", "standard"])
        return f"{key.replace('_', '-')}-{rng.randint(100, 99999)}"

    # -- shaping a handler's answer
    def fit(
        self,
        value: Any,
        schema: Any,
        ctx: GenContext,
        key: str = "",
        path: tuple[str, ...] = (),
        depth: int = 0,
    ) -> Any:
        """``value`` made to follow ``schema``: missing properties are generated, keys the schema
        does not know are dropped, scalars converted where the schema wants another JSON type."""
        s, kind = self.shape(schema)
        if value is None:
            return None
        if kind == "object":
            props = s.get("properties")
            if not isinstance(value, dict):
                generated = self._gen(s, ctx, key, path, depth)
                for slot in ("amount", "value", "price"):
                    if props and slot in props and isinstance(value, (str, int, float)):
                        generated[slot] = self.fit(
                            value, props[slot], ctx, slot, (*path, slot), depth + 1
                        )
                        break
                return generated
            if not props:
                return value
            out: dict[str, Any] = {}
            for name, sub in props.items():
                if name in value:
                    out[name] = self.fit(value[name], sub, ctx, name, (*path, name), depth + 1)
                else:
                    out[name] = self._gen(sub, ctx, name, (*path, name), depth + 1)
            order_ranges(out, fixed=set(value))
            return out
        if kind == "array":
            if not isinstance(value, list):
                value = [value]
            item_key = singular(key)
            return [
                self.fit(v, s.get("items", {}), ctx, item_key, (*path, key), depth + 1)
                for v in value
            ]
        if kind == "string":
            if isinstance(value, bool):
                return "true" if value else "false"
            if isinstance(value, float):
                return f"{value:.2f}"
            return value if isinstance(value, str) else str(value)
        if kind == "integer":
            if isinstance(value, str) and value.lstrip("-").isdigit():
                return int(value)
            if isinstance(value, float):
                return int(value)
            return value
        if kind == "number":
            if isinstance(value, str):
                try:
                    return float(value)
                except ValueError:
                    return value
            return value
        if kind == "boolean" and isinstance(value, str):
            return value == "true"
        return value


_POOL_STRINGS = {"posting_number", "parent_posting_number", "order_number", "offer_id"}
_DATETIME_KEYS = {
    "since",
    "to",
    "time_from",
    "time_to",
    "from",
    "created",
    "updated",
    "timeslot_from",
    "timeslot_to",
}
_IMAGE_KEYS = {
    "picture",
    "image",
    "images",
    "primary_image",
    "color_image",
    "images360",
    "file",
    "file_url",
    "photo",
}


def ozon_int_id(rng: random.Random, key: str) -> int:
    """An identifier of the size Ozon uses for that kind of object."""
    if "warehouse" in key or "delivery_method" in key:
        return 1020000000000000 + rng.randint(10**9, 10**10 - 1) * 100
    if key in ("sku", "skus") or key.endswith("sku"):
        return rng.randint(1_000_000_000, 3_999_999_999)
    if "order" in key:
        return rng.randint(10**10, 10**11 - 1)
    if "task" in key:
        return rng.randint(10**9, 4 * 10**9)
    if "product" in key:
        return rng.randint(100_000_000, 1_999_999_999)
    if "category" in key or "type_id" in key or "attribute" in key:
        return rng.randint(10_000, 99_999_999)
    return rng.randint(10_000_000, 9_999_999_999)


_COMPOSED = frozenset(("$ref", "anyOf", "oneOf", "allOf"))


def _main_type(s: Mapping[str, Any]) -> str:
    t = s.get("type")
    if isinstance(t, list):
        t = next((x for x in t if x != "null"), "null")
    if t is None:
        if "properties" in s or "additionalProperties" in s:
            return "object"
        if "items" in s:
            return "array"
        if s.get("enum"):
            first = s["enum"][0]
            return "integer" if isinstance(first, int) else "string"
        return "object"
    return str(t)


def as_dict(value: Any) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def _matches(value: Any, kind: str) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    return True


def example_values(spec: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Scalar values per field name, collected from every answer example in the spec."""
    out: dict[str, set[Any]] = {}

    def walk(node: Any, key: str) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, k)
        elif isinstance(node, list):
            for v in node:
                walk(v, key)
        elif isinstance(node, str) and node not in PLACEHOLDERS and "string" not in node.lower():
            out.setdefault(key, set()).add(node)

    for item in spec.get("paths", {}).values():
        for op in item.values():
            for media in op.get("responses", {}).get("200", {}).get("content", {}).values():
                if "example" in media:
                    walk(media["example"], "")
    return {k: sorted(v) for k, v in out.items()}


def request_echo(body: Any) -> dict[str, list[Any]]:
    """Identifier values a request carries, by field name (lists flattened)."""
    out: dict[str, list[Any]] = {}

    def add(key: str, value: Any) -> None:
        if isinstance(value, (str, int)) and not isinstance(value, bool) and value not in ("", 0):
            out.setdefault(key, []).append(value)
            out.setdefault(singular(key), [])
            if singular(key) != key:
                out[singular(key)].append(value)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if is_id_key(k) or k in _POOL_STRINGS or singular(k) in _POOL_STRINGS:
                    for item in v if isinstance(v, list) else [v]:
                        add(k, item)
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(body)
    return {k: v for k, v in out.items() if v}


def first_time(body: Any, names: Iterable[str]) -> float | None:
    """The first of ``names`` found anywhere in a request body that parses as an instant."""
    wanted = set(names)
    stack = [body]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for k, v in node.items():
                if k in wanted:
                    t = parse_time(v)
                    if t is not None:
                        return t
                if isinstance(v, (dict, list)):
                    stack.append(v)
        elif isinstance(node, list):
            stack.extend(node)
    return None


def answer_range(body: Any, now: float) -> tuple[float | None, float | None]:
    """The time range a request asks about (``since``/``to``, ``date_from``/``date_to``, a
    ``year`` and ``month``...), or ``None`` ends."""
    if isinstance(body, dict) and isinstance(body.get("year"), int) and 2000 < body["year"] < 2100:
        month = (
            body.get("month")
            if isinstance(body.get("month"), int) and 1 <= body["month"] <= 12
            else None
        )
        first = datetime(body["year"], month or 1, 1, tzinfo=timezone.utc)
        if month is None:
            last = datetime(body["year"] + 1, 1, 1, tzinfo=timezone.utc)
        else:
            last = datetime(body["year"] + month // 12, month % 12 + 1, 1, tzinfo=timezone.utc)
        return first.timestamp(), last.timestamp() - 1
    since = first_time(
        body,
        (
            "since",
            "date_from",
            "from",
            "time_from",
            "processed_at_from",
            "period_from",
            "cutoff_from",
            "created_from",
            "start_date",
        ),
    )
    to = first_time(
        body,
        (
            "to",
            "date_to",
            "time_to",
            "processed_at_to",
            "period_to",
            "cutoff_to",
            "created_to",
            "end_date",
        ),
    )
    if since is not None and to is None:
        to = min(now, since + 30 * 86400) if since < now else since + 86400
    if to is not None and since is None:
        since = to - 30 * 86400
    return since, to


# Pairs of sibling fields that bound a range, by their names: (start, end) patterns where ``*``
# stands for the same text in both.
_RANGE_PAIRS = (
    ("*_from", "*_to"),
    ("from_*", "to_*"),
    ("*_start", "*_end"),
    ("start_*", "end_*"),
    ("*_begin", "*_end"),
    ("begin_*", "end_*"),
    ("min_*", "max_*"),
    ("*_min", "*_max"),
)
_WHOLE_PAIRS = (("from", "to"), ("since", "to"), ("start", "end"), ("begin", "end"),
                ("created_at", "updated_at"))  # fmt: skip
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}")


def _comparable(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return False
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return True
    return isinstance(a, str) and isinstance(b, str) and bool(_ISO.match(a) and _ISO.match(b))


#: The range pairs of an object, by its keys (objects of one schema have the same keys).
_PAIRS_BY_KEYS: dict[tuple[str, ...], tuple[tuple[str, str], ...]] = {}


def _range_pairs(keys: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """The (start, end) keys among ``keys`` that bound a range."""
    found = _PAIRS_BY_KEYS.get(keys)
    if found is not None:
        return found
    present = set(keys)
    pairs = [p for p in _WHOLE_PAIRS if p[0] in present and p[1] in present]
    for start, end in _RANGE_PAIRS:
        head, _, tail = start.partition("*")
        for key in keys:
            if key.startswith(head) and key.endswith(tail) and len(key) > len(head) + len(tail):
                middle = key[len(head) : len(key) - len(tail)]
                other = end.replace("*", middle)
                if other in present:
                    pairs.append((key, other))
    if len(_PAIRS_BY_KEYS) > 10_000:  # objects not made from the spec's schemas: start over
        _PAIRS_BY_KEYS.clear()
    found = _PAIRS_BY_KEYS[keys] = tuple(pairs)
    return found


def order_ranges(obj: dict[str, Any], fixed: set[str] | frozenset[str] = frozenset()) -> None:
    """Make generated ranges consistent: where an object has both ends of a range
    (``timetable_from``/``timetable_to``, ``since``/``to``, ``min_price``/``max_price``...), the
    start is not after the end: two generated values are swapped, and a generated end that
    contradicts a ``fixed`` one (the shop's own value) takes that value."""
    for a, b in _range_pairs(tuple(obj)):
        lo, hi = obj[a], obj[b]
        if not (_comparable(lo, hi) and lo > hi) or (a in fixed and b in fixed):
            continue
        if a in fixed:
            obj[b] = lo
        elif b in fixed:
            obj[a] = hi
        else:
            obj[a], obj[b] = hi, lo
