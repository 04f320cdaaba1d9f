"""``bargein devices``: the sound devices PortAudio sees, with channels and default rates."""

from __future__ import annotations

import argparse

from bargein.audio.alsa_quiet import open_pyaudio
from bargein.audio.devices import DeviceInfo, default_index, list_devices


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("devices", help="list sound devices (names and indices for the config)")
    p.set_defaults(func=run)


def render_table(
    devices: list[DeviceInfo], default_input: int | None, default_output: int | None
) -> str:
    """The device table as printed, one device a line; defaults marked."""
    header = ("index", "in_ch", "out_ch", "rate_hz", "default", "host_api", "name")
    rows = []
    for d in devices:
        marks = [m for m, idx in (("in", default_input), ("out", default_output)) if idx == d.index]
        rows.append(
            (
                str(d.index),
                str(d.max_input_channels),
                str(d.max_output_channels),
                str(d.default_rate_hz),
                ",".join(marks) or "-",
                d.host_api,
                d.name,
            )
        )
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]
    lines = []
    for row in [header, *rows]:
        cells = [
            row[i].rjust(widths[i]) if i < 4 else row[i].ljust(widths[i])
            for i in range(len(widths))
        ]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    pa = open_pyaudio()
    try:
        devices = list_devices(pa)
        default_input = default_index("input", pa)
        default_output = default_index("output", pa)
    finally:
        pa.terminate()
    if not devices:
        print("no sound devices found (is the sound card connected and ALSA configured?)")
        return 1
    print(render_table(devices, default_input, default_output))
    print(
        "\nSet [audio] input_device / output_device to an index or a part of a name; "
        "empty = the default."
    )
    return 0
