"""Native doors for voice-agent frameworks (frontends over the public layer):
:mod:`.pipecat` (the ``pipecat`` extra) and :mod:`.livekit` (the ``livekit`` extra)."""
