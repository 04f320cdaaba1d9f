"""Real PyAudio → PortAudio → ALSA without a sound card.

An ``.asoundrc`` in a scratch HOME points ALSA's default PCM at the ``file`` plugin over
a ``null`` slave: capture reads a raw file (the plugin's ``infile``), playback writes
one. Code runs in a subprocess with that HOME, because ALSA and PortAudio cache their
configuration per process (PortAudio only re-reads it once every instance in the process
has terminated).

The ``null`` slave is not paced by a clock: streams run as fast as the CPU allows, so
a scenario reads the first seconds and stops. After the end of ``infile`` capture
delivers stale buffer contents, so only the samples of the file are compared.

Defined PCMs (each with a ``hint`` so PortAudio lists it):

- ``bargein_mic``: capture from ``capture.raw``
- ``bargein_speaker``: playback into ``playback.raw``
- ``default``: ``asym`` of the two
- extra capture PCMs added with :meth:`AlsaSandbox.write_asoundrc`
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
BARGEIN = Path(sys.executable).with_name("bargein")


def _capture_pcm(name: str, infile: Path, description: str) -> str:
    return textwrap.dedent(
        f"""\
        pcm.{name} {{
            type file
            slave.pcm "null"
            file "/dev/null"
            infile "{infile}"
            format "raw"
            hint {{ show on description "{description}" }}
        }}
        """
    )


class AlsaSandbox:
    """A scratch HOME whose ALSA config plays into and records from raw files."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.home = root / "home"
        self.home.mkdir(parents=True, exist_ok=True)
        self.capture_raw = root / "capture.raw"
        self.playback_raw = root / "playback.raw"
        self.capture_raw.write_bytes(b"")
        self.write_asoundrc()

    @property
    def asoundrc(self) -> Path:
        return self.home / ".asoundrc"

    def write_asoundrc(self, extra_capture: Mapping[str, Path] | None = None) -> None:
        """(Re)write the config; ``extra_capture`` adds named capture PCMs reading files."""
        parts = [
            _capture_pcm("bargein_mic", self.capture_raw, "bargein sandbox microphone"),
            textwrap.dedent(
                f"""\
                pcm.bargein_speaker {{
                    type file
                    slave.pcm "null"
                    file "{self.playback_raw}"
                    format "raw"
                    hint {{ show on description "bargein sandbox speaker" }}
                }}
                pcm.!default {{
                    type asym
                    playback.pcm "bargein_speaker"
                    capture.pcm "bargein_mic"
                    hint {{ show on description "bargein sandbox default" }}
                }}
                """
            ),
        ]
        for name, infile in (extra_capture or {}).items():
            parts.append(_capture_pcm(name, infile, f"bargein sandbox {name}"))
        tmp = self.asoundrc.with_suffix(".tmp")
        tmp.write_text("\n".join(parts))
        tmp.replace(self.asoundrc)

    def write_capture(self, interleaved: np.ndarray, path: Path | None = None) -> Path:
        """Write int16 interleaved samples for a capture PCM to read."""
        path = path or self.capture_raw
        np.ascontiguousarray(interleaved, dtype=np.int16).tofile(path)
        return path

    def played(self) -> np.ndarray:
        """Everything written to the speaker so far (int16, mono unless opened otherwise)."""
        if not self.playback_raw.exists():
            return np.zeros(0, dtype=np.int16)
        return np.fromfile(self.playback_raw, dtype=np.int16)

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ALSA_", "XDG_CONFIG"))}
        env["HOME"] = str(self.home)
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def run_python(self, code: str, timeout_s: float = 60.0) -> subprocess.CompletedProcess:
        """Run ``code`` in a fresh interpreter that sees only this sandbox's ALSA config."""
        return subprocess.run(
            [sys.executable, "-c", textwrap.dedent(code)],
            env=self.env(),
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )

    def run_bargein(self, *args: str, timeout_s: float = 60.0) -> subprocess.CompletedProcess:
        """Run the ``bargein`` console script against this sandbox."""
        return subprocess.run(
            [str(BARGEIN), *args],
            env=self.env(),
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )
