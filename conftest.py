"""Root conftest: fixtures for the stand-ins live in tests/plugins, one module per server."""

import logging

import pytest

pytest_plugins = [
    "tests.plugins.salesforce",
    "tests.plugins.stripe",
    "tests.plugins.slack",
    "tests.plugins.bot",
    "tests.plugins.secrets",
]


@pytest.fixture(autouse=True)
def _restore_root_logging():
    """`billing-bot` run in-process installs its own root handler on the stream pytest was
    capturing at the time; put the root logger back so no later test logs to a closed stream."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
