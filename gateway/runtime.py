"""What the running application holds: services, the live hub, bot delivery, connection caps."""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.abuse import AbuseGuard
from gateway.actions.bot import BotTurn, run_bot
from gateway.actions.sessions import close_by_bot, erase_session
from gateway.bot_inputs import BotInput
from gateway.delivery import BotDelivery
from gateway.live.hub import LiveHub
from gateway.ratelimit import ConnectionCounter
from gateway.services import Services


@dataclass
class Runtime:
    svc: Services
    delivery: BotDelivery
    addresses: ConnectionCounter
    hub: LiveHub
    background: list[object] = field(default_factory=list)
    # Limits per address and session, flood groups, proof of work (gateway/abuse/):
    # in this process's memory unless the application gives one counting in Redis.
    abuse: AbuseGuard = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.abuse is None:
            self.abuse = AbuseGuard(self.svc.settings)

    async def bot_turn(self, session_id: int, event: BotInput) -> BotTurn:
        """Run the bot (if the session is with it) and deliver its replies with typing pauses."""
        turn = await run_bot(self.svc, session_id=session_id, event=event)
        self.deliver(turn)
        return turn

    def deliver(self, turn: BotTurn) -> None:
        """Publish a stored bot turn with its typing pauses, then carry out its ending."""
        end = turn.end
        session_id = turn.session_id

        async def finish() -> None:
            if end is None:
                return
            if end.erase:
                await erase_session(self.svc, session_id=session_id, notify=False)
            else:
                await close_by_bot(self.svc, session_id=session_id)

        if turn.events or end is not None:
            self.delivery.deliver(turn, after=finish)
