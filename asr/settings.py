"""Config table ``[asr]``: the Vosk recognizer."""

from __future__ import annotations

from dataclasses import dataclass

from bargein.device.settings import setting


@dataclass(frozen=True)
class AsrSettings:
    """Speech recognition with Vosk."""

    model: str = setting(
        "",
        "Vosk model directory; empty = $BARGEIN_VOSK_MODEL, then "
        "/var/lib/bargein/models/vosk-model-small-en-us-0.15",
    )
    command_spotter: bool = setting(
        True,
        "Run a second, small grammar recognizer that spots command words "
        "(stop, wait, cancel, ...) early",
    )
    queue_frames: int = setting(
        200,
        "Frames the recognizer's input queue holds before frames are dropped (and counted)",
        min=10,
        max=10000,
    )
