"""Config tables owned by the appliance: ``[bargein]``, ``[listen]``, ``[button]``, ``[events]``."""

from __future__ import annotations

from dataclasses import dataclass

from bargein.core.settings import setting


@dataclass(frozen=True)
class BargeinSettings:
    """How the appliance reacts when someone talks over it."""

    language: str = setting(
        "en", "Language of what people say: its phrase pack (agent/phrases_<language>.toml: "
        "backchannels, cancellations, ... and the number speller) and the Vosk model it needs")
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
    min_word_conf: float = setting(
        0.3, "A final transcript's word counts as evidence only at this recognizer confidence "
        "(pocketsphinx: lattice posterior; Vosk: its conf); below it the word is a guess",
        min=0.0, max=1.0,
    )
    judge_accept_conf: float = setting(
        0.85, "The phrase judge's verdict on a short utterance decides its type on its own at "
        "this score (calibrated: right about 9 times in 10 there; bargein perf --only "
        "phrase_judge)",
        min=0.0, max=1.0,
    )
    judge_agree_conf: float = setting(
        0.5, "A less sure verdict of the phrase judge counts when the open decode heard the "
        "same sounds in other words ('top' for 'stop'); below this score it never counts",
        min=0.0, max=1.0,
    )
    min_voiced_ms: int = setting(
        90, "Voiced sound (a pitch, as vowels have) a stretch needs before its words can stop "
        "the voice; coughs, claps and knocks have less, whatever words are found in them",
        unit="ms", min=0, max=2000,
    )
    redirect_min_voiced_ms: int = setting(
        450, "Voiced sound unclassified words need before they make a redirect",
        unit="ms", min=0, max=5000,
    )
    redirect_min_dbfs: float = setting(
        -27.0, "Speech without a command in it takes the floor (a redirect) only this loud at "
        "the mic: someone talking to the appliance from where it hears them; two people "
        "talking to each other across the room are quieter (a command word is addressed "
        "from min_speech_dbfs up)",
        unit="dBFS", min=-90.0, max=0.0,
    )
    min_speech_dbfs: float = setting(
        -32.0, "Speech quieter than this at the mic (after echo cancellation) is background: "
        "a television or people across the room; someone talking to the appliance is louder",
        unit="dBFS", min=-90.0, max=0.0,
    )
    over_background_db: float = setting(
        5.0, "Where a radio or television talks continuously, speech must be this much louder "
        "than it to be someone talking to the appliance",
        unit="dB", min=0.0, max=40.0,
    )
    listen_timeout_s: float = setting(
        8.0, "After a button press, stop listening if nobody speaks within this",
        unit="s", min=1.0, max=60.0,
    )


LISTEN_MODES = ("wake_word", "button", "open")
"""What opens a turn while the appliance is idle (``[listen] mode``)."""


@dataclass(frozen=True)
class ListenSettings:
    """When speech is a request: after the wake word, after the button, or always."""

    mode: str = setting(
        "wake_word",
        "What opens a turn while the appliance is idle: wake_word = the wake word ([wake]) or "
        "the button, other speech is ignored (only counted); button = only the button; open = "
        "any speech the recognizer turns into words (the behaviour before the wake word: a "
        "television or two people talking to each other get answers). The wake word also "
        "stops an answer in wake_word mode",
        choices=LISTEN_MODES,
    )
    follow_up_s: float = setting(
        5.0,
        "After the appliance has spoken (wake_word and button modes), speech that starts "
        "within this long is a reply and needs no wake word or press; 0 = no follow-up",
        unit="s", min=0.0, max=30.0,
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
        False, "Put what people said in the journal and the event log (off by default: "
        "their words stay out of every log; true helps tuning the phrase packs)"
    )


@dataclass(frozen=True)
class MqttSettings:
    """A link to an MQTT broker (Mosquitto) for Home Assistant: state, records, commands."""

    enabled: bool = setting(
        False, "Publish state and interruptions to an MQTT broker and take its commands "
        "(Home Assistant MQTT discovery); off by default")
    url: str = setting(
        "mqtt://127.0.0.1:1883", "The broker: mqtt://host:port, or mqtts://host:port for TLS "
        "(its certificate checked against ca_file, else the system's CA certificates)")
    ca_file: str = setting(
        "", "For mqtts://: the CA certificate (PEM) that signed the broker's certificate, "
        "for a broker with its own CA (as most home brokers are); empty = the system's CA "
        "certificates")
    node_id: str = setting(
        "bargein", "This appliance's id in topics (bargein/<node_id>/...) and in Home "
        "Assistant; letters, digits, _ and - only")
    username: str = setting(
        "", "User name at the broker; empty = anonymous. The password is systemd credential "
        "mqtt-password, else the variable named by password_env")
    password_env: str = setting(
        "BARGEIN_MQTT_PASSWORD", "Environment variable holding the broker password when "
        "there is no mqtt-password credential")
    discovery_prefix: str = setting(
        "homeassistant", "Home Assistant's MQTT discovery prefix")
