"""The hardware button and status LED, through gpiozero.

A press cuts the speaker directly from gpiozero's callback (the playback ring's fast
path, passed in as ``cut``) and only then tells the state machine; a long press
toggles microphone mute; an optional LED shows listening / thinking / speaking /
muted. Off a Pi (no GPIO) the appliance says so once and runs without them.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable

from gpiozero import LED, PWMLED, Button
from gpiozero.exc import BadPinFactory, GPIOZeroError, PinFactoryFallback

from bargein.device.appliance_settings import ButtonSettings
from bargein.device.events import ButtonHeld, ButtonPressed, Event, public_state

log = logging.getLogger(__name__)

_no_gpio_said = False


def _say_no_gpio_once(what: str, exc: Exception) -> None:
    global _no_gpio_said
    if not _no_gpio_said:
        _no_gpio_said = True
        log.warning(
            "no GPIO on this machine (%s); running without the %s "
            "(on a Pi, install python3-lgpio or set GPIOZERO_PIN_FACTORY)", exc, what,
        )


class ApplianceButton:
    """A push button between ``settings.pin`` and ground (internal pull-up).

    ``cut`` is called first, in gpiozero's callback thread, so the speaker goes quiet
    without waiting on any queue; ``notify`` then hands the machine its event.
    ``clock`` gives event times on the capture clock.
    """

    def __init__(
        self,
        settings: ButtonSettings,
        cut: Callable[[], None],
        notify: Callable[[Event], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._cut = cut
        self._notify = notify
        self._clock = clock
        bounce_s = settings.bounce_ms / 1000.0 if settings.bounce_ms else None
        self.button = Button(
            settings.pin, pull_up=True, bounce_time=bounce_s, hold_time=settings.long_press_s
        )
        self.button.when_pressed = self._pressed
        self.button.when_held = self._held
        log.info("button on GPIO%d (long press %.1f s toggles mute)", settings.pin,
                 settings.long_press_s)

    def _pressed(self) -> None:
        self._cut()
        self._notify(ButtonPressed(self._clock()))

    def _held(self) -> None:
        self._notify(ButtonHeld(self._clock()))

    def close(self) -> None:
        self.button.close()


def open_button(
    settings: ButtonSettings,
    cut: Callable[[], None],
    notify: Callable[[Event], None],
    clock: Callable[[], float] = time.monotonic,
) -> ApplianceButton | None:
    """The button, or None when it is disabled or this machine has no GPIO."""
    if not settings.enabled:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PinFactoryFallback)
            return ApplianceButton(settings, cut, notify, clock)
    except BadPinFactory as exc:
        _say_no_gpio_once("button", exc)
        return None
    except GPIOZeroError as exc:  # a pin in use or not a GPIO: run without the button
        log.error("button on GPIO%d unusable (%s); running without it: check [button] pin",
                  settings.pin, exc)
        return None


# (on, off) seconds of each blink pattern; None = steady.
_PATTERNS: dict[str, tuple[float, float] | None] = {
    "thinking": (0.15, 0.15),
    "speaking": (0.6, 0.4),
    "muted": (0.1, 1.9),
}


class StatusLed:
    """Shows the appliance's state: off idle (waiting for the wake word or the button),
    steady listening (a turn is open, or the follow-up window after an answer), quick blink
    thinking, slow pulse speaking, a short flash every two seconds when muted."""

    def __init__(self, pin: int, pwm: bool = True) -> None:
        self.pwm = pwm
        self.led: LED | PWMLED = PWMLED(pin) if pwm else LED(pin)
        self.shown = "idle"

    def show(self, state: str, muted: bool = False, follow_up: bool = False) -> None:
        """Display a machine state (``StatusChanged.state``) as :func:`public_state` names
        it (idle in the follow-up window shows as listening)."""
        name = public_state(state, muted, follow_up)
        if name == self.shown:
            return
        self.shown = name
        if name == "idle":
            self.led.off()
        elif name == "listening":
            self.led.on()
        elif name == "speaking" and isinstance(self.led, PWMLED):
            self.led.pulse(fade_in_time=0.5, fade_out_time=0.5)
        elif name in _PATTERNS and _PATTERNS[name] is not None:
            on_s, off_s = _PATTERNS[name]
            self.led.blink(on_time=on_s, off_time=off_s)
        else:
            self.led.on()

    def close(self) -> None:
        self.led.close()


def open_status_led(settings: ButtonSettings) -> StatusLed | None:
    """The LED, or None when none is configured or this machine has no GPIO."""
    if settings.led_pin < 0:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PinFactoryFallback)
            return StatusLed(settings.led_pin, settings.led_pwm)
    except BadPinFactory as exc:
        _say_no_gpio_once("status LED", exc)
        return None
    except GPIOZeroError as exc:
        log.warning("status LED on GPIO%d unusable (%s); running without it", settings.led_pin, exc)
        return None


def press_mock_pin(button: ApplianceButton | None) -> None:
    """Press and release ``button`` through gpiozero's mock pin (the virtual room's
    ``press-button``); only a warning where the pins are real."""
    from gpiozero.pins.mock import MockPin

    pin = button.button.pin if button is not None else None
    if not isinstance(pin, MockPin):
        log.warning("press-button needs gpiozero mock pins (GPIOZERO_PIN_FACTORY=mock)")
        return
    pin.drive_low()
    pin.drive_high()
