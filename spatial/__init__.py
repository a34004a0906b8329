"""remap's analysis core: pure functions of arrays and frames, no I/O to the web.

Nothing in this package imports FastAPI; the service layer adapts it.
"""



def __getattr__(name: str) -> str:
    # the version is pyproject.toml's; read lazily so that importing spatial stays cheap
    if name == "__version__":
        from importlib.metadata import version

        return version("remap")
    raise AttributeError(f"module 'spatial' has no attribute {name!r}")
