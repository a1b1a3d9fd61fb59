"""Playing speech on the default audio output device (the ``play`` extra: ``sounddevice``).

:class:`PlaySink` is an :class:`~cosyvoice_clone.synthesis.sinks.AudioSink`: PCM 16-bit mono in,
played as it arrives; ``commit`` returns once the queued audio has played.
"""

from __future__ import annotations

import contextlib

from .errors import ConfigError
from .extras import extra_hint

PLAY_HINT = extra_hint("play", "sounddevice")


class PlaySink:
    """The default audio output device, through ``sounddevice`` (the ``play`` extra)."""

    def __init__(self, sample_rate: int) -> None:
        try:
            import sounddevice
        except ImportError:
            raise ConfigError(
                "playing audio needs the optional 'sounddevice' package", hint=PLAY_HINT
            ) from None
        except OSError as exc:  # the PortAudio library itself is missing
            raise ConfigError(
                f"playing audio needs the PortAudio library: {exc}",
                hint="install PortAudio (e.g. apt-get install libportaudio2), or write the "
                "audio with --out - and pipe it to a player",
            ) from None
        try:
            self.stream = sounddevice.RawOutputStream(
                samplerate=sample_rate, channels=1, dtype="int16"
            )
            self.stream.start()
        except Exception as exc:  # PortAudioError, or no default device
            raise ConfigError(
                f"no audio output device to play on: {exc}",
                hint="write the audio with --out FILE or --out - instead",
            ) from None
        self.carry = b""

    def write(self, pcm: bytes) -> None:
        data = self.carry + pcm
        usable = len(data) - len(data) % 2
        self.carry = data[usable:]
        if usable:
            self.stream.write(data[:usable])

    def commit(self) -> None:
        self.stream.stop()  # returns once the queued audio has played
        self.stream.close()

    def discard(self) -> None:
        with contextlib.suppress(Exception):
            self.stream.abort()
            self.stream.close()


__all__ = ["PLAY_HINT", "PlaySink"]
