#!/usr/bin/env python3
"""Prepare a normalized CosyVoice voice-design request JSON (the design skill's helper).

Delegates to `cosyvoice-clone prepare-design` from the cosyvoice-clone package, so the
validation rules live in one place. Run from the repository root with the project's environment
active:

    python skills/ai/audio/alicloud-ai-audio-cosyvoice-voice-design/scripts/\\
prepare_cosyvoice_design_request.py --target-model cosyvoice-v3.5-plus --prefix announcer \\
      --voice-prompt "沉稳的中年男性播音员，低沉有磁性，语速平稳" \\
      --preview-text "各位听众朋友，大家好。" --language-hint zh

Writes output/alicloud-ai-audio-cosyvoice-voice-design/request.json and prints
{"ok": true, "request_path": "..."}. Options: --sample-rate, --response-format, --output,
--validate-response FILE.
"""

from __future__ import annotations

import sys
from pathlib import Path


def _main() -> None:
    try:
        from cosyvoice_clone.cli.main import run
    except ImportError:
        # Not installed: use the package from this repository's src/ (its dependencies must
        # still be importable, e.g. inside the project's .venv).
        sys.path.insert(0, str(Path(__file__).resolve().parents[5] / "src"))
        from cosyvoice_clone.cli.main import run
    run(["prepare-design", *sys.argv[1:]])


if __name__ == "__main__":
    _main()
