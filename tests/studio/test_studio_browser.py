"""The voice studio in a real browser (Chromium), over a real server and the emulator.

Journey: record with the fake microphone, check, clone (DEPLOYING pushed, then OK), speak and
hear it, delete. And a bad sample: the verdict names the problem, Clone refuses it, a bad prefix
is shown next to the Prefix field. Design: a voice from a description, its preview heard in the
page, spoken in Audition, deleted.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from cosyvoice_clone.emulator.server import RunningEmulator

pytestmark = pytest.mark.timeout(180)

RECORD_SECONDS = 11.0
"""Past the recommended 10 s: the fake microphone loops a 15 s speech file in real time."""


def studio_url(server: Any) -> str:
    return server.base_url.removesuffix("/v1") + "/"


def sample_bytes(page: Any) -> bytes:
    """The current sample as the page's player loads it."""
    return bytes(
        page.evaluate(
            "fetch(document.getElementById('sample-audio').src).then(r => r.arrayBuffer())"
            ".then(b => Array.from(new Uint8Array(b)))"
        )
    )


def open_studio(page: Any, server: Any) -> None:
    page.goto(studio_url(server))
    page.wait_for_function("document.getElementById('region').textContent !== '…'")


def wait_audio(page: Any, element_id: str, condition: str) -> None:
    """Wait until the page's audio element ``a`` (no error) meets ``condition`` (JS)."""
    page.wait_for_function(
        f"(() => {{ const a = document.getElementById('{element_id}');"
        f" return !a.error && {condition}; }})()"
    )


def test_record_check_clone_speak_delete(
    page: Any, make_server: Any, cosyvoice_emulator: RunningEmulator, shots: Any
) -> None:
    from playwright.sync_api import expect

    server = make_server()
    cosyvoice_emulator.set_deploy_delay(600)  # stays DEPLOYING until the test settles it
    open_studio(page, server)
    expect(page.get_by_role("status")).to_have_text("No sample checked yet.")
    shots.take(page, "start")

    # Record with the fake microphone.
    page.get_by_role("button", name="Record").click()
    expect(page.get_by_role("button", name="Stop")).to_be_enabled()
    page.wait_for_function(
        f"parseFloat(document.getElementById('timer').textContent.split(':')[1]) >= "
        f"{RECORD_SECONDS}",
        timeout=60_000,
    )
    shots.take(page, "recording")
    page.get_by_role("button", name="Stop").click()
    expect(page.locator("#sample-name")).to_have_text("recording.wav")
    recorded = sample_bytes(page)
    audio, rate = sf.read(io.BytesIO(recorded))
    info = sf.info(io.BytesIO(recorded))
    assert info.subtype == "PCM_16" and info.channels == 1
    assert len(audio) / rate >= RECORD_SECONDS - 0.5
    assert np.abs(audio).max() > 0.05  # the speech file, not silence

    # Check: verdict, reasons, waveform with speech segments.
    page.get_by_role("button", name="Check").click()
    verdict = page.get_by_role("status")
    expect(verdict).to_have_text(re.compile(r"^(Good to clone|Usable, with warnings)"))
    summary = page.locator("#wave-summary").inner_text()
    segments = int(re.search(r"(\d+) speech segment", summary).group(1))  # type: ignore[union-attr]
    assert segments >= 2
    assert page.evaluate(_CANVAS_INK) > 1000  # the waveform was drawn
    page.locator("#check-section").scroll_into_view_if_needed()
    shots.take(page, "checked")

    # Clone: live status over SSE (DEPLOYING), then OK.
    page.get_by_label("Prefix", exact=True).fill("studio")
    page.get_by_label("Target model").select_option("cosyvoice-v3.5-plus")
    page.get_by_label("Language", exact=True).select_option("en")
    page.get_by_role("button", name="Clone").click()
    result = page.locator("#clone-result")
    expect(result).to_contain_text("DEPLOYING")
    expect(page.locator("#clone-status li.active")).to_have_text("Deploying")
    page.locator("#clone-section").scroll_into_view_if_needed()
    shots.take(page, "deploying")
    assert cosyvoice_emulator.settle() == 1
    expect(result).to_contain_text(re.compile(r"Cloned: cosyvoice-v3\.5-plus-studio-\S+ is OK"))
    voice_id = re.search(r"(cosyvoice-v3\.5-plus-studio-\w+)", result.inner_text()).group(1)  # type: ignore[union-attr]
    assert cosyvoice_emulator.backend.voice(voice_id) is not None
    shots.take(page, "cloned")

    # The same clone again is reused, and said so.
    page.get_by_role("button", name="Clone").click()
    expect(result).to_contain_text(f"Reused an identical clone: {voice_id} is OK")
    assert cosyvoice_emulator.backend.voice_count() == 1

    # Audition: the default sentence in the sample's language, heard in the page.
    expect(page.get_by_label("Voice", exact=True)).to_have_value(voice_id)
    expect(page.get_by_label("Text", exact=True)).to_have_value(re.compile(r"^Hello!"))
    page.get_by_role("button", name="Speak").click()
    wait_audio(page, "speech-audio", "a.readyState >= 2 && a.duration > 0")
    wait_audio(page, "speech-audio", "a.ended && a.currentTime > 1")
    download = page.locator("#download")
    expect(download).to_be_visible()
    answer = page.request.get(studio_url(server).rstrip("/") + download.get_attribute("href"))
    assert answer.ok and answer.headers["content-type"] == "audio/mpeg"
    spoken, spoken_rate = sf.read(io.BytesIO(answer.body()))
    assert len(spoken) / spoken_rate > 1.0  # a sentence, decoded
    page.locator("#speak-section").scroll_into_view_if_needed()
    shots.take(page, "spoken")

    # Voices: listed with its status, model, prefix and sample; delete with confirmation.
    row = page.locator(f"tr[data-voice='{voice_id}']")
    expect(row).to_contain_text("OK")
    expect(row).to_contain_text("cosyvoice-v3.5-plus")
    expect(row).to_contain_text("recording.wav")
    row.get_by_role("button", name="Show").click()
    expect(page.locator("tr.details")).to_contain_text("studio")
    row.get_by_role("button", name="Delete").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(voice_id)
    row.page.locator("#voices-section").scroll_into_view_if_needed()
    shots.take(page, "confirm-delete")
    dialog.get_by_role("button", name="Delete").click()
    expect(row).to_have_count(0)
    expect(page.locator("#voices-status")).to_have_text(f"Deleted {voice_id}.")
    assert cosyvoice_emulator.backend.voice(voice_id) is None
    shots.take(page, "deleted", full_page=True)

    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    page.locator("#check-section").scroll_into_view_if_needed()
    shots.take(page, "phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shots.publish()


def test_bad_sample_is_named_and_refused(
    page: Any, make_server: Any, cosyvoice_emulator: RunningEmulator, shots: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    server = make_server()
    open_studio(page, server)
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(24000 * 3, dtype=np.float32), 24000, subtype="PCM_16")
    page.get_by_label("Audio file (WAV, MP3, M4A)").set_input_files(str(silent))
    expect(page.locator("#sample-name")).to_have_text("silent.wav")
    page.get_by_role("button", name="Check").click()
    verdict = page.get_by_role("status")
    expect(verdict).to_have_text(re.compile(r"^Not usable.*the sample is silent"))
    expect(page.locator("#reasons")).to_contain_text("Problem: the sample is silent")
    shots.take(page, "silent-checked")

    # A bad prefix is refused next to the Prefix field; nothing is sent.
    page.get_by_label("Prefix", exact=True).fill("no way!")
    page.get_by_label("Prefix", exact=True).press("Enter")  # the keyboard submits the form
    expect(page.locator("#err-prefix")).to_contain_text("prefix")
    expect(page.get_by_label("Prefix", exact=True)).to_have_attribute("aria-invalid", "true")

    # A valid prefix: the sample itself is refused (before any slot is spent), next to Clone.
    page.get_by_label("Prefix", exact=True).fill("silent")
    page.get_by_role("button", name="Clone").click()
    expect(page.locator("#err-clone")).to_contain_text("fails the local check")
    expect(page.locator("#err-clone")).to_contain_text("Fix repairs what can be repaired")
    expect(page.locator("#err-clone")).not_to_contain_text("cosyvoice-clone check")
    expect(page.locator("#err-sample")).to_contain_text("the sample is silent")
    assert cosyvoice_emulator.backend.voice_count() == 0
    page.locator("#clone-section").scroll_into_view_if_needed()
    shots.take(page, "silent-refused")

    # Fix cannot save a silent sample, and says why.
    page.get_by_role("button", name="Fix").click()
    expect(verdict).to_contain_text("Could not repair it: no speech to keep")
    shots.publish()


_CANVAS_INK = """(() => {
  const c = document.getElementById('waveform');
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
  return n;
})()"""


def test_fix_shortens_a_long_pause(
    page: Any, make_server: Any, shots: Any, tmp_path: Path, speech_wav: Path
) -> None:
    from playwright.sync_api import expect

    speech, rate = sf.read(speech_wav, dtype="float32")
    gap = np.zeros(int(rate * 4.0), dtype=np.float32)
    paused = tmp_path / "paused.wav"
    sf.write(paused, np.concatenate([speech[: rate * 6], gap, speech[rate * 6 :]]), rate)

    server = make_server()
    open_studio(page, server)
    page.get_by_label("Audio file (WAV, MP3, M4A)").set_input_files(str(paused))
    page.get_by_role("button", name="Check").click()
    verdict = page.get_by_role("status")
    expect(verdict).to_contain_text("a pause of 4")
    expect(page.locator("#wave-summary")).to_contain_text("1 long pause")
    page.locator("#check-section").scroll_into_view_if_needed()
    shots.take(page, "long-pause")

    page.get_by_role("button", name="Fix").click()
    expect(verdict).to_have_text(re.compile(r"^Fixed sample — (Good to clone|Usable)"))
    expect(page.locator("#sample-name")).to_have_text("paused.fixed.wav")
    expect(page.locator("#wave-summary")).to_contain_text("0 long pauses")
    expect(page.locator("#fix-steps")).to_contain_text("shortened 1 pause(s)")
    fixed = sample_bytes(page)
    info = sf.info(io.BytesIO(fixed))
    assert info.samplerate == 24000 and info.subtype == "PCM_16"
    assert info.duration < len(speech) / rate + 1.0  # the 4 s pause is gone
    page.locator("#check-section").scroll_into_view_if_needed()
    shots.take(page, "fixed")
    shots.publish()


def test_design_preview_speak_delete(
    page: Any, make_server: Any, cosyvoice_emulator: RunningEmulator, shots: Any
) -> None:
    from playwright.sync_api import expect

    server = make_server()
    cosyvoice_emulator.set_deploy_delay(600)  # stays DEPLOYING until the test settles it
    open_studio(page, server)
    section = page.locator("#design-section")

    # Too long a description cannot be typed past the documented limit, and the count says so.
    prompt = page.get_by_label("Voice description")
    prompt.fill("x" * 600)
    expect(prompt).to_have_value("x" * 500)
    expect(page.locator("#design-voice_prompt-count")).to_have_text("500 / 500 characters")

    # A bad prefix is refused by the library, next to the design's own Prefix field.
    prompt.fill("A calm, deep male voice, middle-aged, speaking slowly and warmly.")
    page.get_by_label("Design prefix").fill("no way!")
    page.get_by_role("button", name="Design").click()
    expect(page.locator("#err-design-prefix")).to_contain_text("prefix")
    expect(page.get_by_label("Design prefix")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#err-prefix")).to_be_empty()  # not the clone form's Prefix
    assert cosyvoice_emulator.backend.voice_count() == 0
    section.scroll_into_view_if_needed()
    shots.take(page, "prefix-refused")

    # Design: live status (DEPLOYING), the preview playable at once, then OK.
    page.get_by_label("Design prefix").fill("calm")
    page.get_by_label("Voice model").select_option("cosyvoice-v3.5-plus")
    page.get_by_label("Design language").select_option("en")
    page.get_by_label("Preview text").fill("Good evening. This is the voice you described.")
    page.get_by_role("button", name="Design").click()
    result = page.locator("#design-result")
    expect(result).to_contain_text("DEPLOYING")
    expect(page.locator("#design-status li.active")).to_have_text("Deploying")
    expect(page.locator("#design-preview")).to_be_visible()  # heard before the voice is OK
    section.scroll_into_view_if_needed()
    shots.take(page, "deploying")
    assert cosyvoice_emulator.settle() == 1
    expect(result).to_contain_text(re.compile(r"Designed: cosyvoice-v3\.5-plus-vd-calm-\S+ is OK"))
    voice_id = re.search(r"(cosyvoice-v3\.5-plus-vd-calm-\w+)", result.inner_text()).group(1)  # type: ignore[union-attr]
    assert cosyvoice_emulator.backend.voice(voice_id) is not None

    # The preview: playable audio in the page, played to its end.
    wait_audio(page, "design-audio", "a.readyState >= 2 && a.duration > 1")
    page.evaluate("document.getElementById('design-audio').play()")
    wait_audio(page, "design-audio", "a.ended && a.currentTime > 1")
    expect(page.locator("#design-preview")).to_contain_text("This is the voice you described.")
    section.scroll_into_view_if_needed()
    shots.take(page, "designed")

    # Listed as designed, with its description; picked in Audition, where Speak works.
    row = page.locator(f"tr[data-voice='{voice_id}']")
    expect(row).to_contain_text("OK")
    expect(row).to_contain_text("Designed: “A calm, deep male voice")
    expect(page.get_by_label("Voice", exact=True)).to_have_value(voice_id)
    expect(page.locator("#voice option:checked")).to_contain_text("(designed)")
    expect(page.get_by_label("Text", exact=True)).to_have_value(
        "Good evening. This is the voice you described."
    )
    page.get_by_role("button", name="Speak").click()
    wait_audio(page, "speech-audio", "a.readyState >= 2 && a.duration > 1")
    page.locator("#speak-section").scroll_into_view_if_needed()
    shots.take(page, "spoken")

    # Delete it.
    row.get_by_role("button", name="Delete").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(row).to_have_count(0)
    assert cosyvoice_emulator.backend.voice(voice_id) is None
    page.locator("#voices-section").scroll_into_view_if_needed()
    shots.take(page, "deleted")

    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    section.scroll_into_view_if_needed()
    shots.take(page, "phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shots.publish()
