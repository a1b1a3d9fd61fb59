"""How the emulator's voices sound: the heuristics behind their pitch and speaking rate.

Deterministic, so that a test can predict them: a system voice's pitch comes from its gender and
name (:func:`system_voice_pitch`); a designed voice's pitch and rate come from words of its
description (:func:`design_traits`); a cloned voice keeps the pitch measured from its sample.
"""

from __future__ import annotations

import hashlib
import re

from .. import catalog

SYSTEM_VOICE_PITCH_HZ = {"male": (105.0, 135.0), "female": (200.0, 240.0), "child": (270.0, 310.0)}
"""Fundamental-frequency range of the emulator's rendering of a system voice, by gender."""
NEUTRAL_PITCH_HZ = (140.0, 180.0)
"""The range of a voice whose gender is not known (or not asked for)."""


def _place(low_high: tuple[float, float], name: str) -> float:
    """A point in ``low_high`` chosen by a hash of ``name``."""
    low, high = low_high
    fraction = int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big") / 2**32
    return low + (high - low) * fraction


def system_voice_pitch(voice: catalog.SystemVoice) -> float:
    """A deterministic pitch for a system voice: its gender's range, placed by its name."""
    pitch_range = SYSTEM_VOICE_PITCH_HZ.get(voice.gender or "", NEUTRAL_PITCH_HZ)
    return round(_place(pitch_range, voice.name), 1)


_DESIGN_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("child", ("child", "kid", "little girl", "little boy", "儿童", "童声", "小孩", "孩子")),
    ("female", ("female", "woman", "girl", "lady", "女")),
    ("male", ("male", "man", "boy", "gentleman", "男")),
    ("deep", ("deep", "low", "bass", "husky", "低沉", "浑厚", "低音", "沙哑", "磁性")),
    ("high", ("high", "bright", "shrill", "squeaky", "高亢", "尖", "清亮", "高音")),
    ("fast", ("fast", "quick", "rapid", "brisk", "快")),
    ("slow", ("slow", "leisurely", "unhurried", "慢", "舒缓", "缓")),
)


def design_traits(prompt: str) -> tuple[float, float]:
    """``(pitch Hz, rate factor)`` of the voice a description asks for, deterministically.

    Gender words pick the pitch range (child > female > male; none: a neutral range), a hash of
    the prompt places the voice inside it; "deep"/"低沉" lowers it by 15 %, "high"/"高亢" raises
    it by 15 %; "fast"/"快" speaks 1.25 times faster, "slow"/"慢" 0.8 times.
    """
    text = prompt.lower()
    found = set()
    for trait, words in _DESIGN_WORDS:
        for word in words:
            hit = (
                word in text
                if catalog.has_cjk(word)
                else re.search(rf"\b{re.escape(word)}s?\b", text) is not None
            )
            if hit:
                found.add(trait)
                break
    if "child" in found:
        pitch_range = SYSTEM_VOICE_PITCH_HZ["child"]
    elif "female" in found and "male" not in found:
        pitch_range = SYSTEM_VOICE_PITCH_HZ["female"]
    elif "male" in found and "female" not in found:
        pitch_range = SYSTEM_VOICE_PITCH_HZ["male"]
    else:
        pitch_range = NEUTRAL_PITCH_HZ
    pitch = _place(pitch_range, prompt)
    if "deep" in found and "high" not in found:
        pitch *= 0.85
    elif "high" in found and "deep" not in found:
        pitch *= 1.15
    rate = 1.0
    if "fast" in found and "slow" not in found:
        rate = 1.25
    elif "slow" in found and "fast" not in found:
        rate = 0.8
    return round(pitch, 1), rate
