"""Config tables owned by the audio path: ``[audio]``, ``[vad]``, ``[echo]`` and ``[wake]``."""

from __future__ import annotations

from dataclasses import dataclass

from bargein.core.settings import setting


@dataclass(frozen=True)
class AudioSettings:
    """Sound devices and the formats used on each side."""

    backend: str = setting(
        "pyaudio",
        "Where sound comes from and goes to: real devices through PyAudio/ALSA, "
        "or the virtual room used by tests and the demo",
        choices=("pyaudio", "virtual"),
    )
    input_device: str = setting(
        "",
        "Microphone: a substring of the device name or its index as shown by "
        "`bargein devices`; empty = the system default input",
    )
    output_device: str = setting(
        "",
        "Speaker: a substring of the device name or its index; empty = the system default output",
    )
    input_channels: int = setting(
        0,
        "Channels to open on the microphone; 0 = all the device has",
        min=0,
        max=16,
    )
    input_channel: int = setting(
        0,
        "Which channel to use from a multi-channel array (the ReSpeaker's processed "
        "beam is channel 0); -1 = mix all channels",
        min=-1,
        max=15,
    )
    frame_ms: int = setting(
        30, "Length of each capture frame handed to the VAD", unit="ms", choices=(10, 20, 30)
    )
    output_rate_hz: int = setting(
        0,
        "Speaker sample rate; 0 = the device's default rate",
        unit="Hz",
        min=0,
        max=192000,
    )
    period_ms: int = setting(
        10,
        "Length of one playback period handed to ALSA (at most 10 ms keeps a cut fast)",
        unit="ms",
        min=2,
        max=10,
    )
    ring_s: float = setting(
        120.0,
        "Capacity of the playback ring buffer",
        unit="s",
        min=5.0,
        max=1200.0,
    )
    reconnect_backoff_max_s: float = setting(
        10.0,
        "Longest wait between attempts to reopen a lost sound device",
        unit="s",
        min=0.1,
        max=300.0,
    )


@dataclass(frozen=True)
class VadSettings:
    """Voice activity detection with webrtcvad plus a start/stop hysteresis."""

    aggressiveness: int = setting(
        2, "webrtcvad aggressiveness: 0 = least, 3 = most aggressive at rejecting non-speech",
        min=0, max=3,
    )
    min_speech_ms: int = setting(
        100,
        "Voiced audio needed before speech counts as started (ducking follows at once)",
        unit="ms",
        min=10,
        max=2000,
    )
    hangover_ms: int = setting(
        300,
        "Unvoiced audio needed before speech counts as ended",
        unit="ms",
        min=30,
        max=5000,
    )


@dataclass(frozen=True)
class EchoSettings:
    """Echo control: how the appliance avoids hearing itself."""

    canceller: str = setting(
        "auto",
        "Acoustic echo canceller on the mic path: auto = the best available, "
        "none = off (use with a USB array that cancels echo itself)",
        choices=("auto", "webrtc", "speex", "none"),
    )
    device_aec: bool = setting(
        False,
        "The microphone array cancels echo itself (XMOS-based ReSpeaker): use its "
        "processed channel and turn our canceller off",
    )
    latency_ms: float = setting(
        -1.0,
        "Speaker-to-mic delay used to align the echo reference; -1 = measured from "
        "the devices' reported latencies",
        unit="ms",
        min=-1.0,
        max=1000.0,
    )
    tail_ms: float = setting(
        250.0,
        "Length of the echo canceller's filter: covers the error of the delay estimate "
        "plus the room's reverberation",
        unit="ms",
        min=20.0,
        max=1000.0,
    )
    residual_suppress_db: float = setting(
        40.0,
        "Residual echo suppression after the adaptive filter (speex); 0 = the filter alone",
        unit="dB",
        min=0.0,
        max=80.0,
    )
    estimate_delay: bool = setting(
        True,
        "Measure the speaker-to-mic delay from the audio (cross-correlation of mic and "
        "reference) so a mis-set latency still converges",
    )
    max_delay_ms: float = setting(
        400.0,
        "Largest speaker-to-mic delay the estimator searches",
        unit="ms",
        min=20.0,
        max=1000.0,
    )
    double_talk_correlation: float = setting(
        0.5,
        "During playback, a frame the speaker's reference explains worse than this "
        "(normalised cross-correlation of mic and reference) is double talk: the echo "
        "gate opens and the echo leak is not learned from it; 0 = off",
        min=0.0,
        max=1.0,
    )
    speech_over_echo_db: float = setting(
        8.0,
        "During playback, the echo-cancelled mic must exceed the echo it is expected to "
        "leave by this much before the VAD may count it as a person",
        unit="dB",
        min=0.0,
        max=30.0,
    )


@dataclass(frozen=True)
class WakeSettings:
    """The wake word: a microWakeWord model run on the echo-cancelled mic, 10 ms at a time."""

    model: str = setting(
        "alexa",
        "Wake word model: a model bundled with pymicro-wakeword (okay_nabu, hey_jarvis, "
        "alexa, hey_mycroft) or the path of a .tflite trained with microWakeWord, its .json "
        "beside it (see the README on licences and how to pick one)",
    )
    probability_cutoff: float = setting(
        0.0,
        "Mean probability over the sliding window above which the wake word counts as "
        "heard; 0 = the model's own cutoff from its .json",
        min=0.0,
        max=0.999,
    )
    sliding_window_size: int = setting(
        0,
        "Model outputs (one per 30 ms) averaged before the cutoff is applied; "
        "0 = the model's own size from its .json",
        unit="outputs",
        min=0,
        max=50,
    )
    refractory_ms: int = setting(
        2000,
        "After a detection, the wake word is not reported again for this long, so one "
        "utterance triggers once",
        unit="ms",
        min=300,
        max=10000,
    )
