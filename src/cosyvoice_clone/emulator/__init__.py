"""The offline DashScope: an emulator of voice enrollment, speech synthesis and uploads."""
