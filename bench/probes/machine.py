"""``bargein perf`` figures for the button: press to silence at the speaker.

Each press lands at a random moment of a sustained voice-like sound playing in the
virtual room: a gpiozero MockFactory pin is driven low at that virtual time, the
button's ``when_pressed`` callback cuts the playback ring directly (the real
:class:`~bargein.device.button.ApplianceButton` and ring), and the figure is the time
from the press to the first speaker sample after which the speaker stays silent.

The virtual clock does not move while the callback runs, so the callback's real
duration (pin edge -> ``cut()`` returned, wall clock) is measured on its own and
added to each press. The room uses the appliance's default output period
(``[audio] period_ms``) and no extra device buffering; a real ALSA device adds its
own output latency on top.
"""

from __future__ import annotations

import logging
import time

import numpy as np
from gpiozero import Device
from gpiozero.pins.mock import MockFactory

from bargein.audio.settings import AudioSettings
from bargein.audio.virtual_room import RoomSettings, VirtualRoom
from bargein.device.appliance_settings import BargeinSettings, ButtonSettings
from bargein.device.button import ApplianceButton
from bargein.device.events import ButtonPressed, Event

log = logging.getLogger(__name__)

_SPEAKER_RATE_HZ = 16_000
_BUTTON_PIN = 17


def _voice_like(seconds: float, rate_hz: int, rng: np.random.Generator) -> np.ndarray:
    """A harmonic tone with a slow wobble: never silent, so any silence is the cut's."""
    t = np.arange(round(seconds * rate_hz)) / rate_hz
    f0 = float(rng.uniform(100.0, 220.0))
    wave = sum(np.sin(2 * np.pi * f0 * k * t + k) / k for k in range(1, 6))
    return (0.25 * (1.2 + 0.3 * np.sin(2 * np.pi * 4.0 * t)) * wave).astype(np.float32)


def press_to_silence_ms(presses: int, seed: int = 17) -> tuple[np.ndarray, np.ndarray]:
    """Press-to-silence latency (ms) per press, and the callback's wall-clock cost (µs)."""
    rng = np.random.default_rng(seed)
    fade_ms = BargeinSettings().fade_ms
    room = VirtualRoom(RoomSettings(
        noise_db=float("-inf"), seed=seed, speaker_rate_hz=_SPEAKER_RATE_HZ,
        period_ms=float(AudioSettings().period_ms),
    ))
    ring = room.ring
    events: list[Event] = []
    callback_us: list[float] = []
    saved_factory = Device.pin_factory
    Device.pin_factory = MockFactory()
    try:
        button = ApplianceButton(
            ButtonSettings(pin=_BUTTON_PIN), lambda: ring.cut(fade_ms), events.append
        )
        pin = Device.pin_factory.pin(_BUTTON_PIN)

        def press() -> None:
            started = time.perf_counter()
            pin.drive_low()  # gpiozero calls when_pressed -> ring.cut(), then notifies
            callback_us.append((time.perf_counter() - started) * 1e6)
            pin.drive_high()

        latencies_ms = []
        for utterance_id in range(presses):
            ring.enqueue(_voice_like(0.8, ring.rate_hz, rng), ring.rate_hz, utterance_id)
            ring.end_utterance(utterance_id)
            press_s = room.now_s + float(rng.uniform(0.1, 0.6))
            room.call_at(press_s, press)
            room.advance(press_s - room.now_s + 0.1)
            speaker = room.speaker_audio()
            first = round(press_s * ring.rate_hz) - ring.period_frames
            loud = np.flatnonzero(speaker[first:])
            silent_from = first + (int(loud[-1]) + 1 if len(loud) else 0)
            latencies_ms.append((silent_from / ring.rate_hz - press_s) * 1000.0)
        button.close()
    finally:
        if Device.pin_factory is not None:
            Device.pin_factory.reset()
        Device.pin_factory = saved_factory
    presses_seen = sum(isinstance(e, ButtonPressed) for e in events)
    if presses_seen != presses:
        raise RuntimeError(f"the machine was told of {presses_seen} of {presses} presses")
    callbacks = np.array(callback_us)
    return np.array(latencies_ms) + callbacks / 1000.0, callbacks


def figures(quick: bool) -> dict[str, float]:
    presses = 20 if quick else 200
    latencies_ms, callback_us = press_to_silence_ms(presses)
    log.info("button: %d presses in the virtual room", presses)
    return {
        "button_cut_ms_p50": round(float(np.percentile(latencies_ms, 50)), 2),
        "button_cut_ms_p95": round(float(np.percentile(latencies_ms, 95)), 2),
        "button_callback_us_p95": round(float(np.percentile(callback_us, 95)), 1),
    }
