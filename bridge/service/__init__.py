"""The bridge service: one module per feature, wired together in ``bridge.service.bridge``."""

from bridge.service.bridge import BridgeService
from bridge.service.roster import Change

__all__ = ["BridgeService", "Change"]
