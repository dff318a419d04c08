"""The supervisors' live board as the page shows it, rendered once per board.

The hub reads one board per change for every supervisor of the process
(``gateway/actions/live_board.py``); it is rendered here once, escaped by the
template, and the same fragment is pushed to each supervisor's socket.
"""

from __future__ import annotations

import weakref
from typing import Any

from counsellor_ui import frames as f
from counsellor_ui.timefmt import service_settings
from counsellor_ui.web import templates
from gateway.actions.floods import flood_groups
from gateway.actions.live_board import LiveBoard
from gateway.opening_hours import next_change_text
from gateway.settings import Settings

_frames: weakref.WeakKeyDictionary[LiveBoard, f.BoardOut] = weakref.WeakKeyDictionary()


def board_context(board: LiveBoard, settings: Settings) -> dict[str, Any]:
    return {
        "board": board,
        "service_hours": next_change_text(settings.hours, board.at),
        # Flood groups by label: each is shown as one row with "Clear flood".
        "floods": {group.label: group for group in flood_groups(board.waiting)},
    }


def board_frame(board: LiveBoard, request: Any) -> f.BoardOut:
    """The board's frame, rendered the first time a socket asks for it."""
    frame = _frames.get(board)
    if frame is None:
        settings = service_settings(request)
        html = templates.env.get_template("supervisor_live.html").render(
            request=request, **board_context(board, settings)
        )
        frame = _frames[board] = f.BoardOut(html=html)
    return frame
