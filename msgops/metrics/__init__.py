"""Per-process metrics: steps are recorded as they happen and summarised by `msgops metrics`."""
from msgops.metrics.events import record, record_once

__all__ = ["record", "record_once"]
