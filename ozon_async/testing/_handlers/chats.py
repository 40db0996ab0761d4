"""The sandbox's room for chats with buyers: lists, history, messages, files, reading."""

from __future__ import annotations

import base64
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
from ozon_async.testing._handlers.postings import posting_of
from ozon_async.testing._state import (
    Chat,
)

if TYPE_CHECKING:
    pass


def _chat(call: Call) -> Chat:
    chat = call.state.chats.get(str(call.body.get("chat_id") or ""))
    if chat is None:
        raise not_found(f"chat {call.body.get('chat_id')} not found")
    return chat


def _chats(call: Call) -> list[Chat]:
    f = call.filter()
    status = str(f.get("chat_status") or "All").lower()
    unread_only = bool(f.get("unread_only"))
    chats = sorted(call.state.chats.values(), key=lambda c: (-c.created_at, c.chat_id))
    return [
        c
        for c in chats
        if (status in ("all", "") or c.chat_status.lower() == status)
        and (not unread_only or c.unread())
    ]


def _chat_item(c: Chat) -> dict[str, Any]:
    unread = c.unread()
    inner = {
        "chat_id": c.chat_id,
        "chat_status": c.chat_status,
        "chat_type": c.chat_type,
        "created_at": d.iso(c.created_at),
    }
    return {
        **inner,
        "chat": inner,
        "unread_count": len(unread),
        "first_unread_message_id": unread[0]["message_id"] if unread else 0,
        "last_message_id": c.messages[-1]["message_id"] if c.messages else 0,
    }


@handles("POST /v3/chat/list", "POST /v2/chat/list")
def chat_list(call: Call) -> Any:
    chats = _chats(call)
    total_unread = sum(len(c.unread()) for c in call.state.chats.values())
    items = [call.entity(_chat_item(c), "chats", f"chat:{c.chat_id}") for c in chats]
    return call.page(items, {"total_unread_count": total_unread})


@handles("POST /v3/chat/history", "POST /v2/chat/history")
def chat_history(call: Call) -> Any:
    chat = _chat(call)
    backward = str(call.body.get("direction") or "Backward").lower() == "backward"
    start = int(call.body.get("from_message_id") or 0)
    wanted = set(id_list((call.filter()).get("message_ids")))
    limit = min(call.limit(50), 1000)
    messages = sorted(chat.messages, key=lambda m: m["message_id"], reverse=backward)
    if start:
        messages = [
            m
            for m in messages
            if (m["message_id"] <= start if backward else m["message_id"] >= start)
        ]
    if wanted:
        messages = [m for m in messages if str(m["message_id"]) in wanted]
    page = messages[:limit]
    context = {}
    if chat.posting_number and chat.posting_number in call.state.postings:
        p = call.state.postings[chat.posting_number]
        context = {"order_number": p.order_number, "sku": str(p.products[0]["sku"])}
    out = [
        call.entity(
            {
                "message_id": m["message_id"],
                "messageId": m["message_id"],
                "created_at": d.iso(m["created_at"]),
                "user": m["user"],
                "data": m["data"],
                "is_image": m["is_image"],
                "is_read": m["message_id"] <= chat.read_up_to or m["user"]["type"] == "Seller",
                "moderate_image_status": "SUCCESS",
                "context": context,
            },
            "messages",
            f"message:{m['message_id']}",
        )
        for m in page
    ]
    return {"messages": out, "has_next": len(messages) > limit}


@handles("POST /v1/chat/send/message")
def chat_send_message(call: Call) -> Any:
    chat = _chat(call)
    text = str(call.body.get("text") or "")
    if not text.strip():
        raise invalid("text: the message is empty")
    if chat.chat_status.lower() == "closed":
        raise invalid(f"chat {chat.chat_id} is closed")
    call.state.add_message(chat, "Seller", [text], call.now)
    return {"result": "success"}


@handles("POST /v1/chat/send/file")
def chat_send_file(call: Call) -> Any:
    chat = _chat(call)
    name = str(call.body.get("name") or "file")
    try:
        base64.b64decode(str(call.body.get("base64_content") or ""), validate=True)
    except ValueError as exc:
        raise invalid("base64_content: not valid base64") from exc
    call.state.add_message(chat, "Seller", [f"{call.sb.url}/__files/chat/{name}"], call.now)[
        "is_image"
    ] = True
    return {"result": "success"}


@handles("POST /v1/chat/start")
def chat_start(call: Call) -> Any:
    p = posting_of(call, call.body.get("posting_number"))
    for chat in call.state.chats.values():
        if chat.posting_number == p.posting_number:
            return {"result": {"chat_id": chat.chat_id}}
    chat_id = d.ozon_uuid(random.Random(f"{call.state.seed}:chat:{p.posting_number}"))
    call.state.chats[chat_id] = Chat(chat_id, "Buyer_Seller", "Opened", call.now, p.posting_number)
    return {"result": {"chat_id": chat_id}}


@handles("POST /v2/chat/read")
def chat_read(call: Call) -> Any:
    chat = _chat(call)
    upto = int(call.body.get("from_message_id") or 0) or (
        chat.messages[-1]["message_id"] if chat.messages else 0
    )
    chat.read_up_to = max(chat.read_up_to, upto)
    return {"unread_count": len(chat.unread())}
