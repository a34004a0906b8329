"""The ``remap`` command: the same operations as the API, for analysts and scripts.

Every command takes ``--json`` for scripts. The store is chosen by
``REMAP_DATABASE_URL`` (default: ``remap.db`` in the working directory).
Errors print one clear line (or a JSON error with ``--json``) and exit 2.
One module per command group; :mod:`service.cli.app` holds the group itself.
"""

from service.cli.app import main

__all__ = ["main"]
