"""How to install an optional extra, as a command that works from where the user is.

The package is installed from a checkout (``pip install -e .``) until it is published, so the
hint names the checkout when the running code comes from one.
"""

from __future__ import annotations

from pathlib import Path


def _checkout() -> Path | None:
    """The source checkout the running code comes from (``None``: an installed wheel)."""
    root = Path(__file__).resolve().parents[2]
    if (root / "pyproject.toml").is_file() and (root / "src" / "cosyvoice_clone").is_dir():
        return root
    return None


def install_hint(extra: str) -> str:
    """``pip install -e '/path/to/checkout[mcp]'`` from a checkout, else the package name."""
    root = _checkout()
    if root is not None:
        return f"pip install -e '{root}[{extra}]'"
    return f"pip install 'cosyvoice-clone[{extra}]'"


def extra_hint(extra: str, package: str | None = None) -> str:
    """The one sentence every "needs the optional X" error ends with, for every extra:
    ``install the play extra (sounddevice): pip install -e '/checkout[play]'``."""
    what = f"the {extra} extra" + (f" ({package})" if package else "")
    return f"install {what}: {install_hint(extra)}"


def upgrade_hint() -> str:
    """How to get a newer cosyvoice-clone from where the running code comes from."""
    root = _checkout()
    if root is not None:
        return f"update the checkout (git -C '{root}' pull) and run `pip install -e '{root}'`"
    return "pip install -U cosyvoice-clone"


__all__ = ["extra_hint", "install_hint", "upgrade_hint"]
