"""The database: migrations, retry claims, the command log (without full tokens)."""

from __future__ import annotations

import threading

from bot.storage import Storage, claim_request, log_command, recent_commands, transaction


def test_migrations_create_tables_and_wal(tmp_path) -> None:
    storage = Storage(tmp_path / "nested" / "bot.db")
    assert {"command_log", "handled_requests", "_sqlite_migrations"} <= set(
        storage.db.table_names()
    )
    assert storage.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    # Opening again applies nothing twice.
    again = Storage(tmp_path / "nested" / "bot.db")
    names = [r[0] for r in again.db.execute("select name from _sqlite_migrations")]
    assert len(names) == len(set(names))


def test_claim_request_is_true_once_even_across_threads(tmp_path) -> None:
    storage = Storage(tmp_path / "bot.db")
    results: list[bool] = []

    def claim() -> None:
        results.append(claim_request(storage.db, "trigger:123"))

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 7 + [True]


def test_command_log_masks_tokens(tmp_path) -> None:
    storage = Storage(tmp_path / "bot.db")
    log_command(
        storage.db,
        user_id="U1",
        command="pm",
        args="pm_1PqR2sT3uV4wX5yZ4242 and sk_test_abcdefghijkl",
        outcome="ok",
        detail="token tok_visa99999",
    )
    row = recent_commands(storage.db)[0]
    assert row["args"] == "pm_…4242 and sk_…ijkl"
    assert row["detail"] == "token tok_…9999"
    assert (row["user_id"], row["command"], row["outcome"]) == ("U1", "pm", "ok")


def test_transaction_rolls_back_on_error(tmp_path) -> None:
    storage = Storage(tmp_path / "bot.db")
    try:
        with transaction(storage.db) as db:
            claim_request(db, "k")
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert claim_request(storage.db, "k") is True
