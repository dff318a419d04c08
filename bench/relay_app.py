"""Baseline: the ceiling for person -> counsellor relay. A bare Starlette app that pairs
a widget socket with a counsellor socket and forwards the person's messages.

* ``/ws/chat``: ``hello`` with ``token`` K is answered with ``welcome``; each ``say``
  is acked and forwarded as a ``message`` frame to the counsellor socket of chat K.
* ``/counsellor/ws?session=K``: the counsellor side of chat K; it gets a ``queue``
  frame on opening, as the gateway's does, then the person's messages.

Same paths and frames as the gateway, so the bench's clients do not change; no
database, no broker, no checks: everything the gateway does beyond this costs.

    uvicorn bench.relay_app:app
"""

from __future__ import annotations

import contextlib
import json

from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

counsellors: dict[str, WebSocket] = {}


async def person(websocket: WebSocket) -> None:
    await websocket.accept()
    chat, seq = "", 0
    try:
        while True:
            frame = json.loads(await websocket.receive_text())
            if frame.get("type") == "hello":
                chat = str(frame.get("token") or "")
                welcome = {"type": "welcome", "v": 1, "state": "live", "last_seq": 0}
                await websocket.send_text(json.dumps(welcome))
            elif frame.get("type") == "say":
                seq += 1
                client_id = frame["client_id"]
                ack = {"type": "ack", "client_id": client_id, "seq": seq}
                await websocket.send_text(json.dumps(ack))
                counsellor = counsellors.get(chat)
                if counsellor is not None:
                    message = {
                        "type": "message",
                        "session_id": chat,
                        "seq": seq,
                        "sender": "user",
                        "text": frame["text"],
                        "client_id": client_id,
                    }
                    # If the counsellor socket went away, drop the message, as a relay would.
                    with contextlib.suppress(RuntimeError, OSError, WebSocketDisconnect):
                        await counsellor.send_text(json.dumps(message))
    except WebSocketDisconnect:
        return


async def counsellor(websocket: WebSocket) -> None:
    await websocket.accept()
    chat = websocket.query_params.get("session", "")
    await websocket.send_text(json.dumps({"type": "queue", "rows": [], "available": 1, "mine": []}))
    counsellors[chat] = websocket
    try:
        while True:
            await websocket.receive_text()
    except WebSocketDisconnect:
        return
    finally:
        if counsellors.get(chat) is websocket:
            del counsellors[chat]


app = Starlette(
    routes=[WebSocketRoute("/ws/chat", person), WebSocketRoute("/counsellor/ws", counsellor)]
)
