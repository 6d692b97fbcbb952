"""Running the command line in the test's own process."""

from minitorch7 import cli


def minitorch7(capsys, *argv):
    """Run ``minitorch7 argv...`` in this process; returns what it printed (stdout)."""
    capsys.readouterr()
    cli.main([str(a) for a in argv])
    return capsys.readouterr().out
