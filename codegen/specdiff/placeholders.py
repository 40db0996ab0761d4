"""Placeholders in the spec's examples: the rule that finds them, and realistic replacements.

Examples reach users through docstrings, ``ozon ops`` and the MCP server, where assistants copy
them into real calls, so an example must look like data a seller really sends or receives. A
value is a **placeholder** when it is

* a filler word: ``"string"``, ``"example"``, ``"sample"``, ``"test"``, ``"text"``, ``"value"``,
  ``"foo"``, ``"bar"``, ``"xxx"``, ``"placeholder"``, ``"lorem ipsum"``... (the whole value, in
  lower case as generators write it: ``"String"`` is a real attribute type);
* a default that documentation generators fill in: the date-time ``2019-08-24T14:15:22Z``, the
  date ``2019-08-24``, the UUIDs ``3fa85f64-5717-4562-b3fc-2c963f66afa6`` and
  ``497f6eca-6276-4993-bfeb-53cbbbba6f08``, ``user@example.com``;
* a counting run used as a number: ``123456`` up to ``1234567890123...`` (as a number or a
  decimal string, six digits or more);
* a zero or empty identifier: ``0``, ``"0"`` or ``""`` in a field that names a thing (``id``,
  ``*_id``, ``*_ids`` items, ``sku``, ``skus``, ``posting_number``, ``offer_id``...). Positions
  that mean "the first page" (``last_id``, ``cursor``, ``offset``, ``page``) and references to a
  thing that may be absent in an answer (``parent_posting_number``...) are not identifiers here.

:func:`find` lists every placeholder in every example of the spec (request bodies, answers,
error answers and parameters); ``tests/test_spec_examples.py`` fails on any. :func:`repair`
replaces each with a realistic value that fits its schema (Russian product names, posting
numbers such as ``57195475-0050-3``, SKUs, dates in 2026) and, where the example came from Ozon,
records the change in ``x-ozon-example-repairs``. Run it with
``python -m codegen.specdiff --fix-placeholders``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

#: Whole values (compared trimmed, case-sensitive) that only stand for "some value".
FILLER_WORDS = frozenset(
    {
        "string",
        "example",
        "sample",
        "test",
        "text",
        "value",
        "foo",
        "bar",
        "baz",
        "xxx",
        "placeholder",
        "lorem ipsum",
        "todo",
        "tbd",
        "undefined",
        "null",
    }
)
#: Values that documentation generators (Swagger UI, Stoplight, Redoc) fill in.
GENERATED = frozenset(
    {
        "2019-08-24T14:15:22Z",
        "2019-08-24T14:15:22.000Z",
        "2019-08-24",
        "14:15:22Z",
        "3fa85f64-5717-4562-b3fc-2c963f66afa6",
        "497f6eca-6276-4993-bfeb-53cbbbba6f08",
        "user@example.com",
    }
)
COUNTING = "1234567890123456789"
#: Keys that name a thing although they do not end in ``_id``.
ID_KEYS = frozenset(
    {
        "id",
        "sku",
        "skus",
        "posting_number",
        "posting_numbers",
        "offer_id",
        "offer_ids",
        "order_number",
        "order_numbers",
        "barcode",
        "barcodes",
    }
)
#: Keys that look like identifiers but hold a page position or an optional reference.
NOT_ID_KEYS = frozenset(
    {
        "last_id",
        "cursor",
        "offset",
        "page",
        "parent_posting_number",
        "previous_posting_number",
        "next_id",
    }
)


def is_id_key(key: str) -> bool:
    if key in NOT_ID_KEYS:
        return False
    return key in ID_KEYS or key.endswith(("_id", "_ids", "Id", "Ids", "_uuid"))


def reason(key: str, value: Any) -> str | None:
    """Why ``value`` (found under ``key``) is a placeholder, or None when it is not one."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if text in FILLER_WORDS:
            return "a filler word"
        if text in GENERATED:
            return "a value documentation generators fill in"
        if len(text) >= 6 and COUNTING.startswith(text.lstrip("-")):
            return "a counting run"
        if is_id_key(key) and text in ("", "0"):
            return "an empty identifier"
        return None
    if isinstance(value, int):
        digits = str(abs(value))
        if len(digits) >= 6 and COUNTING.startswith(digits):
            return "a counting run"
        if value == 0 and is_id_key(key):
            return "a zero identifier"
    return None


ZERO_MEANS = re.compile(r"(?<![\d.])0(?![\d.])")


@dataclass
class Leaf:
    """One scalar inside an example, with the schema node that describes it."""

    path: str  # "filter.statuses[0]"; "" for a scalar example
    key: str  # the property (or parameter) name the value belongs to
    value: Any
    holder: Any  # the dict or list that holds the value
    hkey: Any  # its key or index there
    schema: dict[str, Any]  # the resolved schema node ({} when the schema says nothing)
    owner: dict[str, Any]  # the object schema the value is a property of ({} otherwise)
    parents: tuple[str, ...]  # property names from the root down to this value's object
    names: tuple[str, ...]  # named schemas passed on the way


@dataclass
class Hit:
    """One placeholder: where it is and what it is."""

    where: str  # "POST /v1/foo request", "POST /v1/foo 200", "components/responses/Error"
    part: str  # request | response | parameter
    leaf: Leaf
    why: str
    media: dict[str, Any]  # the media type object (or parameter) that holds the example

    @property
    def path(self) -> str:
        return self.leaf.path

    @property
    def value(self) -> Any:
        return self.leaf.value

    def __str__(self) -> str:
        at = f"{self.where} example, {self.path or '(the whole value)'}"
        return f"{at}: {json.dumps(self.value, ensure_ascii=False)} is {self.why}"


class Walker:
    """Pairs the values of examples with the schema nodes that describe them."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.schemas: dict[str, Any] = spec.get("components", {}).get("schemas", {})

    def resolve(
        self, node: Any, value: Any, names: tuple[str, ...]
    ) -> tuple[dict[str, Any], tuple[str, ...]]:
        for _ in range(50):
            if not isinstance(node, dict):
                return {}, names
            if "$ref" in node:
                name = node["$ref"].rsplit("/", 1)[-1]
                names = (*names, name)
                node = self.schemas.get(name, {})
            elif "anyOf" in node and "properties" not in node and "type" not in node:
                alts = [a for a in node["anyOf"] if isinstance(a, dict) and a.get("type") != "null"]
                node = self._pick(alts, value, names)
            else:
                return node, names
        return {}, names

    def _pick(
        self, alts: list[dict[str, Any]], value: Any, names: tuple[str, ...]
    ) -> dict[str, Any]:
        want = "array" if isinstance(value, list) else "object" if isinstance(value, dict) else None
        for a in alts:
            r, _ = self.resolve(a, None, names)
            kinds = _types(r)
            if want is None and not {"array", "object"} & set(kinds[:1]) and "properties" not in r:
                return a
            if want == "array" and kinds[:1] == ["array"]:
                return a
            if want == "object" and ("object" in kinds or "properties" in r):
                return a
        return alts[0] if alts else {}

    def leaves(
        self,
        node: Any,
        value: Any,
        path: str = "",
        key: str = "",
        parents: tuple[str, ...] = (),
        names: tuple[str, ...] = (),
        holder: Any = None,
        hkey: Any = None,
        owner: dict[str, Any] | None = None,
    ) -> Iterator[Leaf]:
        schema, names = self.resolve(node, value, names)
        if isinstance(value, dict):
            props = schema.get("properties") or {}
            ap = schema.get("additionalProperties")
            for k, v in value.items():
                child = props.get(k, ap if isinstance(ap, dict) else {})
                sub = f"{path}.{k}" if path else str(k)
                yield from self.leaves(
                    child, v, sub, str(k), (*parents, key), names, value, k, schema
                )
        elif isinstance(value, list):
            items = schema.get("items") or {}
            for i, v in enumerate(value):
                yield from self.leaves(
                    items, v, f"{path}[{i}]", key, parents, names, value, i, owner
                )
        else:
            kept = tuple(p for p in parents if p)
            yield Leaf(path, key, value, holder, hkey, schema, owner or {}, kept, names)


def _types(node: dict[str, Any]) -> list[str]:
    ty = node.get("type")
    return list(ty) if isinstance(ty, list) else ([ty] if ty else [])


def example_leaves(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any], Leaf]]:
    """(where, part, media or parameter, leaf) for every scalar of every example in the spec."""
    walker = Walker(spec)

    def media_leaves(where: str, part: str, media: dict[str, Any]) -> Iterator[Any]:
        box = {"example": media["example"]}
        for leaf in walker.leaves(
            media.get("schema") or {}, media["example"], holder=box, hkey="example"
        ):
            if leaf.holder is box:
                leaf.holder, leaf.hkey = media, "example"
            yield where, part, media, leaf

    for path, item in spec.get("paths", {}).items():
        for method, op in item.items():
            if not isinstance(op, dict):
                continue
            name = f"{method.upper()} {path}"
            for prm in op.get("parameters") or []:
                if "example" in prm:
                    for leaf in walker.leaves(
                        prm.get("schema") or {},
                        prm["example"],
                        key=prm.get("name", ""),
                        holder=prm,
                        hkey="example",
                    ):
                        yield f"{name} parameter {prm.get('name')}", "parameter", prm, leaf
            for media in ((op.get("requestBody") or {}).get("content") or {}).values():
                if "example" in media:
                    yield from media_leaves(f"{name} request", "request", media)
            for code, resp in (op.get("responses") or {}).items():
                for media in (resp.get("content") or {}).values():
                    if "example" in media:
                        yield from media_leaves(f"{name} {code}", "response", media)
    for rname, resp in (spec.get("components", {}).get("responses") or {}).items():
        for media in (resp.get("content") or {}).values():
            if "example" in media:
                yield from media_leaves(f"components/responses/{rname}", "response", media)


def classify(leaf: Leaf) -> str | None:
    """Why the value of ``leaf`` is a placeholder, or None. A zero identifier is real data where
    the field's description says what 0 means, and so is ``""`` where the field is marked
    ``x-ozon-empty-as-null`` (Ozon sends it for "no value")."""
    why = reason(leaf.key, leaf.value)
    zero = why == "a zero identifier" or (why == "an empty identifier" and leaf.value == "0")
    if zero and ZERO_MEANS.search(leaf.schema.get("description", "")):
        return None
    if (
        why == "an empty identifier"
        and leaf.value == ""
        and leaf.schema.get("x-ozon-empty-as-null")
    ):
        return None
    return why


def find(spec: dict[str, Any]) -> list[Hit]:
    """Every placeholder in every example of the spec."""
    hits: list[Hit] = []
    for where, part, media, leaf in example_leaves(spec):
        why = classify(leaf)
        if why:
            hits.append(Hit(where, part, leaf, why, media))
    return hits


def _droppable(hit: Hit) -> bool:
    """A zero or empty identifier that a request example is better without: an optional filter
    field (leaving it out is how a filter asks for everything) or an optional field that would
    change what the call does (``new_description_category_id`` moves a product)."""
    leaf = hit.leaf
    if hit.part != "request" or not isinstance(leaf.holder, dict):
        return False
    if hit.why not in ("a zero identifier", "an empty identifier"):
        return False
    if leaf.key in (leaf.owner.get("required") or []):
        return False
    return (leaf.parents[-1:] == ("filter",)) or leaf.key in (
        "new_description_category_id",
        "posting_number",
    )


def repair(spec: dict[str, Any]) -> list[str]:
    """Replace every placeholder of the spec's examples with a realistic value (or drop it, see
    :func:`_droppable`); record the change in ``x-ozon-example-repairs`` where the example came
    from Ozon. Returns one line per change; a placeholder for which no realistic value is known
    is left as it is, with a line starting ``UNRESOLVED``."""
    done: list[str] = []
    for hit in find(spec):
        leaf, media = hit.leaf, hit.media
        loc = f"{hit.part}.{leaf.path}" if leaf.path else hit.part
        old = json.dumps(leaf.value, ensure_ascii=False)
        if _droppable(hit):
            del leaf.holder[leaf.hkey]
            change = "removed: the field is optional and the example does not need it"
        else:
            try:
                new = Realistic(hit.where, leaf).value()
            except KeyError as exc:
                done.append(f"UNRESOLVED {exc.args[0]}: add a value for the key to BY_KEY")
                continue
            leaf.holder[leaf.hkey] = new
            change = f"replaced by {json.dumps(new, ensure_ascii=False)}"
        done.append(f"{hit.where} {loc}: {old} {change}")
        if media.get("x-ozon-example-source", "written") == "written" or hit.part == "parameter":
            continue
        _record(media, loc, old, change)
    return done


def _record(media: dict[str, Any], loc: str, old: str, change: str) -> None:
    repairs: list[str] = media.setdefault("x-ozon-example-repairs", [])
    for i, line in enumerate(repairs):
        if line.startswith(f"{loc}:") and "; replaced by " in line:
            # an earlier repair put the placeholder there: say what replaces it now
            repairs[i] = line.rsplit("; replaced by ", 1)[0] + f"; {change}."
            return
    repairs.append(f"{loc}: Ozon's example has the placeholder {old}; {change}.")


# ---------------------------------------------------------------------- realistic values
def realistic(node: dict[str, Any], key: str, where: str, fallback: Any) -> Any:
    """A realistic value for a field ``key`` described by the resolved schema ``node`` (for
    examples written from a schema), or ``fallback`` when none is known."""
    leaf = Leaf(key, key, fallback, None, None, node, {}, (), ())
    try:
        return Realistic(where, leaf).value()
    except KeyError:
        return fallback


PRODUCTS = (
    "Футболка мужская хлопковая, чёрная, размер L",
    "Кружка керамическая «Утро», 350 мл",
    "Чехол силиконовый для iPhone 15, прозрачный",
    "Наушники беспроводные TWS, белые",
    "Термос из нержавеющей стали, 0,5 л",
    "Набор махровых полотенец, 3 шт.",
    "Рюкзак городской 20 л, серый",
    "Крем для рук увлажняющий, 75 мл",
)
PEOPLE = ("Сергей Петров", "Анна Смирнова", "Дмитрий Козлов", "Ольга Васильева")
FIRST_NAMES = ("Сергей", "Анна", "Дмитрий", "Ольга")
LAST_NAMES = ("Петров", "Смирнова", "Козлов", "Васильева")
ADDRESSES = (
    "Московская область, г. Подольск, ул. Поливановская, д. 9",
    "г. Москва, ул. Складочная, д. 1, стр. 3",
    "г. Казань, ул. Тэцевская, д. 15",
    "г. Санкт-Петербург, пр. Обуховской Обороны, д. 120",
)
CITIES = ("Москва", "Подольск", "Казань", "Санкт-Петербург")
SELLER_WAREHOUSES = ("Склад на Складочной", "Подольск FBS", "Казань, склад продавца")
OZON_WAREHOUSES = ("ХОРУГВИНО_РФЦ", "ПУШКИНО_1_РФЦ", "КАЗАНЬ_РФЦ_НОВЫЙ", "НОГИНСК_РФЦ")
CLUSTERS = ("Москва, МО и Дальние регионы", "Санкт-Петербург и СЗО", "Казань", "Екатеринбург")
COMPANIES = ("ООО «Северный ветер»", "ООО «Домашний уют»", "ИП Петров Сергей Иванович")
CARRIERS = ("СДЭК", "Деловые Линии", "ПЭК", "Boxberry")
PLATES = ("А457ВС777", "К128МН750", "Е904ОР197")
PHONES = ("+79161457823", "+79035550142", "+79267781930")
CDN = "https://cdn1.ozone.ru/s3/multimedia-1-k/"
PDF_BASE64 = "JVBERi0xLjcKJeLjz9MKMSAwIG9iago8PC9UeXBlIC9DYXRhbG9nPj4KZW5kb2JqCg=="
#: Values by key; a tuple is a pool the value is picked from.
BY_KEY: dict[str, Any] = {
    "address": ADDRESSES,
    "addresses": ADDRESSES,
    "point_address": ADDRESSES,
    "dropoff_address": ADDRESSES,
    "warehouse_address": ADDRESSES,
    "city": CITIES,
    "warehouse_city": CITIES,
    "region": "Московская область",
    "country": "Россия",
    "country_code": "RU",
    "origin_country": "Китай",
    "uid": "RU",
    "street": "ул. Поливановская",
    "house": "9",
    "house_number": "9",
    "zipcode": "142116",
    "post_office_zipcode": "142116",
    "iana_name": "Europe/Moscow",
    "timezone": "Europe/Moscow",
    "timezone_name": "Europe/Moscow",
    "warehouse_timezone": "Europe/Moscow",
    "warehouse_timezone_name": "Europe/Moscow",
    "utc_offset": "+03:00",
    "driver_name": PEOPLE,
    "sender_name": PEOPLE,
    "client_name": PEOPLE,
    "user_name": PEOPLE,
    "author_name": ("Анна К.", "Дмитрий", "Ольга В."),
    "first_name": FIRST_NAMES,
    "recipient_first_name": FIRST_NAMES,
    "last_name": LAST_NAMES,
    "recipient_last_name": LAST_NAMES,
    "company_name": COMPANIES,
    "receiver_name": COMPANIES,
    "partner_name": ("ООО «Логистик Плюс»", "ООО «Фулфилмент Центр»"),
    "payer_name": "ООО «Интернет Решения»",
    "kpp": "500301001",
    "payer_kpp": "770301001",
    "receiver_kpp": "500301001",
    "contract_number": "ИР-487261/24",
    "receipt_number": "0000481726",
    "return_number": "ВЗ-104827",
    "transport_company_name": CARRIERS,
    "transport_company_names": CARRIERS,
    "tpl_provider_name": "Почта России",
    "vehicle_license_plate": PLATES,
    "vehicle_number": PLATES,
    "vehicle_registration_number": PLATES,
    "vehicle_model": ("ГАЗель Next", "Ford Transit", "Hyundai Porter"),
    "vehicle_type": ("Фургон", "Грузовик до 5 т"),
    "tracking_number": ("1482937560", "1593048671"),
    "ru_post_tracking_number": "80092483716254",
    "comment": ("Позвоните за час до приезда", "Въезд со стороны улицы, ворота 3"),
    "courier_comment": "Позвоните за час до приезда",
    "approve_comment": "Отмену подтверждаем, заказ ещё не собран",
    "rejection_comment": "Товар получен со следами использования, возврат отклонён",
    "cancellation_reason_message": "Передумал, нашёл дешевле",
    "hint": "Отправьте товар на повторную проверку или откройте спор",
    "deviation_reason": "Комментарий содержит ссылку на сторонний сайт",
    "return_method_description": "Курьером до склада продавца",
    "money_return_state_name": "Деньги возвращены покупателю",
    "state_description": "Товар прошёл модерацию и продаётся",
    "state_tooltip": "Цена обновится в течение 15 минут",
    "state_name": ("Продаётся", "Готов к продаже"),
    "state_sys_name": "price_sent",
    "seller_error": "Отправление не найдено в акте",
    "why_not_cancellable": "Отправление уже передано в доставку",
    "error": ("Перевозку нельзя отменить: она уже отгружена", "Товар не найден"),
    "errors": ("Код маркировки не прошёл проверку", "Отправление не найдено"),
    "error_message": ("Грузоместо пустое", "Отправление не найдено"),
    "error_messages": "Нет доступных таймслотов на выбранный склад",
    "message": ("Товар не найден в каталоге", "Отправление уже передано в доставку"),
    "reason": "Перевозка уже отгружена",
    "reasons": "Товар нельзя поставить на выбранный склад",
    "unavailability_reasons": "Склад не обслуживает выбранный адрес",
    "warnings": "Товар скрыт из поиска до проверки документов",
    "descriptions": "Автоматическая утилизация невостребованных возвратов включена",
    "available_actions": ("cancel", "print_label"),
    "arrival_reasons": "FBS_DELIVERY",
    "statuses": "delivering",
    "gtd": "10702070/140326/3016524",
    "gtd_number": "10702070/140326/3016524",
    "rnpt": "10702070/140326/3016524/1",
    "rnpt_number": "10702070/140326/3016524/1",
    "mark": "0104607034171213215QbagJ8vPmnX2",
    "mandatory_mark": "0104607034171213215QbagJ8vPmnX2",
    "mandatory_marks": "0104607034171213215QbagJ8vPmnX2",
    "jw_uin": "6433000087215940",
    "imei": "356938035643809",
    "quant_code": ("KV-2047-12", "KV-2047-24"),
    "assembly_code": "AS-0347",
    "cargo_key": ("box-1", "box-2"),
    "coordinates": "[[[37.6209,55.7539],[37.6322,55.7571],[37.6401,55.7498],[37.6209,55.7539]]]",
    "category": "Футболки и топы",
    "group_name": ("Оценка работы", "Цены"),
    "cluster_name": CLUSTERS,
    "cluster_from": CLUSTERS,
    "cluster_to": CLUSTERS,
    "delivery_method_name": ("Ozon Логистика, до сортировочного центра", "Курьер продавца"),
    "delivery_method_status": "ACTIVE",
    "delivery_schema": "FBS",
    "integration_type": "ozon",
    "tpl_integration_type": "ozon",
    "query": ("чехол для iphone 15", "кружка керамическая"),
    "search": "Подольск",
    "product_color": "чёрный",
    "product_size_manufacturer": "L",
    "product_size_russian": "50",
    "unit_name": "шт",
    "short_name": ("ХОРУГВИНО", "ПУШКИНО_1"),
    "seller_warehouse_name": SELLER_WAREHOUSES,
    "external_order_id": "WH-2026-004817",
    "content_type": "application/pdf",
    "file_name": "act-48571032.pdf",
    "content": PDF_BASE64,
    "file_content": PDF_BASE64,
    "base64_content": PDF_BASE64,
    "files": "%PDF-1.7\n%...",
    "text": (
        "Здравствуйте! Ваш заказ передан в доставку.",
        "Подойдёт ли этот чехол для iPhone 15 Pro?",
    ),
    "result": "success",
    "field": "quantity",
    "value": "0",
    "currency": "RUB",
    "currency_code": "RUB",
    "currency_sys_name": "RUB",
    "commission_ratio": "0.15",
    "amount": ("1299.00", "1499.00"),
    "price": "1299.00",
    "seller_price": "1299.00",
    "old_price": "1599.00",
    "min_price": "1090.00",
    "points_for_discounts": "150.00",
    "compensation_amount": "350.00",
    "offset": "10800",
    "rating": "rating_on_time",
    "related_containers": "pallet-1",
    "cancel_reason": ("Покупатель отменил заказ", "Товар закончился на складе"),
    "cancellation_initiator": "Продавец",
    "defect_reasons": "Повреждена упаковка",
    "defect_reason": "Повреждена упаковка",
    "act_number": "АКТ-48571032",
    "certificate_country": "Россия",
    "link_to_registry": "https://pub.fsa.gov.ru/rss/certificate/view/48273",
    "required_attributes": "weight",
}
#: String keys whose values are opaque identifiers Ozon gives as UUIDs.
UUID_KEYS = frozenset(
    {
        "operation_id",
        "bundle_id",
        "bundle_ids",
        "new_bundle_id",
        "restricted_bundle_id",
        "bundle_uuid",
        "province_uuid",
        "drop_off_province_uuid",
        "file_uuid",
        "act_file_uuid",
        "file_guid",
        "timeslot_reservation_id",
        "question_id",
        "question_ids",
        "review_id",
        "review_ids",
        "comment_id",
        "parent_comment_id",
        "receipt_id",
        "parent_receipt_id",
    }
)
URL_KEYS = frozenset(
    {
        "url",
        "file_url",
        "label_url",
        "cdn_url",
        "file",
        "picture_url",
        "icon_name",
        "images",
        "images_url",
        "preview_url",
        "short_video_preview_url",
        "highlight_url",
        "item_link",
        "info_url",
        "tpl_provider_icon_url",
        "client_photo",
    }
)
#: Digits of realistic identifiers by key: (number of digits, fixed prefix, fixed suffix).
ID_SHAPES: dict[str, tuple[int, str, str]] = {
    "sku": (10, "1", ""),
    "skus": (10, "1", ""),
    "failed_sku_ids": (10, "1", ""),
    "product_id": (9, "", ""),
    "product_ids": (9, "", ""),
    "delivery_method_id": (14, "2", "000"),
    "delivery_method_ids": (14, "2", "000"),
    "provider_id": (2, "", ""),
    "provider_ids": (2, "", ""),
    "tpl_provider_id": (2, "", ""),
    "template_id": (4, "", ""),
    "cluster_id": (3, "", ""),
    "macrolocal_cluster_id": (4, "", ""),
    "macrolocal_cluster_ids": (4, "", ""),
    "action_id": (6, "", ""),
    "company_id": (7, "", ""),
    "seller_id": (7, "", ""),
    "customer_id": (8, "", ""),
    "type_id": (3, "", ""),
    "business_flow_type_id": (1, "", ""),
    "cancel_reason_id": (3, "", ""),
    "rejection_reason_id": (2, "", ""),
    "exemplar_id": (11, "", ""),
    "exemplarsIds": (11, "", ""),
    "polygon_id": (7, "", ""),
    "timeslot_id": (9, "", ""),
    "accrual_id": (11, "", ""),
}
WAREHOUSE_KEYS = ("warehouse_id", "warehouse_ids", "warehouseId", "warehouses_ids")
SHORT_TIMES = {"from": "09:00", "to": "18:00", "start": "09:00", "end": "21:00"}


class Realistic:
    """Realistic values for placeholders, fitted to the schema node of each (deterministic: the
    choice depends only on where the value is)."""

    def __init__(self, where: str, leaf: Leaf) -> None:
        self.where = where
        self.leaf = leaf
        self.seed = int(hashlib.sha256(f"{where}|{leaf.path}".encode()).hexdigest(), 16)
        # one base day per example, so that the dates of one example agree with each other
        self.day = int(hashlib.sha256(where.encode()).hexdigest(), 16) % 20 + 3

    def pick(self, pool: Any) -> Any:
        if isinstance(pool, tuple):
            return pool[self.seed % len(pool)]
        return pool

    def digits(self, n: int, prefix: str = "", suffix: str = "") -> str:
        body = n - len(prefix) - len(suffix)
        rnd = str(self.seed % 10**body).rjust(body, "0")
        out = (
            prefix
            + ("1" if rnd[0] == "0" and not prefix else "")
            + rnd[1 if rnd[0] == "0" and not prefix else 0 :]
        )
        out = (out + suffix)[:n]
        if len(out) >= 6 and COUNTING.startswith(out):
            out = "9" + out[1:]
        return out

    # -------------------------------------------------------------- dates
    def moment(self) -> datetime:
        k = self.leaf.key.lower()
        base = datetime(2026, 3, self.day, 9, 0, tzinfo=timezone.utc)
        hours = self.seed % 8
        if k.endswith(("_to", "to", "_end", "end", "till", "stop_date", "expired_at")) or k in (
            "to",
            "deleted_at",
            "new_cutoff_date",
        ):
            return base + timedelta(days=7, hours=hours)
        if k.startswith(("updated", "published", "reset")) or k in ("arrival_time", "cutoff_at"):
            return base + timedelta(days=1, hours=hours)
        return base + timedelta(hours=hours, minutes=15 * (self.seed % 4))

    def date_time(self) -> str:
        return self.moment().strftime("%Y-%m-%dT%H:%M:%SZ")

    def date(self) -> str:
        return self.moment().strftime("%Y-%m-%d")

    def short_time(self) -> str:
        k = self.leaf.key.lower()
        for word, value in SHORT_TIMES.items():
            if word in k:
                return value
        return "14:00"

    # -------------------------------------------------------------- identifiers
    def identifier(self) -> int:
        k = self.leaf.key
        if k in WAREHOUSE_KEYS or "warehouse_id" in k or k == "destination_place_id":
            return int(self.digits(16, "10200", "000"))
        if k in ID_SHAPES:
            n, prefix, suffix = ID_SHAPES[k]
            value = int(self.digits(n, prefix, suffix))
            return max(value, 1)
        return int(self.digits(8))

    def posting_number(self) -> str:
        order = self.digits(8, "4")
        return f"{order}-{(self.seed >> 64) % 120 + 1:04d}-{self.seed % 3 + 1}"

    def uuid(self) -> str:
        h = hashlib.md5(f"{self.where}|{self.leaf.path}".encode()).hexdigest()
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"

    def barcode(self) -> str:
        body = "460" + self.digits(9)
        total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
        return body + str((10 - total % 10) % 10)

    def inn(self) -> str:
        body = "50" + self.digits(7)
        weights = (2, 4, 10, 3, 5, 9, 4, 6, 8)
        check = sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11 % 10
        return body + str(check)

    def offer_id(self) -> str:
        return self.pick(
            ("FT-BLK-L-0147", "KR-350-UTRO", "CASE-IP15-CLR", "TWS-WHT-22", "TRM-500-STL")
        )

    # -------------------------------------------------------------- strings by context
    def context(self) -> str:
        """The nearest object's property name and schema name, lower-cased."""
        leaf = self.leaf
        near = leaf.parents[-1] if leaf.parents else ""
        schema = leaf.names[-1] if leaf.names else ""
        return f"{near} {schema}".lower()

    def name(self) -> str:
        near = self.context()
        where = self.where.lower()
        if self.leaf.key == "warehouse_name":
            near = f"warehouse {near}"
        rules: list[tuple[tuple[str, ...], Any]] = [
            (("reason",), ("Товар закончился на складе", "Не подошёл размер")),
            (("state",), "Ожидает решения продавца"),
            (("available_actions", "action"), "Одобрить возврат"),
            (("method_type",), "Курьером до склада продавца"),
            (("service", "accrual", "others", "fee"), ("Логистика", "Обработка отправления")),
            (("fulfillment", "storage_warehouse", "supply_warehouse"), OZON_WAREHOUSES),
            (
                ("warehouse", "search"),
                OZON_WAREHOUSES if "fbo" in where or "ozon" in where else SELLER_WAREHOUSES,
            ),
            (("country",), "Россия"),
            (("province",), "Московская область"),
            (("cluster",), CLUSTERS),
            (("delivery_type",), "Пункт выдачи заказов"),
            (("delivery_method",), ("Ozon Логистика, до сортировочного центра", "Курьер продавца")),
            (("buyer_info", "seller_info", "legal", "company"), COMPANIES),
            (("point",), ("Пункт выдачи Ozon на Складочной", "Пункт приёма заказов в Подольске")),
            (("rating", "groups"), ("Индекс ошибок FBS и rFBS", "Оценка работы")),
            (("attribute",), "Цвет товара"),
            (("categor",), "Футболки и топы"),
        ]
        for words, pool in rules:
            if any(w in near for w in words):
                return str(self.pick(pool))
        if "warehouse" in where and "product" not in near and "item" not in near:
            return str(self.pick(SELLER_WAREHOUSES))
        return str(self.pick(PRODUCTS))

    def title(self) -> str:
        ctx = f"{self.context()} {self.where}".lower()
        if "cancel" in ctx or "reason" in ctx:
            return "Товар закончился на складе"
        if "action" in ctx or "promo" in ctx:
            return "Весенняя распродажа"
        return str(self.pick(PRODUCTS))

    def number(self) -> str:
        desc = self.leaf.schema.get("description", "").lower()
        if "certificate" in desc:
            return "РОСС RU Д-RU.РА01.В.48273/26"
        if "report" in desc:
            return "Р-2026-03-0147"
        return str(self.pick(("УПД-000482", "СФ-2026-0341")))

    def description(self) -> str:
        near = self.context()
        if "accrual" in near:
            return "Списание за доставку товара покупателю"
        if "type" in near:
            return "Новое отправление"
        return "Пункт выдачи заказов Ozon, вход со двора"

    def report_code(self) -> str:
        kind = re.sub(r"[^a-z]+", "_", self.where.split(" ")[1].split("/", 2)[-1].lower()).strip(
            "_"
        )
        return f"REPORT_seller_{kind}_{self.digits(6, '9')}_{self.digits(10, '17')}_{self.uuid()}"

    def code(self) -> str:
        desc = self.leaf.schema.get("description", "").lower()
        if "report" in desc or "generation task" in desc:
            return self.report_code()
        if "hs code" in desc:
            return "6109100000"
        return str(self.pick(("PRODUCT_NOT_FOUND", "INVALID_ARGUMENT")))

    def phone(self) -> str:
        desc = self.leaf.schema.get("description", "")
        number = str(self.pick(PHONES))
        if "+7(" in desc:
            return f"+7({number[2:5]}){number[5:8]}-{number[8:10]}-{number[10:]}"
        if "7XXXXXXXXXX" in desc:
            return number[1:]
        return number

    def url(self) -> str:
        k = self.leaf.key
        n = self.digits(10, "7")
        if k in ("url", "file_url", "label_url", "cdn_url", "file") or "file" in self.where:
            ext = "csv" if "voucher" in self.where else "pdf"
            return f"https://cdn1.ozone.ru/s3/ozon-disk-api/seller-docs/{self.uuid()}.{ext}"
        if any(w in k for w in ("image", "picture", "photo", "icon", "preview")):
            return f"{CDN}{n}.jpg"
        if "info" in k or "link" in k:
            return f"https://www.ozon.ru/product/{n}/"
        return f"{CDN}{n}.jpg"

    def listed_value(self) -> str | None:
        """A value the description names (``VALUE`` in backticks or ``VALUE - meaning``)."""
        desc = self.leaf.schema.get("description", "")
        found = re.findall(r"`([A-Za-z][A-Za-z0-9_\-]*)`", desc) or re.findall(
            r"(?:^|[:;,]\s*)([A-Za-z][A-Za-z0-9_\-]*) - ", desc
        )
        found = [v for v in found if v != self.leaf.key]
        if len(found) < 2:
            return None
        for v in found:
            low = v.lower()
            if "unspecified" not in low and "unknown" not in low:
                return v
        return None

    def string(self) -> Any:
        s = self.leaf.schema
        if s.get("enum"):
            vals = [v for v in s["enum"] if v is not None]
            good = [v for v in vals if not re.search(r"unspecified|unknown", str(v), re.I)]
            return (good or vals)[0]
        value = self._formatted()
        if value is not None:
            return value
        return self._string_by_key()

    def _formatted(self) -> str | None:
        """A value the schema's format, pattern or description asks for (dates, times, ids)."""
        k = self.leaf.key
        s = self.leaf.schema
        desc = s.get("description", "")
        fmt = s.get("format")
        if fmt == "date-time" or (fmt is None and k.endswith(("_at",)) and "date" in desc.lower()):
            return self.date_time()
        if fmt == "date":
            return self.date()
        if s.get("pattern") == r"^-?[0-9]+$" or fmt in ("int64", "uint64", "int32"):
            return str(self.identifier())
        if "YYYY-MM-DD" in desc and "T" not in desc.split("YYYY-MM-DD", 1)[1][:2]:
            return self.date()
        if (
            "HH:MM" in desc
            or (k.endswith("_local") and "time" in k)
            or k
            in (
                "from",
                "to",
                "timeslot_start",
                "timeslot_end",
            )
        ):
            return self.short_time()
        if k in ("from_in_timezone", "to_in_timezone", "current_time_in_timezone"):
            return self.moment().strftime("%Y-%m-%dT%H:%M:%S")
        if "date" in k or k in ("period_from", "period_to"):
            return self.date()
        return None

    def _string_by_key(self) -> Any:
        """A realistic value for the field's name."""
        leaf, k = self.leaf, self.leaf.key
        desc = leaf.schema.get("description", "")
        if k in (
            "posting_number",
            "posting_numbers",
            "unit_number",
            "invalid_postings",
            "postings",
        ):
            return self.posting_number()
        if k == "order_number":
            return self.posting_number().rsplit("-", 1)[0]
        if k in ("offer_id", "offer_ids", "item_code"):
            return self.offer_id()
        if k in ("barcode", "barcodes", "item"):
            return self.barcode()
        if k in ("inn", "payer_inn", "receiver_inn"):
            return self.inn()
        if "phone" in k:
            return self.phone()
        if k in URL_KEYS or (k.endswith(("_url", "_link")) and k != "link_to_registry"):
            return self.url()
        if k in UUID_KEYS or "uuid" in k or "guid" in k:
            return self.uuid()
        listed = self.listed_value()
        if listed is not None:
            return listed
        if k in BY_KEY:
            return self.pick(BY_KEY[k])
        if k in ("name", "warehouse_name"):
            return self.name()
        if k in ("product_name", "item_name"):
            return str(self.pick(PRODUCTS))
        if k == "title":
            return self.title()
        if k == "code":
            return self.code()
        if k in ("last_id", "cursor"):
            return "WzE0NTc4MjM5MDFd"
        if k == "key":
            return "media" if "group" in desc.lower() else str(self.pick(("box-1", "box-2")))
        if k == "number":
            return self.number()
        if k == "type":
            return "pdf" if "file" in desc.lower() else "String"
        if k == "description":
            return self.description()
        if k.endswith(("_id", "_ids", "Id")) or k in ("id", "sku"):
            return str(self.identifier())
        if k.endswith(
            ("status", "state", "_type", "type", "codes", "direction", "meaning", "availability")
        ):
            return self.status_word()
        raise KeyError(f"no realistic value known for `{k}` ({self.where} {leaf.path})")

    def status_of(self) -> str:
        desc = self.leaf.schema.get("description", "").lower()
        if "posting" in desc:
            return "delivered"
        if "document" in desc:
            return "FORMED"
        return "formed"

    def status_word(self) -> str:
        k = self.leaf.key
        table = {
            "carriage_status": "cancelled",
            "order_status": "DELIVERED",
            "giveout_status": "GIVEOUT_STATUS_CREATED",
            "first_mile_type": "DROP_OFF",
            "act_type": "FBS_ACT",
            "shipment_type": "FBO",
            "warehouse_type": "FBS",
            "sort_type": "sort",
            "cargo_type": "box",
            "container_sort_type": "SORT",
            "status": self.status_of(),
            "state": "APPROVED",
            "group_state": "New",
            "check_status": "passed",
            "gtd_check_status": "passed",
            "rnpt_check_status": "passed",
            "error_codes": "INVALID_MARK_FORMAT",
            "gtd_error_codes": "INVALID_GTD_FORMAT",
            "rnpt_error_codes": "INVALID_RNPT_FORMAT",
            "code": "INVALID_ARGUMENT",
            "operation_type": "COMMODITY",
            "type_id": "seller",
            "dropoff_change_availability": "AVAILABLE",
        }
        if k in table:
            return table[k]
        if "check_status" in k:
            return "passed"
        if k.endswith("codes"):
            return "INVALID_FORMAT"
        return "ACTIVE"

    def value(self) -> Any:
        """The realistic value, of the same JSON kind the schema asks for."""
        leaf = self.leaf
        kinds = _types(leaf.schema)
        old = leaf.value
        if isinstance(old, bool):
            raise ValueError("booleans are never placeholders")
        first = kinds[0] if kinds else ("integer" if isinstance(old, int) else "string")
        if first == "integer":
            if leaf.key in ("last_id",):
                return int(self.digits(10, "1"))
            if leaf.schema.get("enum"):
                return next(v for v in leaf.schema["enum"] if v is not None)
            if is_id_key(leaf.key) or leaf.key in ID_SHAPES:
                return self.identifier()
            return int(self.digits(4, "1"))
        if first == "number":
            return round(1000 + self.seed % 900 + 0.5, 2)
        return self.string()
