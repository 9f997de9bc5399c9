"""The base of every expected failure: one a person can fix from its message alone."""


class PipelinesError(Exception):
    """A failure with a message that says what is wrong and how to fix it.

    manage.py prints the message (no traceback) and exits 1; anything else is a bug.
    """
