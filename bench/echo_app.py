"""Baseline for the benchmarks: a bare Starlette websocket that acks every frame.

Same server (uvicorn), same framework, same JSON parsing, no database: the
difference between this and the gateway is what storing-before-acking costs.
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
                await websocket.send_text(
                    json.dumps(
                        {"type": "welcome", "v": 1, "token": "x", "state": "bot", "last_seq": 0}
                    )
                )
                continue
            seq += 1
            await websocket.send_text(
                json.dumps({"type": "ack", "client_id": frame["client_id"], "seq": seq})
            )
    except WebSocketDisconnect:
        return


app = Starlette(routes=[WebSocketRoute("/ws/chat", echo)])
