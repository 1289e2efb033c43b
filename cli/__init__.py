"""`flask` commands: seeding, imports, users. They translate; the services decide."""

from __future__ import annotations

from flask import Flask


def register_commands(app: Flask) -> None:
    from cli.commands import commands
    from cli.elections import commands as election_commands

    for command in (*commands, *election_commands):
        app.cli.add_command(command)
