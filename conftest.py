"""Root conftest: fixtures for the stand-ins live in tests/plugins, one module per server."""

pytest_plugins = [
    "tests.plugins.salesforce",
    "tests.plugins.stripe",
    "tests.plugins.slack",
    "tests.plugins.bot",
    "tests.plugins.secrets",
]
