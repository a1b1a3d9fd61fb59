"""How to install an optional extra, as a command that works from where the user is.

The package is installed from a checkout (``pip install -e .``) until it is published, so the
hint names the checkout when the running code comes from one.
"""

from __future__ import annotations

from pathlib import Path


def install_hint(extra: str) -> str:
    """``pip install -e '/path/to/checkout[mcp]'`` from a checkout, else the package name."""
    root = Path(__file__).resolve().parents[2]
    if (root / "pyproject.toml").is_file() and (root / "src" / "cosyvoice_clone").is_dir():
        return f"pip install -e '{root}[{extra}]'"
    return f"pip install 'cosyvoice-clone[{extra}]'"


__all__ = ["install_hint"]
