"""What the Wyoming server lists from registry records, and which voice a request means."""

from __future__ import annotations

import pytest

from cosyvoice_clone.errors import InvalidRequestError
from cosyvoice_clone.models import VoiceRecord
from cosyvoice_clone.wyoming import choose_voice
from cosyvoice_clone.wyoming.voices import registry_voices

M = "cosyvoice-v3.5-plus"


def record(voice_id: str, prefix: str, **fields: object) -> VoiceRecord:
    values: dict[str, object] = {"endpoint": "here", "status": "OK", "origin": "created"}
    values.update(fields)
    return VoiceRecord(voice_id=voice_id, target_model=M, prefix=prefix, **values)  # type: ignore[arg-type]


def test_only_voices_that_can_speak_here_are_listed_and_shared_prefixes_by_id() -> None:
    records = [
        record(f"{M}-alice-1", "alice", options={"language_hints": ["en"]}),
        record(f"{M}-bob-1", "bob"),
        record(f"{M}-bob-2", "bob"),
        record(f"{M}-gone-1", "gone", deleted_at="2026-12-01T00:00:00Z"),
        record(f"{M}-wait-1", "wait", status="DEPLOYING"),
        record(f"{M}-away-1", "away", endpoint="elsewhere"),
    ]
    listed = registry_voices(records, "here")
    assert [v.name for v in listed] == [
        "alice",
        f"{M}-bob-1",
        f"{M}-bob-2",
    ]
    assert listed[0].languages == ("en",) and listed[0].voice == f"{M}-alice-1"
    assert "en" in listed[1].languages and "zh" in listed[1].languages  # the model's, no hint


def test_the_voice_a_request_means() -> None:
    listed = registry_voices(
        [
            record(f"{M}-zhvoice-1", "zhvoice", options={"language_hints": ["zh"]}),
            record(f"{M}-envoice-1", "envoice", options={"language_hints": ["en"]}),
        ],
        "here",
    )
    pick = choose_voice
    assert pick(listed, name="envoice", language=None, default=None) == f"{M}-envoice-1"
    assert pick(listed, name="longanyang", language=None, default=None) == "longanyang"
    assert pick(listed, name=None, language="en-US", default=None) == f"{M}-envoice-1"
    assert pick(listed, name=None, language="en", default="zhvoice") == "zhvoice"
    assert pick(listed, name=None, language="fr", default=None) == f"{M}-zhvoice-1"
    with pytest.raises(InvalidRequestError, match="no voice to speak with"):
        pick([], name=None, language="en", default=None)
