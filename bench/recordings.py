"""Recorded speech for the benchmark, read from installed packages at run time.

A scenario names a recording in one of three ways:

- ``"package:path/in/package.wav"``: a file inside an installed Python package,
  e.g. ``"moonshine_voice:assets/two_cities.wav"``;
- an absolute path, e.g. ``"/usr/share/sounds/alsa/Front_Center.wav"`` (Debian
  ``alsa-utils``);
- a path relative to the scenario file (the committed noise clips).

The recordings themselves are never copied into this repository: some state no
licence (see ``bench/scenarios/README.md``), so they are read where their package
put them. The package is located with :func:`importlib.util.find_spec`, which does
not import it: ``moonshine_voice``'s ``__init__`` loads a native library we do not
need just to read a WAV file.

Cut points (``from_s``/``to_s``) are taken on the file's own rate, then the cut is
mixed to mono and resampled to the capture rate, with a short fade at each cut edge
so a cut (or a looped television) does not click.
"""

from __future__ import annotations

import importlib.util
import re
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soxr

from bargein.core.errors import BargeinError
from bargein.core.frames import CAPTURE_RATE_HZ

# How to install what provides a recording, for the one-line error. A package not
# listed gets a generic hint.
PACKAGE_FIXES: dict[str, str] = {
    "moonshine_voice": "pip install moonshine-voice",
}
SYSTEM_FIXES: dict[Path, str] = {
    Path("/usr/share/sounds/alsa"): "apt install alsa-utils",
}
MIN_RATE_HZ = 4000
MAX_RATE_HZ = 384_000
CUT_FADE_MS = 5.0  # raised-cosine fade at a cut edge (cuts fall in pauses; this only stops clicks)

_PACKAGE_SPEC = re.compile(r"^(?P<package>[A-Za-z_][A-Za-z0-9_]*):(?P<path>[^:]+)$")


class RecordingError(BargeinError, FileNotFoundError):
    """A recording is missing (package not installed, file not there) or not a readable WAV."""


@dataclass(frozen=True)
class RecordingInfo:
    """What the WAV header says about a recording."""

    path: Path
    rate_hz: int
    channels: int
    frames: int

    @property
    def duration_s(self) -> float:
        return self.frames / self.rate_hz


def is_package_spec(spec: str) -> bool:
    """True for ``"package:path"`` (a file inside an installed Python package)."""
    return _PACKAGE_SPEC.match(spec) is not None


def install_hint(spec: str) -> str:
    """The command that installs what provides ``spec`` (or how to find it out)."""
    match = _PACKAGE_SPEC.match(spec)
    if match:
        package = match["package"]
        return PACKAGE_FIXES.get(package, f"install the distribution that provides the {package} package")
    path = Path(spec)
    for folder, fix in SYSTEM_FIXES.items():
        if path.is_relative_to(folder):
            return fix
    return "install the package that provides it, or fix the path"


def resolve_recording(spec: str, base_dir: Path | None = None) -> Path:
    """The absolute path of the recording ``spec`` names; it must exist.

    ``base_dir`` anchors a relative path (the scenario file's folder). Raises
    :class:`RecordingError` with a one-line message that names the fix.
    """
    match = _PACKAGE_SPEC.match(spec)
    if match:
        package, inner = match["package"], match["path"]
        found = importlib.util.find_spec(package)  # top-level name: locates without importing
        if found is None:
            raise RecordingError(f"{spec}: package {package} is not installed; {install_hint(spec)}")
        roots = list(found.submodule_search_locations or [])
        if not roots:
            raise RecordingError(f"{spec}: {package} is a module, not a package folder; "
                                 "name the package that holds the file")
        for root in roots:
            path = (Path(root) / inner).resolve()
            if not path.is_relative_to(Path(root).resolve()):
                raise RecordingError(f"{spec}: {inner} leaves the {package} package; "
                                     "give a path inside it")
            if path.is_file():
                return path
        raise RecordingError(f"{spec}: no {inner} in the installed {package} ({roots[0]}); check the "
                             f"path inside the package or reinstall it ({install_hint(spec)})")
    path = Path(spec)
    if not path.is_absolute():
        if base_dir is None:
            raise RecordingError(f"{spec}: a relative path needs the folder it is relative to")
        path = (base_dir / path).resolve()
    if not path.is_file():
        raise RecordingError(f"{path} not found; {install_hint(spec)}")
    return path


def probe_recording(path: Path) -> RecordingInfo:
    """Read the WAV header; only 16-bit PCM is accepted."""
    try:
        with wave.open(str(path), "rb") as wav:
            info = RecordingInfo(path, wav.getframerate(), wav.getnchannels(), wav.getnframes())
            width = wav.getsampwidth()
            whole = True
            if info.frames:  # the last frame the header promises is really there
                wav.setpos(info.frames - 1)
                whole = len(wav.readframes(1)) == width * info.channels
    except (wave.Error, EOFError, OSError) as exc:
        raise RecordingError(f"{path}: not a readable WAV file ({exc}); give a 16-bit PCM WAV") from exc
    if width != 2:
        raise RecordingError(f"{path}: {8 * width}-bit samples; give a 16-bit PCM WAV")
    if not MIN_RATE_HZ <= info.rate_hz <= MAX_RATE_HZ:
        raise RecordingError(f"{path}: its header says {info.rate_hz} Hz; a recording has "
                             f"{MIN_RATE_HZ} to {MAX_RATE_HZ} Hz, so the file is damaged")
    if info.frames == 0:
        raise RecordingError(f"{path}: holds no audio; give a recording with sound in it")
    if not whole:
        raise RecordingError(f"{path}: shorter than its header says (cut short?); give the "
                             "whole recording")
    return info


def read_recording(path: Path, from_s: float = 0.0, to_s: float | None = None) -> np.ndarray:
    """The cut ``[from_s, to_s)`` of a WAV file as mono float32 at the capture rate.

    ``to_s = None`` reads to the end. A cut that starts after 0 or ends before the
    end fades in/out over :data:`CUT_FADE_MS`; the whole file is returned untouched.
    """
    info = probe_recording(path)
    first = int(round(from_s * info.rate_hz))
    last = info.frames if to_s is None else min(info.frames, int(round(to_s * info.rate_hz)))
    if not 0 <= first < last:
        raise RecordingError(f"{path}: cut {from_s}..{to_s} s is empty or outside its "
                             f"{info.duration_s:.2f} s; pick cut points inside the recording")
    try:
        with wave.open(str(path), "rb") as wav:
            wav.setpos(first)
            raw = wav.readframes(last - first)
    except (wave.Error, EOFError, OSError) as exc:
        raise RecordingError(f"{path}: not a readable WAV file ({exc}); give a 16-bit PCM WAV") from exc
    frame_bytes = 2 * info.channels
    raw = raw[: len(raw) - len(raw) % frame_bytes]  # a file cut mid-sample: whole frames only
    if not raw:
        raise RecordingError(f"{path}: the header promises audio the file does not hold (cut "
                             "short?); give the whole recording")
    data = np.frombuffer(raw, dtype="<i2")
    pcm = data.reshape(-1, info.channels).mean(axis=1).astype(np.float32) / 32768.0
    fade = min(len(pcm) // 2, int(info.rate_hz * CUT_FADE_MS / 1000))
    if fade > 0:
        ramp = (0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, fade))).astype(np.float32)
        if first > 0:
            pcm[:fade] *= ramp
        if last < info.frames:
            pcm[-fade:] *= ramp[::-1]
    if info.rate_hz != CAPTURE_RATE_HZ:
        pcm = soxr.resample(pcm, info.rate_hz, CAPTURE_RATE_HZ).astype(np.float32, copy=False)
    return pcm
