"""The one error type that manage.py commands raise for user mistakes."""

import click


class CliError(click.ClickException):
    """A user-facing failure: printed as 'Error: <message>' and exits with code 1."""
