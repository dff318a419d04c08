"""The chats a counsellor's chat workspace shows as tabs: every live chat they hold.

Reads only; what a counsellor does to a chat goes through the actions of its domain.
"""

from __future__ import annotations

from sqlalchemy import select

from gateway.models import ChatSession
from gateway.services import Services
from gateway.types import SessionState


async def live_chats_of(svc: Services, *, staff_id: int) -> list[ChatSession]:
    """The counsellor's live chats, the longest-held first (the order of their tabs)."""
    async with svc.read() as session:
        result = await session.execute(
            select(ChatSession)
            .where(
                ChatSession.counsellor_id == staff_id,
                ChatSession.state == SessionState.LIVE.value,
            )
            .order_by(ChatSession.claimed_at, ChatSession.id)
        )
        return list(result.scalars())
