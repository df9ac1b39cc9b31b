"""`billing-bot import FILE --dry-run` as an admin runs it: a subprocess, output, exit code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest

from bot.cli import main
from bot.config import SETTINGS
from commands.imports.scenario import columns_help
from tests.import_fakes import NEW_HEADER as HEADER
from tests.import_fakes import csv_bytes
from tests.plugins.stripe import Seeded

ROOT = Path(__file__).resolve().parent.parent
GW = "a0G000000000001"

PROBLEM = {
    "type": "object",
    "required": ["line", "column", "code", "severity", "message"],
    "properties": {
        "line": {"type": "integer", "minimum": 1},
        "column": {"type": "string"},
        "code": {"type": "string"},
        "severity": {"enum": ["error", "warning", "info"]},
        "message": {"type": "string", "minLength": 1},
    },
}
COUNT = {"type": "integer", "minimum": 0}
Runner = Callable[..., tuple[int, str, str]]  # (exit code, stdout, stderr)
PLAN_KEYS = ["accounts_create", "accounts_update", "payment_methods_create", "skipped",
             "rejected_rows"]  # fmt: skip
REPORT = {
    "type": "object",
    "required": ["scenario", "rows", "problems", "plan"],
    "properties": {
        "scenario": {"enum": ["new", "existing", "payment-methods"]},
        "rows": COUNT,
        "problems": {"type": "array", "items": PROBLEM},
        "plan": {
            "type": "object",
            "required": PLAN_KEYS,
            "properties": dict.fromkeys(PLAN_KEYS, COUNT),
        },
        "skipped_checks": {"type": "array", "items": {"type": "string"}},
    },
}


def billing_bot(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environ = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "PYTHONPATH": str(ROOT),
        "DATABASE_PATH": str(tmp_path / "bot.db"),
        **(env or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", "bot", "import", *args],
        cwd=tmp_path,  # no stray .env
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def in_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Runner:
    """`billing-bot import …` through `bot.cli.main` in this process (a subprocess costs
    seconds): the same code, with an environment holding only what the test sets."""
    monkeypatch.chdir(tmp_path)  # no stray .env
    for setting in SETTINGS:
        monkeypatch.delenv(setting.name, raising=False)
    monkeypatch.setenv("DATABASE_PATH", str(tmp_path / "bot.db"))

    def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
        for name, value in (env or {}).items():
            monkeypatch.setenv(name, value)
        code = main(["import", *args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def write(tmp_path: Path, *rows: list[str], header: list[str] = HEADER) -> str:
    path = tmp_path / "customers.csv"
    path.write_bytes(csv_bytes(header, *rows))
    return str(path)


def test_clean_file_exits_0_and_prints_the_json_report(tmp_path: Path) -> None:
    path = write(tmp_path, ["Acme", "cus_acme", GW, "true", "pm_acme_1"])
    done = billing_bot(tmp_path, path, "--dry-run", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    jsonschema.validate(report, REPORT)
    assert report["scenario"] == "new"
    assert report["rows"] == 1
    assert report["plan"]["accounts_create"] == 1
    assert report["skipped_checks"] == [
        "Salesforce cross-checks skipped: not configured",
        "Stripe cross-checks skipped: not configured",
    ]


def test_rejected_rows_exit_1_with_every_problem(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        ["Acme", "cus_acme", GW, "true", "pm_acme_1"],
        ["Beta", "beta", GW, "no", "tok_12345"],
    )
    done = billing_bot(tmp_path, path, "--dry-run", "--json", "--scenario", "new")
    assert done.returncode == 1
    report = json.loads(done.stdout)
    jsonschema.validate(report, REPORT)
    assert [(p["line"], p["column"], p["code"]) for p in report["problems"]] == [
        (3, "Stripe Customer ID", "invalid_stripe_customer_id"),
        (3, "Active", "active_not_true"),
        (3, "Payment Gateway Token", "token_not_reusable"),
    ]
    assert report["plan"]["rejected_rows"] == 1
    assert report["scenario_detected"] is False


def test_text_output_is_a_summary_then_problems_by_row(tmp_path: Path, in_process: Runner) -> None:
    code, out, _ = in_process(
        write(tmp_path, ["Beta", "cus_beta", GW, "maybe", "pm_beta_1"]), "--dry-run"
    )
    assert code == 1
    assert out.splitlines()[0] == "File: customers.csv (UTF-8, comma-separated, 1 row)"
    assert "Scenario: new customers and payment methods (detected)" in out
    assert "Line 2 (rejected):" in out
    assert "Active: Active is “maybe”: use true or false [invalid_boolean]" in out


def test_unusable_file_exits_2_with_the_reason(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(b"\x00\x01binary")
    done = billing_bot(tmp_path, str(path), "--dry-run", "--json")
    assert done.returncode == 2
    answer = json.loads(done.stdout)
    assert answer["error"] == "file_rejected"
    assert "does not look like a CSV file" in answer["reason"]
    assert "does not look like a CSV file" in done.stderr


@pytest.mark.parametrize(
    ("content", "reason"), [(b"", "the file is empty"), (csv_bytes(HEADER), "header but no rows")]
)
def test_other_unusable_files_exit_2(
    tmp_path: Path, in_process: Runner, content: bytes, reason: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    code, out, err = in_process(str(path), "--dry-run", "--json")
    assert code == 2
    assert reason in json.loads(out)["reason"]
    assert reason in err


def test_row_limit_comes_from_settings(tmp_path: Path, in_process: Runner) -> None:
    rows = [[f"Co {i}", f"cus_{i:04d}", GW, "true", f"pm_{i:04d}"] for i in range(4)]
    code, _, err = in_process(write(tmp_path, *rows), "--dry-run", env={"IMPORT_MAX_ROWS": "3"})
    assert code == 2
    assert "more than 3 rows" in err


def test_missing_file_and_no_dry_run_exit_2(tmp_path: Path, in_process: Runner) -> None:
    code, _, err = in_process(str(tmp_path / "nope.csv"), "--dry-run")
    assert code == 2
    assert "could not be opened" in err
    code, _, err = in_process(write(tmp_path, ["Acme", "cus_acme", GW, "true", "pm_1234"]))
    assert code == 2
    assert "--dry-run" in err


def test_dry_run_against_the_stand_ins(tmp_path: Path, seeded: Seeded) -> None:
    acme = seeded.report.accounts["healthy"]
    gateway = seeded.report.gateways["stripe"]["id"]
    token = acme["payment_methods"][0]["token"]
    path = write(
        tmp_path,
        [acme["name"], acme["stripe_customer_id"], gateway, "true", token],
        ["Springfield Nuclear", "cus_NoSuchOne", gateway, "true", "pm_NoSuchOne"],
    )
    done = billing_bot(tmp_path, path, "--dry-run", "--json", env=seeded.settings())
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    jsonschema.validate(report, REPORT)
    assert report["skipped_checks"] == []
    found = {(p["line"], p["code"]) for p in report["problems"]}
    assert (2, "token_already_imported") in found
    assert (3, "stripe_customer_missing") in found
    assert (3, "stripe_pm_missing") in found
    assert report["plan"] == {
        "accounts_create": 0,
        "accounts_update": 0,
        "payment_methods_create": 0,
        "skipped": 1,
        "rejected_rows": 1,
    }
    done = billing_bot(
        tmp_path, path, "--dry-run", "--json", "--scenario", "existing", env=seeded.settings()
    )
    found = {(p["line"], p["code"]) for p in json.loads(done.stdout)["problems"]}
    assert (3, "account_ambiguous") in found


def test_help_lists_the_columns_of_each_scenario(
    in_process: Runner, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as done:
        in_process("--help")
    assert done.value.code == 0
    text = capsys.readouterr().out
    assert columns_help() in text
    assert "existing: Account Id or Account Name, Stripe Customer ID" in text
    assert "payment-methods: Account Id or Account Name or Stripe Customer ID" in text
    assert "optional: Payment Type" in text
