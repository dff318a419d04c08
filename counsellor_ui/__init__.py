"""The counsellors' and supervisors' web app: sign-in, queue, conversations."""

from counsellor_ui.auth import OwnOriginOnly
from counsellor_ui.routes import EXCEPTION_HANDLERS, counsellor_routes

__all__ = ["EXCEPTION_HANDLERS", "OwnOriginOnly", "counsellor_routes"]
