"""Russian words for searching operations: folding, a light stemmer and a small glossary.

``ozon ops`` and the MCP ``search_operations`` match Ozon's Russian titles (``x-title-ru``) with
these rules, so "остатки", "остатков" and "Остатках" are one word, and a Russian word also finds
the English summaries and paths through :data:`GLOSSARY` ("склады" finds ``/v1/warehouse/list``
even where its Russian title says something else).

The stemmer follows the Snowball algorithm for Russian (steps 1, 2 and 4: inflectional endings,
the final "и", "нн" and the soft sign); it is good enough for titles, not for linguistics.
"""

from __future__ import annotations

import re

__all__ = ["GLOSSARY", "english_terms", "fold", "is_cyrillic", "stem", "title_stems", "words"]

# Latin letters that Ozon's titles sometimes carry inside Russian words ("Cоздать" with a Latin C)
_HOMOGLYPHS = str.maketrans("aceopxyk", "асеорхук")
_CYRILLIC = re.compile(r"[а-яё]")
_WORD = re.compile(r"\w+", re.UNICODE)


def is_cyrillic(word: str) -> bool:
    return bool(_CYRILLIC.search(word.casefold()))


def fold(text: str) -> str:
    """Lower case, ``ё`` as ``е``, and Latin look-alike letters inside Russian words made
    Cyrillic."""
    text = text.casefold().replace("ё", "е")
    return _WORD.sub(lambda m: m[0].translate(_HOMOGLYPHS) if is_cyrillic(m[0]) else m[0], text)


def words(text: str) -> list[str]:
    """The folded words of ``text`` (underscores split words)."""
    return _WORD.findall(fold(text).replace("_", " "))


# ---------------------------------------------------------------------- stemmer (Snowball steps)
_VOWELS = "аеиоуыэюя"
_PERFECTIVE_GERUND = (("ившись", "ывшись", "ивши", "ывши", "ив", "ыв"), ("вшись", "вши", "в"))
_REFLEXIVE = ("ся", "сь")
_ADJECTIVE = (
    "ими", "ыми", "его", "ого", "ему", "ому", "ее", "ие", "ые", "ое", "ей", "ий", "ый", "ой",
    "ем", "им", "ым", "ом", "их", "ых", "ую", "юю", "ая", "яя", "ою", "ею",
)  # fmt: skip
_PARTICIPLE = (("ивш", "ывш", "ующ"), ("ем", "нн", "вш", "ющ", "щ"))
_VERB = (
    (
        "ейте", "уйте", "ила", "ыла", "ена", "ите", "или", "ыли", "ило", "ыло", "ено", "ует",
        "уют", "ены", "ить", "ыть", "ишь", "ей", "уй", "ил", "ыл", "им", "ым", "ен", "ят", "ит",
        "ыт", "ую", "у",
    ),
    ("ете", "йте", "ешь", "нно", "ла", "на", "ли", "ем", "ло", "но", "ет", "ют", "ны", "ть", "й", "л", "н"),
)  # fmt: skip
_NOUN = (
    "иями", "ями", "ами", "ией", "иям", "ием", "иях", "ев", "ов", "ие", "ье", "еи", "ии", "ей",
    "ой", "ий", "ям", "ем", "ам", "ом", "ах", "ях", "ию", "ью", "ия", "ья", "а", "е", "и", "й",
    "о", "у", "ы", "ь", "ю", "я",
)  # fmt: skip
_SUPERLATIVE = ("ейше", "ейш")


def _strip(rv: str, endings: tuple[str, ...], after: str = "") -> str | None:
    """``rv`` without the longest ending it has (that follows one of ``after``, when given),
    or ``None``."""
    for e in sorted(endings, key=len, reverse=True):
        if rv.endswith(e):
            before = rv[: -len(e)]
            if after and not before.endswith(tuple(after)):
                continue
            return before
    return None


def _strip_grouped(rv: str, groups: tuple[tuple[str, ...], tuple[str, ...]]) -> str | None:
    """Snowball's two groups: the first strips anywhere, the second only after а or я."""
    candidates = [(e, "") for e in groups[0]] + [(e, "ая") for e in groups[1]]
    for e, after in sorted(candidates, key=lambda c: len(c[0]), reverse=True):
        if rv.endswith(e):
            before = rv[: -len(e)]
            if after and not before.endswith(tuple(after)):
                continue
            return before
    return None


def stem(word: str) -> str:
    """The stem of one folded Russian word ("остатков" -> "остатк", "склады" -> "склад");
    other words come back unchanged."""
    if not is_cyrillic(word):
        return word
    first = next((i for i, ch in enumerate(word) if ch in _VOWELS), None)
    if first is None:
        return word
    head, rv = word[: first + 1], word[first + 1 :]
    # step 1
    cut = _strip_grouped(rv, _PERFECTIVE_GERUND)
    if cut is None:
        reflexive = _strip(rv, _REFLEXIVE)
        if reflexive is not None:
            rv = reflexive
        adjective = _strip(rv, _ADJECTIVE)
        if adjective is not None:
            participle = _strip_grouped(adjective, _PARTICIPLE)
            cut = participle if participle is not None else adjective
        else:
            cut = _strip_grouped(rv, _VERB)
            if cut is None:
                cut = _strip(rv, _NOUN)
    rv = cut if cut is not None else rv
    # step 2
    if rv.endswith("и"):
        rv = rv[:-1]
    # step 4
    sup = _strip(rv, _SUPERLATIVE)
    if sup is not None:
        rv = sup
    if rv.endswith("нн") or rv.endswith("ь"):
        rv = rv[:-1]
    return head + rv


def title_stems(title: str | None) -> frozenset[str]:
    """The stems of the words of a Russian title."""
    return frozenset(stem(w) for w in words(title or ""))


# ---------------------------------------------------------------------- glossary
#: Russian stems (as :func:`stem` gives them) of the marketplace's words and the English words
#: the spec's summaries and paths use for them. A Russian search word whose stem is here also
#: matches those English words.
GLOSSARY: dict[str, tuple[str, ...]] = {
    "остатк": ("stock",),
    "сток": ("stock",),
    "склад": ("warehouse",),
    "отправлен": ("posting",),
    "этикетк": ("label",),
    "маркировк": ("label", "mark"),
    "товар": ("product",),
    "цен": ("price",),
    "заказ": ("order", "posting"),
    "возврат": ("return",),
    "акц": ("action", "promotion"),
    "отчет": ("report",),
    "чат": ("chat",),
    "сообщен": ("message", "chat"),
    "отзыв": ("review",),
    "вопрос": ("question",),
    "ответ": ("answer",),
    "поставк": ("supply",),
    "сертификат": ("certificate",),
    "рейтинг": ("rating",),
    "финанс": ("finance",),
    "начислен": ("accrual",),
    "транзакц": ("transaction",),
    "штрихкод": ("barcode",),
    "категор": ("category",),
    "характеристик": ("attribute",),
    "бренд": ("brand",),
    "аналитик": ("analytics",),
    "грузомест": ("cargo",),
    "отгрузк": ("carriage", "shipment"),
    "уведомлен": ("notification",),
    "кластер": ("cluster",),
    "черновик": ("draft",),
    "таймслот": ("timeslot",),
    "фото": ("picture",),
    "изображен": ("picture", "image"),
    "скидк": ("discount",),
    "экземпляр": ("exemplar",),
    "пропуск": ("pass",),
    "курьер": ("courier",),
    "доставк": ("delivery",),
    "отмен": ("cancel",),
    "архив": ("archive",),
    "стратег": ("strategy",),
    "конкурент": ("competitor",),
    "акт": ("act",),
}


def english_terms(word: str) -> tuple[str, ...]:
    """The English words a Russian search word also finds (by its stem), else ``()``."""
    return GLOSSARY.get(stem(fold(word)), ())
