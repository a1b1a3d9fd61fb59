"""Voice management through the library returns the typed models (against the emulator)."""

from __future__ import annotations

from pathlib import Path

from cosyvoice_clone import CosyVoice, Voice, VoiceStatus
from cosyvoice_clone.emulator.server import RunningEmulator


def test_list_show_prune_and_delete_many_return_models(
    cosyvoice_emulator_env: RunningEmulator, tmp_path: Path
) -> None:
    sample = cosyvoice_emulator_env.sample_url()
    with CosyVoice() as cv:
        kept = cv.clone(prefix="keep", sample=sample, wait=True, skip_check=True)
        assert kept.status is VoiceStatus.OK
        for i in range(2):
            cv.clone(prefix="old", sample=sample, wait=True, skip_check=True, force=i > 0)
        listed = cv.voices.list()
        assert all(isinstance(v, Voice) and v.status is VoiceStatus.OK for v in listed)
        assert {v.prefix for v in listed} == {"keep", "old"} and all(v.registered for v in listed)
        shown = cv.voices.show("keep")  # a prefix names its one voice
        assert shown.voice_id == kept.voice_id and shown.to_dict()["status"] == "OK"

        assert [v.prefix for v in cv.voices.prune_candidates(prefix="old")] == ["old", "old"]
        pruned = cv.voices.prune(prefix="old")
        assert pruned.ok and len(pruned.deleted) == 2
        assert [v.voice_id for v in cv.voices.list()] == [kept.voice_id]

        again = cv.voices.delete_many([pruned.deleted[0], kept.voice_id])
        assert again.deleted == (kept.voice_id,)
        assert [(v, e.code) for v, e in again.failed] == [(pruned.deleted[0], "not_found")]
        assert again.ok is False and "ok" not in again.to_dict()
        assert cv.voices.resolve(kept.voice_id).deleted
