"""The offline sandbox without a browser: `billing-bot sandbox` as a real process, and the
page's JSON API driving the bot in-process.

Why both: the process test is what a person runs (a fresh machine, no credentials, Ctrl-C at
the end), and it alone can show that nothing is left behind: no child process, no temporary
database, CA bundle or org file. The in-process tests drive the page's server the way the page
does (JSON in, Slack's signed requests out) and read what a person would see from the Slack
stand-in's world, so every step of the demo is checked even where Chromium is missing.
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from sandbox.demo import SHORTCUTS, SLASH_COMMANDS, Sandbox, running_sandbox
from sandbox.import_sample import FILENAME as SAMPLE
from sandbox.slack_api import APPROVALS_CHANNEL, APPROVER, OUTSIDER, REQUESTER, SUPPORT_CHANNEL
from sandbox.web.app import PAGE_HEADER, STATIC_FILES

ROOT = Path(__file__).resolve().parent.parent
WAIT = 90.0  # seconds: generous for two shared cores; never a timing assertion
ACCOUNTS = 23  # the seed's minimum: the named accounts only


# --- helpers ------------------------------------------------------------------------------------


def request(
    url: str,
    body: Any = None,
    *,
    headers: dict[str, str] | None = None,
    data: bytes | None = None,
) -> tuple[int, Any]:
    """(status, parsed JSON or bytes) of a GET, or of a POST when `body`/`data` is given."""
    hdrs = dict(headers or {})
    if body is not None:
        data = json.dumps(body).encode()
        hdrs.setdefault("Content-Type", "application/json")
    req = urllib.request.Request(url, data=data, headers=hdrs, method="POST" if data else "GET")
    try:
        with urllib.request.urlopen(req, timeout=WAIT) as resp:
            status, raw, kind = resp.status, resp.read(), resp.headers.get("Content-Type", "")
    except urllib.error.HTTPError as exc:
        status, raw, kind = exc.code, exc.read(), exc.headers.get("Content-Type", "")
    return status, json.loads(raw) if kind.startswith("application/json") else raw


def page_post(base: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    status, answer = request(base + path, body, headers={PAGE_HEADER: "1"})
    assert status == 200, answer
    return answer


def wait_until(condition: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + WAIT
    while True:
        found = condition()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {WAIT}s for {what}")
        time.sleep(0.2)


def world(base: str, user: str) -> dict[str, Any]:
    status, state = request(f"{base}_sandbox/state?user={user}")
    assert status == 200
    return state


def text_of(message: dict[str, Any]) -> str:
    """Everything a person reads in a message: its text and every text in its blocks."""
    parts = [message.get("text") or ""]

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if isinstance(value.get("text"), str):
                parts.append(value["text"])
            for child in value.values():
                walk(child)
        elif isinstance(value, list):
            for child in value:
                walk(child)

    walk(message.get("blocks") or [])
    return "\n".join(parts)


def find_message(
    base: str, user: str, channel: str, needle: str, *, ephemeral: bool | None = None
) -> dict[str, Any]:
    def look() -> dict[str, Any] | None:
        for m in world(base, user)["messages"]:
            if m["channel"] != channel or needle not in text_of(m):
                continue
            if ephemeral is None or bool(m.get("is_ephemeral")) == ephemeral:
                return m
        return None

    return wait_until(look, f"{needle!r} in {channel} for {user}")


def button(message: dict[str, Any], label: str) -> dict[str, Any]:
    for block in message.get("blocks") or []:
        elements = block.get("elements") if block.get("type") == "actions" else []
        for el in [*(elements or []), block.get("accessory") or {}]:
            if el.get("type") == "button" and el["text"]["text"] == label:
                return {"block_id": block["block_id"], "action_id": el["action_id"]}
    raise AssertionError(f"no {label!r} button in {text_of(message)[:200]!r}")


# --- the process: what a person runs -----------------------------------------------------------


def _clean_env(tmp: Path) -> dict[str, str]:
    """A fresh machine's environment: no Slack, Salesforce or Stripe settings."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "SF_", "STRIPE_", "ACCESS_", "DATABASE_"))
    }
    env.update(TMPDIR=str(tmp), PYTHONUNBUFFERED="1", PYTHONPATH=str(ROOT))
    return env


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                status = (entry / "status").read_text()
            except OSError:
                continue
            if f"\nPPid:\t{pid}\n" in status:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in state


def test_billing_bot_sandbox_answers_a_slash_command_and_leaves_nothing_behind(
    tmp_path: Path,
) -> None:
    workdir, tmp = tmp_path / "cwd", tmp_path / "tmp"
    workdir.mkdir()
    tmp.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "sandbox", "--port", "0", "--accounts", str(ACCOUNTS)],
        cwd=workdir,
        env=_clean_env(tmp),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    errors: list[str] = []
    threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True).start()
    threading.Thread(target=lambda: errors.extend(proc.stderr), daemon=True).start()
    try:
        address = wait_until(
            lambda: (
                next((ln.split()[1] for ln in lines if ln.strip().startswith("Open ")), None)
                or (proc.poll() is not None and pytest.fail("".join(lines + errors)))
            ),
            "the page's address",
        )
        assert address.startswith("http://127.0.0.1:") and address.endswith("/")
        status, html = request(address)
        assert status == 200 and b"<title>Billing Ops Bot" in html

        answer = page_post(
            address,
            "api/slash",
            {
                "user": REQUESTER,
                "channel": SUPPORT_CHANNEL,
                "command": "/billing",
                "text": "customer Acme",
            },  # fmt: skip
        )
        assert answer["ok"], answer
        found = find_message(address, REQUESTER, SUPPORT_CHANNEL, "Acme Corporation")
        assert found["is_ephemeral"] and found["visible_to"] == REQUESTER

        children = _children(proc.pid)
        assert children, "localstripe runs as a child process"
        own_tmp = sorted(p.name for p in tmp.iterdir())
        assert any(n.startswith("billing-sandbox-") for n in own_tmp), own_tmp  # the bot's DB
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=WAIT) == 0, "".join(errors)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert any("Stopped" in ln for ln in lines), lines
    wait_until(lambda: not any(_alive(pid) for pid in children), "the child processes to end")
    assert sorted(tmp.iterdir()) == [], "temporary files left behind"
    assert sorted(workdir.iterdir()) == [], "files left in the working folder"


def test_billing_bot_alone_without_credentials_starts_the_sandbox(tmp_path: Path) -> None:
    """The README's run command: no subcommand, no settings. Interrupted as soon as it says
    it is starting, it still stops cleanly (or it has already said that port 8600 is taken)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot"],
        cwd=tmp_path,
        env=_clean_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline().startswith("Starting the offline sandbox")
        children = _children(proc.pid)
        proc.send_signal(signal.SIGINT)
        status = proc.wait(timeout=WAIT)
        if status == 2:  # something else holds the default port
            assert "port 8600 is busy" in proc.stderr.read()
        else:
            assert status == 0, proc.stderr.read()
        wait_until(lambda: not any(_alive(pid) for pid in children), "the children to end")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_busy_port_is_said_plainly(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "bot", "sandbox", "--port", str(port)],
            cwd=tmp_path,
            env=_clean_env(tmp_path),
            capture_output=True,
            text=True,
            timeout=WAIT,
        )
    assert done.returncode == 2
    assert f"port {port} is busy" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []


# --- the page's server, in-process ---------------------------------------------------------------


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with running_sandbox(port=0, accounts=ACCOUNTS, log_level="WARNING") as running:
        yield running


def test_the_page_and_its_modules_are_served(sandbox: Sandbox) -> None:
    status, html = request(sandbox.url)
    assert status == 200 and b'<script type="module" src="/static/page.js">' in html
    for name in STATIC_FILES:
        status, body = request(f"{sandbox.url}static/{name}")
        assert status == 200 and body, name
    status, _ = request(f"{sandbox.url}static/app.py")
    assert status == 404
    status, sample = request(f"{sandbox.url}samples/{SAMPLE}")
    rows = list(csv.DictReader(io.StringIO(sample.decode())))
    assert status == 200 and len(rows) == 4
    assert all(r["Stripe Customer ID"].startswith("cus_") for r in rows)
    assert all(r["Payment Gateway Token"].startswith("pm_") for r in rows)


def test_config_names_the_people_the_command_and_the_shortcuts(sandbox: Sandbox) -> None:
    _, config = request(f"{sandbox.url}api/config")
    assert [p["id"] for p in config["people"]] == [REQUESTER, APPROVER, OUTSIDER]
    assert config["people"][0]["real_name"] == "Riley Requester"
    assert [c["command"] for c in config["slash_commands"]] == ["/billing"]
    assert {s["callback_id"] for s in config["shortcuts"]} == {
        "import_csv_global",
        "import_csv_message",
    }
    assert config["samples"] == [{"name": SAMPLE, "url": f"/samples/{SAMPLE}"}]


def test_what_slack_knows_of_the_app_matches_its_manifest() -> None:
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())["features"]
    assert [
        (c["command"], c["description"], c["usage_hint"]) for c in manifest["slash_commands"]
    ] == [(c.command, c.description, c.usage_hint) for c in SLASH_COMMANDS]
    assert sorted(
        (s["type"], s["callback_id"], s["name"], s["description"]) for s in manifest["shortcuts"]
    ) == sorted((s.type, s.callback_id, s.name, s.description) for s in SHORTCUTS)


def test_requests_not_from_the_page_are_refused(sandbox: Sandbox) -> None:
    body = {"user": REQUESTER, "channel": SUPPORT_CHANNEL, "command": "/billing", "text": "help"}
    status, answer = request(f"{sandbox.url}api/slash", body)  # no X-Sandbox-Page header
    assert (status, answer["error"]) == (403, "not_from_the_page")
    status, answer = request(
        f"{sandbox.url}api/slash", body, headers={PAGE_HEADER: "1", "Host": "evil.example:80"}
    )
    assert (status, answer["error"]) == (403, "forbidden_host")
    status, answer = request(
        f"{sandbox.url}_sandbox/files?name=x.csv", data=b"a,b\n"
    )  # an upload without the header
    assert status == 404
    status, answer = request(
        f"{sandbox.url}_sandbox/views/V1/close", {}, headers={PAGE_HEADER: "1"}
    )
    assert status == 404  # closing goes through /api/close (view_closed), not straight through


@pytest.mark.parametrize(
    ("path", "body", "error"),
    [
        ("api/slash", {"user": "U0NOBODY", "channel": SUPPORT_CHANNEL, "command": "/billing"},
         "unknown_user"),
        ("api/slash", {"user": REQUESTER, "channel": SUPPORT_CHANNEL, "command": "/other"},
         "unknown_command"),
        ("api/action", {"user": REQUESTER, "channel": SUPPORT_CHANNEL, "ts": "1.000001",
                        "action_id": "x"}, "message_not_found"),
        ("api/submit", {"user": REQUESTER, "view_id": "V0NOPE"}, "view_not_found"),
        ("api/shortcut", {"user": REQUESTER, "callback_id": "nope"}, "unknown_shortcut"),
        ("api/message", {"user": REQUESTER, "channel": SUPPORT_CHANNEL, "text": "hi",
                         "files": ["F0NOPE"]}, "file_not_found"),
    ],
)  # fmt: skip
def test_page_requests_that_cannot_be_sent_say_why(
    sandbox: Sandbox, path: str, body: dict[str, Any], error: str
) -> None:
    status, answer = request(sandbox.url + path, body, headers={PAGE_HEADER: "1"})
    assert status in (400, 404)
    assert answer == {"ok": False, "error": error}


def test_an_ephemeral_answer_is_only_in_the_askers_world(sandbox: Sandbox) -> None:
    base = sandbox.url
    page_post(
        base,
        "api/slash",
        {"user": APPROVER, "channel": SUPPORT_CHANNEL, "command": "/billing", "text": "help"},
    )
    mine = find_message(base, APPROVER, SUPPORT_CHANNEL, "/billing customer", ephemeral=True)
    others = world(base, REQUESTER)["messages"]
    assert mine["ts"] not in {m["ts"] for m in others}


def test_the_demo_import_from_upload_to_result_files_through_the_page_api(
    sandbox: Sandbox,
) -> None:
    base = sandbox.url
    _, sample = request(f"{base}samples/{SAMPLE}")
    status, uploaded = request(
        f"{base}_sandbox/files?name={SAMPLE}&user={REQUESTER}",
        data=sample,
        headers={PAGE_HEADER: "1", "Content-Type": "text/csv"},
    )
    assert status == 200 and uploaded["file"]["name"] == SAMPLE

    page_post(
        base,
        "api/slash",
        {"user": REQUESTER, "channel": SUPPORT_CHANNEL, "command": "/billing", "text": "import"},
    )
    view = wait_until(
        lambda: (world(base, REQUESTER)["views"][REQUESTER]["stack"] or [None])[-1],
        "the import modal",
    )
    file_block = next(b for b in view["blocks"] if b["type"] == "input")
    answer = page_post(
        base,
        "api/submit",
        {
            "user": REQUESTER,
            "view_id": view["id"],
            "values": {file_block["block_id"]: {file_block["element"]["action_id"]: [
                uploaded["file"]["id"]]}},
        },
    )  # fmt: skip
    assert answer["ok"], answer
    assert world(base, REQUESTER)["views"][REQUESTER]["stack"] == []  # the modal closed

    request_message = find_message(base, APPROVER, APPROVALS_CHANNEL, "asks to import")
    assert "Accounts to create*\n3" in text_of(request_message)
    approve = button(request_message, "Approve")
    refused = page_post(
        base, "api/action", {"user": REQUESTER, "channel": APPROVALS_CHANNEL,
                             "ts": request_message["ts"], **approve},
    )  # fmt: skip
    assert refused["ok"]  # delivered; the bot itself refuses the requester's own approval
    find_message(base, REQUESTER, APPROVALS_CHANNEL, "not set up to approve", ephemeral=True)
    page_post(
        base, "api/action", {"user": APPROVER, "channel": APPROVALS_CHANNEL,
                             "ts": request_message["ts"], **approve},
    )  # fmt: skip

    def result_files() -> list[dict[str, Any]] | None:
        replies = [
            m
            for m in world(base, APPROVER)["messages"]
            if m.get("thread_ts") == request_message["ts"] and m["ts"] != request_message["ts"]
        ]
        files = [f for m in replies for f in m.get("files") or []]
        return files if len(files) >= 3 else None

    files = {f["title"]: f for f in wait_until(result_files, "the result CSVs in the thread")}
    written = next(f for title, f in files.items() if "written or already there" in title)
    status, data = request(f"{base}_sandbox/files/{written['id']}")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert status == 200
    assert sorted(r["Account Name"] for r in rows) == [
        "Bluth Company",
        "Prestige Worldwide",
        "Sterling Cooper",
    ]


def test_a_csv_sent_by_dm_and_the_shortcuts_reach_the_import_flow(sandbox: Sandbox) -> None:
    base = sandbox.url
    dm = sandbox.slack.dm_channel(REQUESTER)
    _, sample = request(f"{base}samples/{SAMPLE}")
    _, uploaded = request(
        f"{base}_sandbox/files?name={SAMPLE}&user={REQUESTER}", data=sample,
        headers={PAGE_HEADER: "1"},
    )  # fmt: skip
    sent = page_post(
        base,
        "api/message",
        {"user": REQUESTER, "channel": dm, "text": "please import",
         "files": [uploaded["file"]["id"]]},
    )  # fmt: skip
    assert sent["ok"]
    find_message(base, REQUESTER, dm, f"{SAMPLE}*: 4 rows")  # the bot's report, in the DM
    shared = find_message(base, REQUESTER, dm, "please import")
    assert shared["files"][0]["id"] == uploaded["file"]["id"]

    def open_view() -> dict[str, Any] | None:
        return (world(base, REQUESTER)["views"][REQUESTER]["stack"] or [None])[-1]

    page_post(
        base,
        "api/shortcut",
        {"user": REQUESTER, "callback_id": "import_csv_message", "channel": dm,
         "ts": shared["ts"]},
    )  # fmt: skip
    view = wait_until(open_view, "the import modal from the message shortcut")
    assert f"*File:* {SAMPLE}" in text_of(view)
    page_post(base, "api/close", {"user": REQUESTER, "view_id": view["id"]})
    assert open_view() is None

    page_post(base, "api/shortcut", {"user": REQUESTER, "callback_id": "import_csv_global"})
    view = wait_until(open_view, "the import modal from the global shortcut")
    assert any(b.get("element", {}).get("type") == "file_input" for b in view["blocks"])
    page_post(base, "api/close", {"user": REQUESTER, "view_id": view["id"]})
