"""schemathesis over the whole OpenAPI description, with an analyst and a partner key.

Every operation gets generated requests (positive data: what the schema
allows) against the synthetic town; each answer must not be a server
error, must have a documented status and content type, and must match the
documented schema (errors: ``{"error", "message", "details"}``). Generation
is derandomized, so a failure here reproduces on every run; there is no
shrinking and no deadline, so the run time is bounded by the examples.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")

from fastapi.testclient import TestClient  # noqa: E402
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from service.main import create_app  # noqa: E402
from service.settings import Settings  # noqa: E402
from service.store import Store  # noqa: E402
from tests.service.conftest import load_town  # noqa: E402

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]
#: generated requests per operation and role (fewer when an operation's inputs run out)
EXAMPLES = 50
ROLES = ("analyst", "partner")
MIN_REQUESTS_PER_ROLE = 500  # two roles: at least 1,000 in all


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, dict[str, str]]]:
    tmp = tmp_path_factory.mktemp("schemathesis")
    store = load_town(Store(f"sqlite:///{tmp / 'remap.db'}"), tmp, seed=3, scale=0.05)
    keys = {role: store.create_key(role, f"schemathesis {role}") for role in ROLES}
    app = create_app(Settings(database_url=store.url), store=store)
    with TestClient(app):  # runs the lifespan: the app holds the store
        yield app, keys
    store.dispose()


@pytest.mark.parametrize("role", ROLES)
def test_every_operation_answers_within_its_schema(fuzz_app: tuple[Any, dict[str, str]],
                                                   role: str) -> None:
    app, keys = fuzz_app
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    headers = {"X-API-Key": keys[role]}
    sent: dict[str, int] = {}
    failures: dict[str, str] = {}
    started = time.perf_counter()
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20

    for operation in operations:
        try:
            _fuzz(operation, headers, sent, failures)
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - e.g. a schema schemathesis cannot generate for
            failures.setdefault(operation.label, f"{type(exc).__name__}: {exc}"[:3000])

    total = sum(sent.values())
    print(f"\nschemathesis ({role}): {total} requests over {len(operations)} operations in "
          f"{time.perf_counter() - started:.1f} s")
    assert not failures, "\n\n".join(f"== {k}\n{v}" for k, v in failures.items())
    assert total >= MIN_REQUESTS_PER_ROLE, sent


def _fuzz(operation: Any, headers: dict[str, str], sent: dict[str, int],
          failures: dict[str, str]) -> None:
    """Up to EXAMPLES generated requests to ``operation``; the first failure is kept."""
    label = operation.label

    @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy())
    def check(case: Any) -> None:
        sent[label] = sent.get(label, 0) + 1
        try:
            case.call_and_validate(headers=headers, checks=CHECKS)
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - keep the first
            # failure of each operation, and the request that made it
            failures.setdefault(label, f"{type(exc).__name__}: {exc}"[:3000]
                                + f"\nrequest: {case.as_curl_command()}"[:3000])

    check()
