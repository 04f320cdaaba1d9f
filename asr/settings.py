"""Config table ``[asr]``: the recognizer engine (Vosk or pocketsphinx), its spotter and phrase judge."""

from __future__ import annotations

from dataclasses import dataclass

from bargein.core.settings import setting


@dataclass(frozen=True)
class AsrSettings:
    """Speech recognition with Vosk or pocketsphinx."""

    engine: str = setting(
        "vosk",
        "Recognizer engine: vosk (the model fetched by scripts/fetch-models) or "
        "pocketsphinx (smaller and less accurate; its en-us model comes with it)",
        choices=("vosk", "pocketsphinx"),
    )
    model: str = setting(
        "",
        "Model directory. vosk: empty = $BARGEIN_VOSK_MODEL, then "
        "<[events] state_dir>/models/vosk-model-small-en-us-0.15; pocketsphinx: a directory "
        "with an acoustic model directory, a .lm.bin and a .dict, empty = the bundled en-us",
    )
    partial_words: bool = setting(
        True,
        "Ask Vosk for word times in partial results (costs about 1 s of partial latency; "
        "see bargein perf asr_first_partial_ms_*); pocketsphinx partials always have them",
    )
    command_spotter: bool = setting(
        True,
        "Run a second, small recognizer that spots command words (stop, wait, cancel, ...) "
        "early: a Vosk grammar, or pocketsphinx keyphrase search",
    )
    command_phrases: str = setting(
        "stop, wait, cancel, never mind, quiet, enough, pause, no, hold on, shut up",
        "Comma-separated phrases the command spotter listens for "
        "(phrases with words the model does not know are dropped with a warning)",
    )
    phrase_judge: bool = setting(
        True,
        "Judge each short utterance (up to 2 s) against the phrase pack with a third, "
        "constrained recognizer (pocketsphinx only): which phrase was said, if any, "
        "with a calibrated score",
    )
    queue_frames: int = setting(
        200,
        "Frames the recognizer's input queue holds before frames are dropped (and counted)",
        min=10,
        max=10000,
    )
    warm_up: bool = setting(
        True,
        "Decode a few spoken phrases at start (and for each renewed recognizer) so the "
        "first utterance is decoded at full speed",
    )
    renew_after_utterances: int = setting(
        200,
        "Replace the recognizer with a fresh, warmed-up one after this many utterances, "
        "between utterances, and give the old one's memory back to the OS: Vosk's lazily "
        "built decoding graph grows with what it hears, and a fresh one decodes its first "
        "utterance slower (0 = never; see README, Running for months)",
        min=0,
        max=100000,
    )


def parse_phrases(text: str) -> list[str]:
    """Split the ``[asr] command_phrases`` setting (comma-separated) into phrases."""
    return [" ".join(p.split()) for p in text.split(",") if p.strip()]
