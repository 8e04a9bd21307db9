"""Observability: Prometheus metrics (:mod:`.metrics`) and structured JSON logs (:mod:`.logs`).

A package of its own, outside :mod:`dialer.daemon`, so that the telephony adapter, the store and the
simulator can record metrics and log without importing the daemon's lifecycle code.
"""

from dialer.obs.logs import configure_logging, mask_phone
from dialer.obs.metrics import DialerMetrics

__all__ = ["DialerMetrics", "configure_logging", "mask_phone"]
