"""Walking the pages of list operations, for each of Ozon's four pagination styles.

Every style stops on the last page (an empty page, ``has_next`` false, the total or page count
reached, an empty next token, or a short page when the answer says nothing else) and never asks for
the same position twice.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

from ozon_async._operation import Pagination
from ozon_async._path import dig

logger = logging.getLogger("ozon_async")


def _start(p: Pagination, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    args = dict(kwargs)
    if args.get(p.position) is None:
        if p.style == "offset":
            args[p.position] = 0
        elif p.style == "page":
            args[p.position] = p.first_page if p.first_page is not None else 1
        else:
            args.pop(p.position, None)
    return args


async def iter_pages(
    call: Callable[..., Awaitable[Any]], p: Pagination, kwargs: Mapping[str, Any]
) -> AsyncIterator[Any]:
    """Yield each page's response, requesting the next page only when the caller asks for it."""
    args = _start(p, kwargs)
    seen: set[str] = set()
    received = 0
    pages = 0
    while True:
        position = args.get(p.position)
        key = repr(position)
        if key in seen:
            logger.warning(
                "pagination stopped: the server sent position %r again (%s)", position, p.style
            )
            return
        seen.add(key)
        resp = await call(**args)
        pages += 1
        yield resp
        items = dig(resp, p.items) or []
        count = len(items)
        received += count
        limit = args.get(p.limit) if p.limit else None
        has_next = dig(resp, p.has_next)
        if has_next is not None and not has_next:
            return
        if count == 0:
            return
        total = dig(resp, p.total)
        if total is not None and isinstance(total, int) and received >= total:
            return
        short = has_next is None and isinstance(limit, int) and count < limit
        if p.style == "offset":
            if short:
                return
            args[p.position] = (position or 0) + count
        elif p.style == "page":
            page_count = dig(resp, p.page_count)
            first = p.first_page if p.first_page is not None else 1
            page = int(position if position is not None else first)
            if page_count is not None and page - first + 1 >= page_count:
                return
            if page_count is None and short:
                return
            args[p.position] = page + 1
        else:  # last_id, cursor
            if p.next is not None:
                nxt = dig(resp, p.next)
            else:
                nxt = getattr(items[-1], p.next_from_item or "", None)
            if nxt is None or nxt == "" or (p.style == "last_id" and nxt == 0):
                return
            if short and total is None:
                return
            args[p.position] = nxt


async def iter_items(
    call: Callable[..., Awaitable[Any]], p: Pagination, kwargs: Mapping[str, Any]
) -> AsyncIterator[Any]:
    """Yield every item of every page."""
    async for resp in iter_pages(call, p, kwargs):
        for item in dig(resp, p.items) or ():
            yield item
