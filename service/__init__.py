"""remap's service layer: the FastAPI app, the store and the ``remap`` command."""
