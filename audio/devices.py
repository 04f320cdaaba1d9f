"""Sound devices as PortAudio sees them, and choosing one from the config.

A device is named in the config by a substring of its name or by its index, exactly as
``bargein devices`` prints them; an empty string means the system default.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

import pyaudio

from bargein.audio.alsa_quiet import open_pyaudio
from bargein.core.errors import AudioDeviceError

log = logging.getLogger(__name__)

Kind = Literal["input", "output"]


@dataclass(frozen=True)
class DeviceInfo:
    """One PortAudio device."""

    index: int
    name: str
    host_api: str
    max_input_channels: int
    max_output_channels: int
    default_rate_hz: int

    def channels(self, kind: Kind) -> int:
        """Maximum channels in the given direction."""
        return self.max_input_channels if kind == "input" else self.max_output_channels

    def describe(self) -> str:
        """Short human form for log lines: ``#3 'USB Audio (hw:1,0)' (ALSA)``."""
        return f"#{self.index} {self.name!r} ({self.host_api})"


_PA_BUSY = -9985  # paDeviceUnavailable: ALSA said EBUSY / the device vanished
_PA_INVALID_DEVICE = -9996
_PA_FORMAT_ERRORS = {-9997: "sample rate", -9998: "channel count", -9994: "sample format"}


def open_error(device: DeviceInfo, kind: Kind, exc: Exception) -> AudioDeviceError:
    """One clear line for a PortAudio error raised while opening ``device``."""
    code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
    key = "input_device" if kind == "input" else "output_device"
    if code == _PA_BUSY:
        why = "busy or unplugged (another program may hold it: `fuser -v /dev/snd/*`)"
    elif code == _PA_INVALID_DEVICE:
        why = "gone (unplugged?); waiting for it to come back"
    elif code in _PA_FORMAT_ERRORS:
        why = (
            f"refused the {_PA_FORMAT_ERRORS[code]}; check [audio] settings against "
            "`bargein devices`"
        )
    else:
        why = f"{exc}; check [audio] {key} against `bargein devices`"
    return AudioDeviceError(f"cannot open {kind} {device.describe()}: {why}")


def _info(pa: pyaudio.PyAudio, raw: dict) -> DeviceInfo:
    api = pa.get_host_api_info_by_index(int(raw["hostApi"]))["name"]
    return DeviceInfo(
        index=int(raw["index"]),
        name=str(raw["name"]),
        host_api=str(api),
        max_input_channels=int(raw["maxInputChannels"]),
        max_output_channels=int(raw["maxOutputChannels"]),
        default_rate_hz=int(round(float(raw["defaultSampleRate"]))),
    )


def list_devices(pa: pyaudio.PyAudio | None = None) -> list[DeviceInfo]:
    """Every device PortAudio enumerated, in index order."""
    own = pa is None
    pa = pa or open_pyaudio()
    try:
        return [_info(pa, pa.get_device_info_by_index(i)) for i in range(pa.get_device_count())]
    finally:
        if own:
            pa.terminate()


def default_index(kind: Kind, pa: pyaudio.PyAudio | None = None) -> int | None:
    """Index of the system default input or output device, or None when there is none."""
    own = pa is None
    pa = pa or open_pyaudio()
    try:
        getter = (
            pa.get_default_input_device_info
            if kind == "input"
            else pa.get_default_output_device_info
        )
        try:
            return int(getter()["index"])
        except OSError:
            return None
    finally:
        if own:
            pa.terminate()


def find_device(spec: str, kind: Kind, pa: pyaudio.PyAudio | None = None) -> DeviceInfo:
    """The device named by ``spec``: an index, a name substring, or "" for the default.

    An exact (case-insensitive) name match wins over a substring match; among several
    substring matches the lowest index wins. Raises :class:`AudioDeviceError` naming
    ``bargein devices`` when nothing with channels in that direction matches.
    """
    if kind not in ("input", "output"):
        raise ValueError(f"kind must be 'input' or 'output', not {kind!r}")
    own = pa is None
    pa = pa or open_pyaudio()
    try:
        devices = list_devices(pa)
        usable = [d for d in devices if d.channels(kind) > 0]
        key = "input_device" if kind == "input" else "output_device"
        spec = spec.strip()
        if not spec:
            index = default_index(kind, pa)
            match = next((d for d in usable if d.index == index), None)
            if match is None:
                raise AudioDeviceError(
                    f"no default {kind} device; set [audio] {key} to a name or index "
                    "from `bargein devices`"
                )
            return match
        if spec.isdigit():
            match = next((d for d in usable if d.index == int(spec)), None)
            if match is None:
                raise AudioDeviceError(
                    f"no {kind} device with index {spec}; run `bargein devices` to see "
                    f"the indices and set [audio] {key}"
                )
            return match
        wanted = spec.casefold()
        exact = [d for d in usable if d.name.casefold() == wanted]
        partial = [d for d in usable if wanted in d.name.casefold()]
        if exact or partial:
            return (exact or partial)[0]
        raise AudioDeviceError(
            f"no {kind} device matches {spec!r}; run `bargein devices` to see the names "
            f"and set [audio] {key}"
        )
    finally:
        if own:
            pa.terminate()
