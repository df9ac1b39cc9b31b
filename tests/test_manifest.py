"""The Slack app manifest is valid and asks only for what the bot uses."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = ROOT.parent / "shared" / "slack-manifest-schema"


def manifest() -> dict:
    return yaml.safe_load((ROOT / "manifest.yml").read_text())


def schema_for(major: int) -> dict:
    local = SCHEMAS / f"manifest.schema.{major}.0.0.json"
    vendored = ROOT / "tests" / "data" / f"manifest.schema.{major}.0.0.json"
    return json.loads((local if local.exists() else vendored).read_text())


def test_manifest_passes_slacks_schema() -> None:
    data = manifest()
    jsonschema.validate(data, schema_for(data["_metadata"]["major_version"]))


def test_manifest_declares_the_command_shortcuts_and_dm_tab() -> None:
    data = manifest()
    features = data["features"]
    assert [c["command"] for c in features["slash_commands"]] == ["/billing"]
    shortcuts = {(s["type"], s["callback_id"], s["name"]) for s in features["shortcuts"]}
    assert ("message", "import_csv_message", "Import CSV to Billing") in shortcuts
    assert ("global", "import_csv_global", "New billing import") in shortcuts
    assert features["app_home"]["messages_tab_enabled"] is True
    assert data["settings"]["interactivity"]["is_enabled"] is True
    assert data["settings"]["event_subscriptions"]["bot_events"] == ["message.im"]


def test_manifest_scopes_are_only_the_ones_used() -> None:
    scopes = set(manifest()["oauth_config"]["scopes"]["bot"])
    assert scopes == {
        "commands",
        "chat:write",
        "files:read",
        "files:write",
        "usergroups:read",
        "users:read",
        "im:history",
    }
