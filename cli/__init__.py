"""`flask` commands: seeding, imports, users. They translate; the services decide."""

from __future__ import annotations

from flask import Flask


def register_commands(app: Flask) -> None:
    from cli.commands import commands

    for command in commands:
        app.cli.add_command(command)
