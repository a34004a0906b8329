"""Which providers serve which collection ids: one explicit list, :func:`builtin_providers`.

A collection's id is ``<prefix>-<name>``; the prefix picks the provider. The
list is built here, in listing order, when this module is imported; nothing
adds to it as a side effect of importing another module.
:func:`register_collection_provider` adds one at run time (an extension, a test).
"""

from __future__ import annotations

from collections.abc import Iterator

from service.api.ogc.boundaries import BoundarySetProvider
from service.api.ogc.events import EventLayerProvider
from service.api.ogc.providers import CollectionProvider
from service.api.ogc.results import SavedResultsProvider
from spatial.errors import NotFoundError, ParameterError


def builtin_providers() -> dict[str, CollectionProvider]:
    """Every kind of collection remap serves, by id prefix, in the order listed."""
    return {
        "events": EventLayerProvider(),
        "boundaries": BoundarySetProvider(),
        "hotspots": SavedResultsProvider(),
    }


class CollectionRegistry:
    """Providers by id prefix."""

    def __init__(self, providers: dict[str, CollectionProvider]) -> None:
        self._providers: dict[str, CollectionProvider] = {}
        for prefix, provider in providers.items():
            self.register(prefix, provider)

    def register(self, prefix: str, provider: CollectionProvider, *,
                 replace: bool = False) -> None:
        """Serve ``provider``'s collections as ``<prefix>-<name>``.

        ``prefix`` is letters, digits and ``_`` (no ``-``: the first ``-`` of an id ends it).
        """
        if not prefix or not prefix.replace("_", "").isalnum():
            raise ParameterError("prefix", f"{prefix!r} must be letters, digits or '_'")
        if prefix in self._providers and not replace:
            raise ParameterError("prefix", f"{prefix!r} is already registered")
        self._providers[prefix] = provider

    def unregister(self, prefix: str) -> None:
        self._providers.pop(prefix, None)

    def __iter__(self) -> Iterator[tuple[str, CollectionProvider]]:
        return iter(list(self._providers.items()))

    def resolve(self, collection_id: str) -> tuple[str, CollectionProvider, str]:
        """``(prefix, provider, name)`` of a collection id; NotFoundError if no provider."""
        prefix, sep, name = collection_id.partition("-")
        provider = self._providers.get(prefix) if sep and name else None
        if provider is None:
            raise NotFoundError(f"collection {collection_id!r} does not exist; ids look like "
                                + " or ".join(f"'{p}-<name>'" for p in self._providers))
        return prefix, provider, name


#: The collections served under ``/v1/ogc``.
REGISTRY = CollectionRegistry(builtin_providers())


def register_collection_provider(prefix: str, provider: CollectionProvider, *,
                                 replace: bool = False) -> None:
    """Add ``provider`` to :data:`REGISTRY` at run time."""
    REGISTRY.register(prefix, provider, replace=replace)


def unregister_collection_provider(prefix: str) -> None:
    REGISTRY.unregister(prefix)
