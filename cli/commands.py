"""The commands themselves (filled in by the seed and import modules)."""

from __future__ import annotations

import click

commands: list[click.Command] = []
