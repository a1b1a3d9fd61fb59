"""How files look to the user: one unit for sizes, one mode for the files we write.

Sizes are shown in binary units (KiB, MiB: 1024 and 1024² bytes), everywhere. The one size
limit users meet, the service's "10 MB" for a reference sample, is enforced as 10 × 1024²
bytes (``catalog.SAMPLE_MAX_BYTES``, as the emulator does); showing sizes in that same unit
makes "over the limit" readable at a glance (in decimal megabytes a refused 10.4 MB file
would look allowed), and the ``MiB`` label says which megabyte is meant.

Written outputs (``check --fix``, ``--plot``) get the mode any new file gets from the user's
umask (0644 with the usual 022), like the audio ``speak`` writes: a temporary file from
:func:`tempfile.mkstemp` is 0600, which hides the output from the user's other accounts and
services for no reason.
"""

from __future__ import annotations

import os
from pathlib import Path

_UNITS = ("KiB", "MiB", "GiB", "TiB")


def format_size(num_bytes: int | float) -> str:
    """``"512 bytes"``, ``"12.3 KiB"``, ``"10 MiB"``: the one way sizes are shown."""
    size = float(num_bytes)
    if abs(size) < 1024:
        return f"{int(size)} bytes" if size != 1 else "1 byte"
    for unit in _UNITS:
        size /= 1024.0
        if abs(size) < 1024 or unit == _UNITS[-1]:
            break
    return f"{size:.1f}".removesuffix(".0") + f" {unit}"


def new_file_mode() -> int:
    """The mode a newly created file gets here: ``0o666`` less the process umask."""
    return 0o666 & ~_umask()


def give_default_mode(path: str | Path) -> None:
    """Set ``path`` (e.g. a ``mkstemp`` file about to be renamed in) to :func:`new_file_mode`."""
    os.chmod(path, new_file_mode())


def _umask() -> int:
    try:  # Linux: read it without changing it (os.umask() sets it, racing other threads)
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
