"""The bot's capabilities, one module each, in the order help lists them."""

from __future__ import annotations

import importlib
from types import ModuleType

from bot.features.base import Subcommand

MODULES = ("customer", "pm", "lookups", "imports", "audit", "help")


def modules() -> list[ModuleType]:
    return [importlib.import_module(f"bot.features.{name}") for name in MODULES]


def subcommands() -> dict[str, Subcommand]:
    found: dict[str, Subcommand] = {}
    for module in modules():
        for sub in getattr(module, "SUBCOMMANDS", ()):
            found[sub.name] = sub
    return found
