"""Baseline: a bare Starlette websocket that answers ``hello`` and acks every ``say``.

Same server (uvicorn), same framework, same JSON on the wire, no database, no
bot, no broker: the gap between this and the gateway is what the gateway's own
work costs.

    uvicorn bench.echo_app:app
"""

from __future__ import annotations

import json

from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect


async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    seq = 0
    try:
        while True:
            frame = json.loads(await websocket.receive_text())
            if frame.get("type") == "hello":
                welcome = {
                    "type": "welcome",
                    "v": 1,
                    "token": "echo",
                    "state": "bot",
                    "last_seq": 0,
                }
                await websocket.send_text(json.dumps(welcome))
            elif frame.get("type") == "say":
                seq += 1
                ack = {"type": "ack", "client_id": frame["client_id"], "seq": seq}
                await websocket.send_text(json.dumps(ack))
    except WebSocketDisconnect:
        return


app = Starlette(routes=[WebSocketRoute("/ws/chat", echo)])
