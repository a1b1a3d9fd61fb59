"""The one version of cosyvoice-clone (pyproject reads it; nothing imports it from the face)."""

__version__ = "0.1.0"
