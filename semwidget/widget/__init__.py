"""The Explorer widget (kernel side; its front end lives in js/)."""

from ._explorer import Explorer

__all__ = ["Explorer"]
