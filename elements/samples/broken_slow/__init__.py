"""broken-slow: valid, but slow to activate (a stand-in for a large Element).

``activate`` declares its table, writes the schema name to the file named by
``BROKEN_SLOW_MARKER`` (if set) so a test knows the activation is under way,
sleeps ``BROKEN_SLOW_SECONDS`` (default 5) and then inserts a row, so that a
server killed during the wait is noticed by the Element's own next statement.
Left alone it passes; the fault tests kill its server, SIGINT or SIGKILL the run.
"""
