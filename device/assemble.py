"""One chain from microphone to speaker, built the same way for the daemon and the bench.

The chain is: the playback ring's tap feeds the echo reference; the echo-aware VAD
cancels the appliance's own voice from each capture frame and decides speech on what
is left; the wake word detector (``wake_word`` mode) hears the same cancelled frames;
the barge-in machine decides; the pipeline carries its actions out on the ring, the
recognizer, the synthesizer and the agent. The daemon (real devices or the virtual
room's sound backend) and the simulator differ only in what they hand in: the ring,
how recognition and speech run (threads, or inline on the virtual clock), the agent,
and the air delay between the speaker and the microphone.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from bargein.agent.classifier import InterruptionClassifier, PhraseBook
from bargein.asr.settings import AsrSettings
from bargein.audio.echo_reference import EchoReference
from bargein.audio.echo_vad import EchoAwareVad
from bargein.audio.playback import PlaybackRing
from bargein.audio.settings import EchoSettings, VadSettings, WakeSettings
from bargein.device.appliance_settings import BargeinSettings, ListenSettings
from bargein.device.event_log import InterruptionRecord
from bargein.device.machine import BargeinMachine
from bargein.device.pipeline import (
    AgentRunner,
    Observer,
    Pipeline,
    Recognition,
    SpeechEngine,
    WakeDetector,
)


@dataclass
class Chain:
    """The assembled chain; ``pipeline`` is what the caller feeds frames and polls."""

    pipeline: Pipeline
    machine: BargeinMachine
    vad: EchoAwareVad
    wake: WakeDetector | None


def classifier_for(settings: BargeinSettings) -> InterruptionClassifier:
    """The interruption classifier ``[bargein]`` describes (its language's phrase pack)."""
    return InterruptionClassifier.from_language(
        settings.language,
        redirect_after_words=settings.redirect_after_words,
        redirect_after_ms=settings.redirect_after_ms,
    )


def asr_for_language(asr: AsrSettings, language: str) -> AsrSettings:
    """``[asr]`` with the command spotter listening for ``language``'s words: a pack's
    ``[spotter] phrases`` replace ``[asr] command_phrases`` (English phrases, which a
    Korean model would force every sound onto)."""
    spotter = PhraseBook.load(language).spotter
    if not spotter:
        return asr
    return dataclasses.replace(asr, command_phrases=", ".join(spotter))


def build_machine(settings: BargeinSettings, listen: ListenSettings,
                  wake_phrase: str = "") -> BargeinMachine:
    """The barge-in machine with the classifier its settings describe."""
    return BargeinMachine(settings, classifier_for(settings), listen, wake_phrase=wake_phrase)


def open_wake_detector(listen: ListenSettings, wake: WakeSettings) -> WakeDetector | None:
    """The wake word detector in ``wake_word`` mode (TensorFlow Lite loads only then)."""
    if listen.mode != "wake_word":
        return None
    from bargein.audio.wake_word import WakeWordDetector

    return WakeWordDetector(wake)


def assemble(
    ring: PlaybackRing,
    recognition: Recognition,
    speech: SpeechEngine,
    agents: AgentRunner,
    *,
    bargein: BargeinSettings,
    listen: ListenSettings,
    vad: VadSettings,
    echo: EchoSettings,
    wake: WakeSettings,
    air_delay_s: float = 0.0,
    observer: Observer | None = None,
    on_interruption: Callable[[InterruptionRecord], None] | None = None,
) -> Chain:
    """Wire echo reference → ring tap → echo-aware VAD (→ wake word) → machine → pipeline.

    ``air_delay_s`` is the nominal delay of the speaker's sound reaching the microphone
    beyond what the ring's tap already times (about 0 on a real device, whose tap has
    the DAC times; the virtual room's own delay there).
    """
    reference = EchoReference(ring.rate_hz, ring.period_frames, nominal_delay_s=air_delay_s)
    ring.set_reference_tap(reference)
    echo_vad = EchoAwareVad(vad, echo, reference)
    detector = open_wake_detector(listen, wake)
    machine = build_machine(bargein, listen, detector.wake_word if detector else "")
    pipeline = Pipeline(
        machine, ring, echo_vad, recognition, speech, agents,
        observer=observer, preroll_ms=bargein.preroll_ms, on_interruption=on_interruption,
        echo_filter=echo_vad.filter, wake=detector,
    )
    return Chain(pipeline, machine, echo_vad, detector)
