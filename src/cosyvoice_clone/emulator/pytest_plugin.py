"""pytest plugin (entry point ``pytest11``): the ``cosyvoice_emulator`` fixture.

Kept import-light: pytest loads it in every session where cosyvoice-clone is installed.
"""
