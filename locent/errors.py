"""The errors every part may raise to say "the user asked for something that cannot be done".

:func:`locent.cli.main` is the one error boundary of the ``locent`` command: a :class:`UserError`
(and a ``ValueError``, ``FileNotFoundError``, ``PermissionError`` or ``NotADirectoryError``) ends
as ``locent <command>: error: <message>`` on stderr with exit code 2, without a traceback (shown
with ``locent --debug``). Anything else is a bug and keeps its traceback.

This module imports nothing, so theory, simulate, realdata, figures and checks can all raise
these without importing up the layers.
"""

from __future__ import annotations

#: exit code of a user error (the code argparse uses for a bad argument)
USER_ERROR_EXIT = 2
#: exit code after Ctrl-C (128 + SIGINT, what a shell reports)
INTERRUPT_EXIT = 130


class UserError(Exception):
    """A mistake in the command line, an input file or the output folder.

    ``message`` names the argument, file or field at fault and, where one exists, the fix (the
    command that produces a missing file, the accepted values of a typo'd name).
    """


class MissingResults(UserError):
    """A command that reads results (``checks``, ``figures``) found none of them under ``--out``;
    the message names the folder and the command(s) that write them."""
