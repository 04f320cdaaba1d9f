"""Config tables owned by the appliance: ``[bargein]``, ``[button]``, ``[events]``."""

from __future__ import annotations

from dataclasses import dataclass

from bargein.device.settings import setting


@dataclass(frozen=True)
class BargeinSettings:
    """How the appliance reacts when someone talks over it."""

    language: str = setting("en", "Language of the phrase file used to classify interruptions")
    duck_db: float = setting(
        -18.0, "Gain applied to the voice while a possible interruption is judged",
        unit="dB", min=-60.0, max=0.0,
    )
    min_cut_speech_ms: int = setting(
        250, "Speech needed before the voice may be cut (the button is exempt)",
        unit="ms", min=0, max=3000,
    )
    redirect_after_words: int = setting(
        4, "Unclassified words after which speech counts as a redirect", min=1, max=50
    )
    redirect_after_ms: int = setting(
        1500, "Unclassified speech after which it counts as a redirect",
        unit="ms", min=100, max=10000,
    )
    fade_ms: float = setting(
        5.0, "Fade applied when the voice is cut", unit="ms", min=0.0, max=50.0
    )
    preroll_ms: int = setting(
        200, "Audio before the VAD onset handed to the recognizer (a soft first sound; "
        "more hands it the echo residue before the person spoke)",
        unit="ms", min=60, max=3000,
    )
    pause_margin_ms: float = setting(
        60.0, "While ducked and undecided, pause this long before the sentence ends",
        unit="ms", min=0.0, max=500.0,
    )
    final_timeout_ms: int = setting(
        2000, "Longest wait for the final transcript after speech ends (then the partial is used)",
        unit="ms", min=200, max=10000,
    )
    listen_timeout_s: float = setting(
        8.0, "After a button press, stop listening if nobody speaks within this",
        unit="s", min=1.0, max=60.0,
    )


@dataclass(frozen=True)
class ButtonSettings:
    """The hardware button and the status LED."""

    enabled: bool = setting(True, "Use a push button on a GPIO pin")
    pin: int = setting(17, "GPIO (BCM) pin of the button", min=0, max=27)
    bounce_ms: int = setting(30, "Debounce time", unit="ms", min=0, max=500)
    long_press_s: float = setting(
        3.0, "Hold this long to toggle microphone mute", unit="s", min=0.5, max=30.0
    )
    led_pin: int = setting(-1, "GPIO (BCM) pin of the status LED; -1 = none", min=-1, max=27)
    led_pwm: bool = setting(True, "Drive the LED with PWM (pulses while speaking)")


@dataclass(frozen=True)
class EventsSettings:
    """The interruption record and the operator's logs."""

    state_dir: str = setting(
        "/var/lib/bargein",
        "State directory holding the event log and models (systemd's StateDirectory=)",
    )
    event_log_max_bytes: int = setting(
        10_000_000, "Rotate the event log at this size", unit="bytes",
        min=10_000, max=10_000_000_000,
    )
    event_log_keep: int = setting(5, "Rotated event logs kept", min=1, max=100)
    rate_window_s: float = setting(
        300.0, "Sliding window over which the interruption rate is computed",
        unit="s", min=10.0, max=86400.0,
    )
    rate_warn_per_min: float = setting(
        2.0, "Warn when interruptions per minute over the window exceed this",
        unit="1/min", min=0.0, max=1000.0,
    )
    log_transcripts: bool = setting(
        True, "Put user transcripts in logs and the event log (false = words left out)"
    )
