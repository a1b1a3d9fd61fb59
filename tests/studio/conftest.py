"""Fixtures: the studio served over the emulator (the server tests' fixtures), and Chromium.

The browser is Debian's Chromium (``/usr/bin/chromium``, installed by ``make test``), driven by
Playwright; Playwright's own browser download is never used. Its fake microphone plays a shipped
speech WAV. Screenshots of each step go to ``tests/artifacts/studio/``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.server.server_helpers import home, make_server  # noqa: F401 - fixtures reused as is

CHROMIUM = os.environ.get("COSYVOICE_STUDIO_CHROMIUM", "/usr/bin/chromium")
SPEECH_WAV = Path(__file__).parents[2] / "src" / "cosyvoice_clone" / "data" / "reference_en.wav"
ARTIFACTS = Path(__file__).parents[1] / "artifacts" / "studio"
DOCS = Path(__file__).parents[2] / "docs" / "studio"


def chromium_args() -> list[str]:
    return [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={SPEECH_WAV}",
        "--autoplay-policy=no-user-gesture-required",
    ]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium, headless, with the fake microphone.

    Module-scoped: Playwright's sync API keeps an event loop running in the main thread while it
    is open, which would break every later test that calls ``asyncio.run()``.
    """
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} is missing: install it with `apt-get install -y chromium` "
            "(`make test` does it when run as root)"
        )
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=chromium_args())
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    context.grant_permissions(["microphone"])
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.set_default_timeout(30_000)
    yield page
    context.close()
    assert not errors, f"the page raised: {errors}"


class Shots:
    """Numbered screenshots of a journey, kept as test artifacts."""

    def __init__(self, name: str) -> None:
        self.dir = ARTIFACTS
        self.dir.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.taken: list[Path] = []

    def take(self, page: Any, step: str, **options: Any) -> Path:
        path = self.dir / f"{self.name}-{len(self.taken) + 1:02d}-{step}.png"
        page.screenshot(path=str(path), **options)
        self.taken.append(path)
        return path

    def publish(self) -> None:
        """Copy the set into docs/studio/ when asked (COSYVOICE_STUDIO_DOCS=1)."""
        if os.environ.get("COSYVOICE_STUDIO_DOCS") != "1":
            return
        from PIL import Image  # matplotlib's dependency, in the dev extra

        DOCS.mkdir(parents=True, exist_ok=True)
        for path in self.taken:  # 256-colour PNGs: a third of the size, same look for a UI
            with Image.open(path) as image:
                image.convert("RGB").quantize(colors=256).save(DOCS / path.name, optimize=True)


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Shots:
    return Shots(request.node.name.removeprefix("test_"))


@pytest.fixture
def speech_wav() -> Path:
    """The shipped speech file the fake microphone plays."""
    return SPEECH_WAV
