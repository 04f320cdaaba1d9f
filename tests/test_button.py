"""The GPIO button and status LED on gpiozero's mock pins (the hardware boundary)."""

from __future__ import annotations

import logging
import queue
import time

import numpy as np
import pytest
from gpiozero import Device
from gpiozero.pins.mock import MockFactory, MockPWMPin

from bargein.agent.classifier import InterruptionClassifier
from bargein.audio.playback import PlaybackRing
from bargein.device import button as button_module
from bargein.device.appliance_settings import BargeinSettings, ButtonSettings
from bargein.device.button import StatusLed, open_button, open_status_led
from bargein.device.events import ButtonHeld, ButtonPressed, SetMute
from bargein.device.machine import BargeinMachine

RATE_HZ = 16_000
PERIOD = 160


@pytest.fixture
def mock_factory():
    """Mock pins for one test; the previous factory is put back afterwards."""
    saved = Device.pin_factory
    Device.pin_factory = MockFactory(pin_class=MockPWMPin)
    try:
        yield Device.pin_factory
    finally:
        if Device.pin_factory is not None:
            Device.pin_factory.reset()
        Device.pin_factory = saved


def wait_for(events: queue.Queue, kind: type, timeout_s: float = 5.0):
    deadline = time.monotonic() + timeout_s
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"no {kind.__name__} within {timeout_s} s")
        event = events.get(timeout=remaining)
        if isinstance(event, kind):
            return event


def playing_ring() -> PlaybackRing:
    ring = PlaybackRing(RATE_HZ, PERIOD)
    tone = 0.5 * np.sin(2 * np.pi * 220 * np.arange(RATE_HZ) / RATE_HZ).astype(np.float32)
    ring.enqueue(tone, RATE_HZ, utterance_id=1)
    ring.end_utterance(1)
    out = np.zeros(PERIOD, dtype=np.int16)
    ring.read_into(out, 0.0)
    assert np.abs(out).max() > 1000, "the ring plays before the press"
    return ring


def test_press_cuts_the_ring_from_the_callback_then_tells_the_machine(mock_factory):
    ring = playing_ring()
    order: list[str] = []
    events: queue.Queue = queue.Queue()

    def cut() -> None:
        order.append("cut")
        ring.cut(5.0)

    def notify(event) -> None:
        order.append(type(event).__name__)
        events.put(event)

    handle = open_button(ButtonSettings(pin=17), cut, notify, clock=lambda: 42.0)
    assert handle is not None
    pin = mock_factory.pin(17)
    pin.drive_low()
    assert order == ["cut", "ButtonPressed"], "the speaker is cut before any queue"
    assert wait_for(events, ButtonPressed) == ButtonPressed(42.0)
    out = np.zeros(PERIOD, dtype=np.int16)
    ring.read_into(out, 0.01)  # the fade period
    ring.read_into(out, 0.02)
    assert not out.any(), "silence from the period after the fade"
    pin.drive_high()
    handle.close()


def test_long_press_toggles_mute_through_the_machine(mock_factory):
    events: queue.Queue = queue.Queue()
    handle = open_button(ButtonSettings(pin=27, long_press_s=0.5), lambda: None, events.put)
    machine = BargeinMachine(BargeinSettings(), InterruptionClassifier.from_language("en"))
    pin = mock_factory.pin(27)
    pin.drive_low()
    held = wait_for(events, ButtonHeld, timeout_s=5.0)
    pin.drive_high()
    assert SetMute(True) in machine.handle(held)
    assert machine.muted
    pin.drive_low()
    held = wait_for(events, ButtonHeld, timeout_s=5.0)
    pin.drive_high()
    assert SetMute(False) in machine.handle(held)
    handle.close()


def test_disabled_button_is_not_opened(mock_factory):
    assert open_button(ButtonSettings(enabled=False), lambda: None, lambda e: None) is None


def test_off_a_pi_says_so_once_and_runs_without(monkeypatch, caplog):
    saved = Device.pin_factory
    Device.pin_factory = None
    monkeypatch.delenv("GPIOZERO_PIN_FACTORY", raising=False)
    monkeypatch.setattr(button_module, "_no_gpio_said", False)
    try:
        with caplog.at_level(logging.WARNING, logger="bargein.device.button"):
            assert open_button(ButtonSettings(), lambda: None, lambda e: None) is None
            assert open_status_led(ButtonSettings(led_pin=22)) is None
    finally:
        Device.pin_factory = saved
    lines = [r for r in caplog.records if r.name == "bargein.device.button"]
    assert len(lines) == 1 and "no GPIO" in lines[0].getMessage()


def test_status_led_shows_each_state(mock_factory):
    led = StatusLed(22, pwm=True)
    pin = mock_factory.pin(22)
    led.show("listening")
    assert pin.state == 1
    led.show("idle")
    assert pin.state == 0
    led.show("thinking")  # quick blink: the pin keeps changing
    deadline = time.monotonic() + 5.0
    seen = set()
    while len(seen) < 2 and time.monotonic() < deadline:
        seen.add(pin.state > 0.5)
        time.sleep(0.02)
    assert seen == {True, False}, "the LED blinks while thinking"
    led.show("speaking", muted=True)
    assert led.shown == "muted"
    led.show("idle")
    assert pin.state == 0
    led.show("idle", follow_up=True)  # the follow-up window: listening without a wake word
    assert pin.state == 1
    led.show("idle")
    assert pin.state == 0
    led.close()


def test_no_led_configured():
    assert open_status_led(ButtonSettings(led_pin=-1)) is None


def test_perf_figures_quick_are_present_and_finite():
    from bargein.bench.probes import machine as machine_perf

    figures = machine_perf.figures(quick=True)
    assert set(figures) >= {"button_cut_ms_p50", "button_cut_ms_p95"}
    assert all(np.isfinite(v) and v > 0 for v in figures.values())
    assert figures["button_cut_ms_p50"] <= figures["button_cut_ms_p95"]


def test_a_button_pin_already_in_use_runs_without_the_button(mock_factory, caplog):
    led = StatusLed(17, pwm=False)  # something else holds GPIO17
    with caplog.at_level(logging.ERROR, logger="bargein.device.button"):
        assert open_button(ButtonSettings(pin=17), lambda: None, lambda e: None) is None
    led.close()
    assert "button on GPIO17 unusable" in caplog.text and "[button] pin" in caplog.text


def test_a_failing_led_is_switched_off_and_named_in_the_status(mock_factory, caplog):
    from bargein.device.daemon import Daemon, status_line

    daemon = Daemon(config=None, environ={})  # type: ignore[arg-type]  # only the LED is used
    daemon.led = StatusLed(22, pwm=True)
    daemon._show_on_led("listening", False)
    assert mock_factory.pin(22).state == 1
    daemon.led.led.close()  # the GPIO goes away under it
    with caplog.at_level(logging.ERROR, logger="bargein.device.daemon"):
        daemon._show_on_led("idle", False)  # does not raise
    assert daemon.led is None and "GPIODeviceClosed" in daemon.led_problem
    assert "status LED failed" in caplog.text
    assert status_line("idle", False, [], None, daemon.led_problem).startswith(
        "listening; status LED off (GPIODeviceClosed")
