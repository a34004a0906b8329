"""The hash-chained audit log (SQLite and PostgreSQL): tampering is detected and named,
concurrent writers never fork the chain, refusals are recorded, API and CLI."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient

from service.main import create_app
from service.settings import Settings
from service.store import Store, audit


def write(store: Store, n: int, actor: str = "test", action: str = "probe") -> list[int]:
    return [audit.record(store, None, actor, action, {"i": i, "text": f"entry {i} – ü"})
            for i in range(n)]


def tamper(store: Store, *statements: str, **params: Any) -> None:
    """Change the log as someone who owns the database would: guards off, SQL, guards on."""
    with store.begin() as conn:
        audit.drop_guards(conn)
        for sql in statements:
            conn.execute(sa.text(sql), params)
        audit.install_guards(conn)


def tampered(store: Store, n: int, *statements: str) -> tuple[list[int], Any]:
    """Write ``n`` rows, run ``statements`` (``{ids[k]}`` is the id of row k), verify."""
    ids = write(store, n)
    tamper(store, *(sql.format(ids=ids) for sql in statements))
    return ids, audit.verify(store)


def stored_detail(store: Store, row_id: int) -> str:
    with store.engine.connect() as conn:
        return str(conn.execute(sa.text("SELECT detail FROM audit_log WHERE id = :i"),
                                {"i": row_id}).scalar_one())


def test_an_intact_chain_verifies_and_links_every_row(store: Store) -> None:
    ids = write(store, 12)
    result = audit.verify(store)
    assert result.ok and result.rows == 12 and result.first_broken is None
    rows = store.audit_entries()
    assert [r["id"] for r in rows] == ids
    assert rows[0]["prev_hash"] == audit.GENESIS
    for before, after in zip(rows, rows[1:], strict=False):
        assert after["prev_hash"] == before["row_hash"]
    assert result.head_id == ids[-1] and result.head_hash == rows[-1]["row_hash"]


def test_an_edited_row_is_named(store: Store) -> None:
    ids = write(store, 10)
    original = stored_detail(store, ids[4])
    tamper(store, f"UPDATE audit_log SET detail = '{{\"i\": 99}}' WHERE id = {ids[4]}")
    result = audit.verify(store)
    assert not result.ok and result.first_broken == ids[4]
    assert "changed" in (result.reason or "")
    # restoring the exact stored text restores the chain: the hash is of the content
    tamper(store, f"UPDATE audit_log SET detail = :d WHERE id = {ids[4]}", d=original)
    assert audit.verify(store).ok
    # an edit of the actor or of the time is caught the same way
    tamper(store, f"UPDATE audit_log SET actor = 'someone else' WHERE id = {ids[7]}")
    assert audit.verify(store).first_broken == ids[7]
    tamper(store, f"UPDATE audit_log SET actor = 'test' WHERE id = {ids[7]}",
           f"UPDATE audit_log SET at = :at WHERE id = {ids[2]}", at="2001-01-01 00:00:00")
    assert audit.verify(store).first_broken == ids[2]


def test_a_deleted_middle_row_names_the_row_after_the_gap(store: Store) -> None:
    ids, result = tampered(store, 10, "DELETE FROM audit_log WHERE id = {ids[5]}")
    assert not result.ok and result.first_broken == ids[6]
    assert "deleted" in (result.reason or "")


def test_rows_cut_from_the_end_are_detected(store: Store) -> None:
    ids, result = tampered(store, 6, "DELETE FROM audit_log WHERE id >= {ids[4]}")
    assert not result.ok and result.first_broken == ids[5]
    assert "end" in (result.reason or "")


def test_reordered_rows_are_named(store: Store) -> None:
    ids = write(store, 6)
    a, b = ids[2], ids[3]
    tamper(store, f"UPDATE audit_log SET id = -1 WHERE id = {a}",
           f"UPDATE audit_log SET id = {a} WHERE id = {b}",
           f"UPDATE audit_log SET id = {b} WHERE id = -1")
    result = audit.verify(store)
    assert not result.ok and result.first_broken == a


def test_the_application_cannot_update_or_delete_rows(store: Store) -> None:
    ids = write(store, 3)
    for sql in (f"UPDATE audit_log SET detail = '{{}}' WHERE id = {ids[1]}",
                f"DELETE FROM audit_log WHERE id = {ids[1]}"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), store.begin() as conn:
            conn.execute(sa.text(sql))
    assert audit.verify(store).ok and len(store.audit_entries()) == 3


def test_a_rolled_back_append_leaves_no_trace(store: Store) -> None:
    write(store, 3)
    with pytest.raises(RuntimeError), store.begin() as conn:
        store.audit(conn, "test", "probe", {"doomed": True})
        raise RuntimeError("the transaction fails after its audit row")
    write(store, 2)
    result = audit.verify(store)
    assert result.ok and result.rows == 5
    assert not any(e["detail"].get("doomed") for e in store.audit_entries())


def test_concurrent_appends_never_fork_the_chain(store: Store) -> None:
    threads, per_thread = 8, 25
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def worker(t: int) -> None:
        try:
            start.wait()
            for i in range(per_thread):
                store.audit(None, f"thread:{t}", "probe", {"t": t, "i": i})
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    pool = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    assert not errors, errors
    result = audit.verify(store)
    assert result.ok, result
    assert result.rows == threads * per_thread
    rows = store.audit_entries()
    assert len({r["prev_hash"] for r in rows}) == len(rows)  # no two rows share a parent
    assert {(r["detail"]["t"], r["detail"]["i"]) for r in rows} == {
        (t, i) for t in range(threads) for i in range(per_thread)}


def test_migration_chains_rows_written_before_it(store: Store) -> None:
    """A store at schema version 10 with audit rows: migration 11 chains them."""
    with store.begin() as conn:
        audit.drop_guards(conn)
        conn.execute(sa.text("DROP TABLE audit_head"))
        conn.execute(sa.text("ALTER TABLE audit_log DROP COLUMN row_hash"))
        conn.execute(sa.text("ALTER TABLE audit_log DROP COLUMN prev_hash"))
        conn.execute(sa.text("DELETE FROM schema_migrations WHERE version = 11"))
        for i in range(4):
            conn.execute(sa.text("INSERT INTO audit_log (at, actor, action, detail) "
                                 "VALUES (:at, 'cli', 'old', :d)"),
                         {"at": f"2024-01-0{i + 1} 10:00:00.000000", "d": json.dumps({"i": i})})
    again = Store(store.url)
    try:
        assert again.schema_version() >= 11
        result = audit.verify(again)
        assert result.ok and result.rows == 4
        again.audit(None, "test", "new", {})
        assert audit.verify(again).ok and audit.verify(again).rows == 5
        with pytest.raises(sa.exc.DBAPIError), again.begin() as conn:
            conn.execute(sa.text("DELETE FROM audit_log"))
    finally:
        again.dispose()


# --------------------------------------------------------------------------- refusals

def refused_rows(store: Store) -> list[dict[str, Any]]:
    return store.audit_entries("refused")


def test_refusals_are_recorded_without_the_key(client: TestClient, keys, store: Store) -> None:
    assert client.get("/v1/layers").status_code == 401
    bad = "rmp_" + "Q" * 43
    assert client.get("/v1/layers", headers={"X-API-Key": bad}).status_code == 401
    assert client.get("/v1/layers", headers={"X-API-Key": "short"}).status_code == 401
    partner = keys["partner"]["X-API-Key"]
    partner_id = store.role_for_key(partner)[0]  # type: ignore[index]
    assert client.get("/v1/audit", headers=keys["partner"]).status_code == 403
    revoked = store.create_key("analyst", "to revoke")
    revoked_id = store.role_for_key(revoked)[0]  # type: ignore[index]
    store.revoke_key(revoked_id)
    assert client.get("/v1/layers", headers={"X-API-Key": revoked}).status_code == 401

    rows = refused_rows(store)
    assert len(rows) == 5
    no_key, bad_key, short_key, forbidden, revoked_row = rows
    for r in rows:
        assert r["detail"]["method"] == "GET" and r["detail"]["client"] == "testclient"
    assert no_key["actor"] == "anonymous"
    assert no_key["detail"].items() >= {"status": 401, "path": "/v1/layers", "key": "none",
                                        "error": "unauthenticated"}.items()
    assert bad_key["detail"]["key"] == "unknown" and bad_key["detail"]["key_prefix"] == bad[:10]
    assert "key_prefix" not in short_key["detail"]
    assert forbidden["actor"] == f"key:{partner_id}"
    assert forbidden["detail"]["status"] == 403 and forbidden["detail"]["path"] == "/v1/audit"
    assert forbidden["detail"]["error"] == "forbidden"
    assert revoked_row["actor"] == f"key:{revoked_id}" and revoked_row["detail"]["revoked"]
    dump = json.dumps(store.audit_entries())
    for secret in (bad, "short", partner, revoked, *(h["X-API-Key"] for h in keys.values())):
        assert secret not in dump
    assert audit.verify(store).ok


def test_a_429_from_anywhere_is_recorded(store: Store, settings: Settings, keys) -> None:
    app = create_app(settings, store=store)

    @app.get("/v1/_slow_down")
    def slow_down() -> JSONResponse:
        return JSONResponse({"error": "rate_limited", "message": "too many requests"},
                            status_code=429, headers={"Retry-After": "3"})

    with TestClient(app) as c:
        r = c.get("/v1/_slow_down", headers=keys["viewer"])
        assert r.status_code == 429 and r.headers["Retry-After"] == "3"
        assert c.get("/v1/layers", headers=keys["viewer"]).status_code == 200
    (row,) = refused_rows(store)
    viewer_id = store.role_for_key(keys["viewer"]["X-API-Key"])[0]  # type: ignore[index]
    assert row["actor"] == f"key:{viewer_id}"
    assert row["detail"]["status"] == 429 and row["detail"]["error"] == "rate_limited"
    assert row["detail"]["path"] == "/v1/_slow_down"


# --------------------------------------------------------------------------- API

def test_audit_api_lists_filters_and_pages(client: TestClient, keys, store: Store) -> None:
    write(store, 7, actor="key:900", action="probe")
    write(store, 3, actor="ops", action="other")
    admin = keys["admin"]
    r = client.get("/v1/audit", params={"action": "probe", "limit": 5}, headers=admin)
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["numberMatched"] == 7 and page["numberReturned"] == 5
    assert [e["detail"]["i"] for e in page["entries"]] == [0, 1, 2, 3, 4]
    assert page["next"] and "offset=5" in page["next"]
    rest = client.get(page["next"], headers=admin).json()
    assert [e["detail"]["i"] for e in rest["entries"]] == [5, 6] and rest["next"] is None
    by_actor = client.get("/v1/audit", params={"actor": "ops"}, headers=admin).json()
    assert {e["action"] for e in by_actor["entries"]} == {"other"}
    newest = client.get("/v1/audit", params={"order": "desc", "limit": 1}, headers=admin).json()
    assert newest["entries"][0]["action"] == "other"
    # time filters: nothing is from the future, everything is from after 2000
    future = client.get("/v1/audit", params={"since": "2999-01"}, headers=admin).json()
    assert future["numberMatched"] == 0
    past = client.get("/v1/audit", params={"since": "2000-01-01", "until": "2999-12"},
                      headers=admin).json()
    assert past["numberMatched"] == len(store.audit_entries())
    bad = client.get("/v1/audit", params={"since": "yesterday"}, headers=admin)
    assert bad.status_code == 422 and "since" in bad.json()["message"]
    assert client.get("/v1/audit", params={"order": "sideways"},
                      headers=admin).status_code == 422


def test_audit_routes_are_admin_only(client: TestClient, keys) -> None:
    for role in ("analyst", "partner", "viewer"):
        for path in ("/v1/audit", "/v1/audit/verify"):
            assert client.get(path, headers=keys[role]).status_code == 403, (role, path)
    assert client.get("/v1/audit/verify").status_code == 401


def test_audit_verify_route(client: TestClient, keys, store: Store) -> None:
    ids = write(store, 5)
    r = client.get("/v1/audit/verify", headers=keys["admin"])
    assert r.status_code == 200
    assert r.json()["ok"] is True and r.json()["first_broken"] is None
    tamper(store, f"DELETE FROM audit_log WHERE id = {ids[2]}")
    body = client.get("/v1/audit/verify", headers=keys["admin"]).json()
    assert body["ok"] is False and body["first_broken"] == ids[3] and body["reason"]


# --------------------------------------------------------------------------- CLI

def test_cli_audit_list_and_verify(run, store: Store) -> None:
    ids = write(store, 4, action="probe")
    write(store, 2, action="other")
    listed = json.loads(run("audit", "list", "--action", "probe", "--json").stdout)
    assert [e["id"] for e in listed["entries"]] == ids and listed["numberMatched"] == 4
    last = json.loads(run("audit", "list", "--limit", "2", "--json").stdout)
    assert [e["action"] for e in last["entries"]] == ["other", "other"]
    human = run("audit", "list", "--actor", "test", "--since", "2000-01")
    assert human.exit_code == 0 and "probe" in human.output and "6 of 6" in human.output
    ok = run("audit", "verify")
    assert ok.exit_code == 0 and "intact: 6 rows" in ok.output
    tamper(store, f"UPDATE audit_log SET action = 'innocent' WHERE id = {ids[1]}")
    broken = run("audit", "verify")
    assert broken.exit_code == 1 and f"first broken row: {ids[1]}" in broken.output
    as_json = run("audit", "verify", "--json")
    assert as_json.exit_code == 1 and json.loads(as_json.stdout)["first_broken"] == ids[1]
    assert run("audit", "list", "--since", "nonsense").exit_code == 2


def test_a_refusal_waits_for_a_busy_writer_rather_than_being_lost(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite's single writer may be held by a long import: the row is retried."""
    from service.api import refusals

    calls = {"n": 0}
    real = refusals.record_refusal

    def busy_twice(*args: Any, **kwargs: Any) -> int:
        calls["n"] += 1
        if calls["n"] <= 2:
            raise sa.exc.OperationalError("INSERT", {}, Exception("database is locked"))
        return real(*args, **kwargs)

    monkeypatch.setattr(refusals, "record_refusal", busy_twice)
    monkeypatch.setattr(refusals.time, "sleep", lambda _s: None)
    refusals._record_with_retry(store, status=401, method="GET", path="/v1/layers",
                                client="10.0.0.1", presented_key=None)
    assert calls["n"] == 3 and len(refused_rows(store)) == 1
    def always_busy(*_args: Any, **_kwargs: Any) -> int:
        raise sa.exc.OperationalError("INSERT", {}, Exception("database is locked"))

    monkeypatch.setattr(refusals, "record_refusal", always_busy)
    with pytest.raises(sa.exc.OperationalError):
        refusals._record_with_retry(store, status=401, method="GET", path="/v1/layers",
                                    client="10.0.0.1", presented_key=None)


def test_cli_verify_names_the_row_after_a_deleted_one(run, store: Store) -> None:
    ids = write(store, 5)
    tamper(store, f"DELETE FROM audit_log WHERE id = {ids[1]}")
    r = run("audit", "verify")
    assert r.exit_code == 1 and f"first broken row: {ids[2]}" in r.output
    assert "deleted" in r.output
