"""remap's analysis core: pure functions of arrays and frames, no I/O to the web.

Nothing in this package imports FastAPI; the service layer adapts it.
"""

__version__ = "0.1.0"
