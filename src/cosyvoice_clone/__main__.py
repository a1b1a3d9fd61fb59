"""`python -m cosyvoice_clone` runs the command-line tool."""

from .cli.main import run

run()
