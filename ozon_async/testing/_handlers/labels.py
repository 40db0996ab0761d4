"""The sandbox's room for package labels of FBS postings: at once, or as tasks that finish later."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from ozon_async.testing import _data as d
from ozon_async.testing._handlers._base import (
    Call,
    handles,
    id_list,
    invalid,
    not_found,
)
from ozon_async.testing._handlers.postings import posting_of, wrong_status
from ozon_async.testing._state import (
    DAY,
    LabelTask,
    Posting,
    ShopState,
)

if TYPE_CHECKING:
    from ozon_async.testing._shop import Shop


LABELLED = ("awaiting_deliver", "delivering", "driver_pickup", "sent_by_seller", "delivered")


def _label_page(state: ShopState, p: Posting, task_type: str = "big_label") -> list[str]:
    """The lines of a posting's label; the small label holds only what a courier scans."""
    if task_type == "small_label":
        return ["OZON", p.posting_number, f"Ship by {d.iso(p.shipment_date)[:10]}"]
    w = state.warehouses.get(p.warehouse_id)
    return [
        "OZON",
        f"Posting {p.posting_number}",
        f"Order {p.order_number}",
        f"Warehouse {w.name if w else p.warehouse_id}",
        f"Ship by {d.iso(p.shipment_date)}",
        *[f"{it['offer_id']} x {it['quantity']}" for it in p.products],
    ]


@handles("POST /v2/posting/fbs/package-label", needs={"posting_number": "posting:awaiting_deliver"})
def package_label(call: Call) -> Any:
    from ozon_async.testing._files import pdf_bytes

    pages = []
    for number in id_list(call.body.get("posting_number")):
        p = posting_of(call, number)
        if p.status not in LABELLED:
            raise wrong_status(p, "print a label for", LABELLED)
        pages.append(_label_page(call.state, p))
    return pdf_bytes(pages)


# The label flow of October 2026: one task per label size, done after the sandbox's task rules
# (``task_polls`` status checks or ``task_seconds``, like imports); the PDF is made from the
# postings as they are when the task completes and served at ``file_url``.
LABEL_SIZES = {"big_label": (283, 425), "small_label": (164, 113)}  # 75x120 mm, 58x40 mm


@handles(
    "POST /v3/posting/fbs/package-label/create",
    needs={"posting_numbers": "posting:awaiting_deliver"},
)
def package_label_create_v3(call: Call) -> Any:
    numbers = list(dict.fromkeys(id_list(call.body.get("posting_numbers"))))
    if not numbers:
        raise invalid("posting_numbers: give at least one posting number")
    tasks = []
    for task_type in LABEL_SIZES:
        task_id = call.sb.next_id("label_task", 10**12, 9 * 10**12)
        call.state.label_tasks[task_id] = LabelTask(task_id, task_type, numbers, call.now)
        tasks.append({"task_id": task_id, "task_type": task_type})
    return {"tasks": tasks}


def finish_label_task(state: ShopState, task: LabelTask, now: float) -> None:
    """Print the labels of a task: postings that exist and may have a label get a page."""
    from ozon_async.testing._files import pdf_bytes

    pages = []
    for number in task.posting_numbers:
        p = state.postings.get(number)
        if p is None:
            task.unprinted.append({"posting_number": number, "message": "posting not found"})
        elif p.status not in LABELLED:
            task.unprinted.append(
                {
                    "posting_number": number,
                    "message": f"posting is {p.status}: labels are printed from awaiting_deliver on",
                }
            )
        else:
            task.printed.append(number)
            pages.append(_label_page(state, p, task.task_type))
    task.done_at = now
    if pages:
        width, height = LABEL_SIZES[task.task_type]
        task.content = pdf_bytes(pages, width=width, height=height)


def label_task_state(sb: Shop, task: LabelTask, now: float) -> str:
    """``pending``, ``in_progress``, then ``completed`` (or ``error`` when no posting could get a
    label), by the sandbox's task rules."""
    if task.done_at is None:
        by_polls = sb.task_polls is not None and task.polls >= sb.task_polls
        elapsed = now - task.created_at
        by_time = sb.task_seconds is not None and elapsed >= sb.task_seconds
        if not (by_polls or by_time):
            started = task.polls >= 1 or (
                sb.task_seconds is not None and elapsed >= sb.task_seconds / 3
            )
            return "in_progress" if started else "pending"
        finish_label_task(sb.state, task, now)
    return "completed" if task.content is not None else "error"


@handles("POST /v2/posting/fbs/package-label/get", needs={"task_id": "label_task_id"})
def package_label_get_v2(call: Call) -> Any:
    task = call.state.label_tasks.get(int(call.body.get("task_id") or 0))
    if task is None:
        raise not_found(f"label task {call.body.get('task_id')} not found")
    task.polls += 1
    state = label_task_state(call.sb, task, call.now)
    done = task.done_at is not None
    error = (
        {"code": "NO_LABELS", "message": "none of the postings can get a label"}
        if state == "error"
        else {"code": "", "message": ""}
    )
    return {
        "error": error,
        "file_url": f"{call.sb.url}/__files/labels/{task.task_id}.pdf" if task.content else "",
        "status": {
            "code": state,
            "postings_count": len(task.posting_numbers),
            "printed_postings_count": len(task.printed) if done else 0,
            "unprinted_postings": task.unprinted if done else [],
        },
    }


def seed_label_tasks(sb: Shop, rng: random.Random) -> None:
    """Labels printed a day before the sandbox started, for the oldest posting that has them."""
    state = sb.state
    labelled = sorted(
        (p for p in state.postings.values() if p.status in LABELLED),
        key=lambda p: (p.shipment_date, p.posting_number),
    )
    if not labelled:
        return
    created = sb.anchor - DAY
    for task_type in LABEL_SIZES:
        task_id = rng.randint(10**12, 9 * 10**12)
        task = LabelTask(task_id, task_type, [labelled[0].posting_number], created)
        finish_label_task(state, task, created + 20)
        state.label_tasks[task_id] = task


def label_file(sb: Shop, name: str) -> bytes | None:
    """The PDF of a completed label task, by its file name (``<task_id>.pdf``)."""
    stem = name.removesuffix(".pdf")
    task = sb.state.label_tasks.get(int(stem)) if stem.isdigit() else None
    return None if task is None else task.content
