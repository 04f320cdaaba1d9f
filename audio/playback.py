"""The playback ring buffer between speech synthesis and the sound card.

One producer thread (synthesis) calls :meth:`PlaybackRing.enqueue` and
:meth:`PlaybackRing.end_utterance`; one device thread calls
:meth:`PlaybackRing.read_into` once per period; any thread may call the controls
(``cut``, ``duck``, ``unduck``, ``pause``, ``resume``) and ``position``.

Indices are absolute sample counts since the ring was made (the slot is the index
modulo the capacity), so "written", "read" and utterance boundaries compare
directly and never wrap. Controls only post a request under the lock; the device
thread picks the requests up at the start of its next period, which is why a cut
is effective within one period plus the fade.

The device side keeps to the rules of a real-time audio callback: the samples are
copied into preallocated scratch arrays, gain and fade ramps are computed in place
(``np.multiply(..., out=...)``), and the lock is held only to swap a few integers.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import soxr

from bargein.core.errors import AudioDeviceError

log = logging.getLogger(__name__)

_INT16_SCALE = 32767.0
_RESUME_FADE_MS = 5.0
_HISTORY_S = 2.0
"""Periods remembered to map played samples to speaker times; bounds the usable latency."""
_MAX_UTTERANCES_KEPT = 32
_WRITE_BLOCK_S = 1.0
"""Largest piece copied into the ring per lock hold, so the device thread never waits long."""

# Device-side modes (only the device thread changes them).
_PLAY = 0
_PAUSING = 1
_PAUSED = 2
_CUTTING = 3


@dataclass(frozen=True)
class PlaybackPosition:
    """What has actually come out of the speaker, as of the last period.

    ``played_s`` counts samples of the current utterance that have been played
    (consumed minus the device output latency); ``t_seconds`` is the capture-clock
    time at which that point reached the speaker. ``played_samples`` is the same
    point as a sample index into the utterance at ``rate_hz``.
    """

    utterance_id: int | None
    played_s: float
    t_seconds: float
    queued_s: float
    playing: bool
    paused: bool
    finished: bool
    played_samples: int = 0
    rate_hz: int = 0
    cut: bool = False


class ReferenceTap(Protocol):
    """Receives every period the speaker plays (see :meth:`PlaybackRing.set_reference_tap`).

    ``write`` runs on the device thread inside :meth:`PlaybackRing.read_into`: it must
    copy into preallocated memory and return, without allocating, logging or waiting.
    """

    def write(self, period: np.ndarray, dac_time_s: float) -> None: ...


class _Utterance:
    """Where one utterance lies in the ring (absolute sample indices)."""

    __slots__ = ("utterance_id", "start_idx", "end_idx", "cancelled")

    def __init__(self, utterance_id: int, start_idx: int) -> None:
        self.utterance_id = utterance_id
        self.start_idx = start_idx
        self.end_idx: int | None = None
        self.cancelled = False


class PlaybackRing:
    """A preallocated mono ring at the device rate, with fade, duck, pause and position."""

    def __init__(self, rate_hz: int, period_frames: int, capacity_s: float = 120.0) -> None:
        if rate_hz <= 0 or period_frames <= 0 or capacity_s <= 0:
            raise ValueError(
                f"PlaybackRing needs positive rate_hz, period_frames and capacity_s, "
                f"got {rate_hz}, {period_frames}, {capacity_s}"
            )
        self.rate_hz = int(rate_hz)
        self.period_frames = int(period_frames)
        self._capacity = max(int(round(capacity_s * rate_hz)), 2 * period_frames)
        self._buf = np.zeros(self._capacity, dtype=np.float32)
        # np.zeros maps the pages lazily: without this write they would be committed one
        # by one as the write index first goes round, so resident memory would creep up
        # until the ring had held ``capacity_s`` of speech (minutes into the daemon's life).
        self._buf.fill(0.0)
        self._lock = threading.Lock()

        # Shared indices and requests (changed under _lock).
        self._write_idx = 0
        self._read_idx = 0
        self._open_utterance = False
        self._utterances: list[_Utterance] = []
        self._paused_flag = False
        self._output_latency_s = 0.0
        self._req_cut_fade = -1
        self._req_cut_drop_to = 0
        self._req_pause_fade = -1
        self._req_resume = False
        self._req_seek_idx = -1
        self._req_gain_target = -1.0
        self._req_gain_ramp = 0

        # Producer-only state.
        self._producer_utt: _Utterance | None = None
        self._resampler: soxr.ResampleStream | None = None
        self._resampler_rate = 0

        # Device-thread state.
        self._mode = _PLAY
        self._fade_gain = 1.0
        self._fade_step = 0.0
        self._duck_gain = 1.0
        self._duck_target = 1.0
        self._duck_step = 0.0
        self._cut_limit_idx = 0
        self._pause_after_cut = False
        self._resume_fade = max(1, round(_RESUME_FADE_MS * rate_hz / 1000.0))
        self._scratch = np.zeros(period_frames, dtype=np.float32)
        self._fade_ramp = np.zeros(period_frames, dtype=np.float32)
        self._duck_ramp = np.zeros(period_frames, dtype=np.float32)
        self._steps = np.arange(1, period_frames + 1, dtype=np.float32)
        history = max(16, math.ceil(_HISTORY_S * rate_hz / period_frames))
        self._hist_dac_s = np.zeros(history, dtype=np.float64)
        self._hist_start = np.zeros(history, dtype=np.int64)
        self._hist_n = np.zeros(history, dtype=np.int64)
        self._hist_out = np.zeros(history, dtype=np.int64)
        self._hist_count = 0

        self.underruns = 0
        """Periods where the current utterance was still open but the ring ran dry."""
        self._reference_tap: ReferenceTap | None = None

    # ------------------------------------------------------------------ producer side

    def enqueue(
        self, pcm: np.ndarray, rate_hz: int, utterance_id: int, timeout_s: float = 30.0
    ) -> None:
        """Append audio of an utterance (float32 in [-1, 1] or int16), resampled to the ring rate.

        A new ``utterance_id`` starts a new utterance (the previous one is ended).
        Audio of an utterance that was cut is dropped. If the ring is full this
        waits for the device to consume, up to ``timeout_s``.
        """
        samples = _as_float32(pcm)
        utt = self._producer_utterance(utterance_id)
        if utt.cancelled:
            return
        if rate_hz != self.rate_hz:
            if self._resampler is None or self._resampler_rate != rate_hz:
                if self._resampler is not None:
                    log.warning("utterance %d changed rate to %d Hz mid-way", utterance_id, rate_hz)
                self._resampler = soxr.ResampleStream(rate_hz, self.rate_hz, 1, dtype="float32")
                self._resampler_rate = rate_hz
            samples = self._resampler.resample_chunk(samples)
        self._write(samples, utt, timeout_s)

    def end_utterance(self, utterance_id: int) -> None:
        """No more audio will come for this utterance (lets ``finished`` become true)."""
        utt = self._producer_utt
        if utt is None or utt.utterance_id != utterance_id:
            log.debug("end_utterance(%d): not the utterance being enqueued, ignored", utterance_id)
            return
        self._finish_producer_utterance()

    def _producer_utterance(self, utterance_id: int) -> _Utterance:
        utt = self._producer_utt
        if utt is not None and utt.utterance_id == utterance_id:
            return utt
        if utt is not None:
            self._finish_producer_utterance()
        with self._lock:
            utt = _Utterance(utterance_id, self._write_idx)
            self._utterances.append(utt)
            del self._utterances[:-_MAX_UTTERANCES_KEPT]
            self._open_utterance = True
        self._producer_utt = utt
        log.debug("utterance %d starts at sample %d", utterance_id, utt.start_idx)
        return utt

    def _finish_producer_utterance(self) -> None:
        utt = self._producer_utt
        assert utt is not None
        if self._resampler is not None:
            tail = self._resampler.resample_chunk(np.zeros(0, dtype=np.float32), last=True)
            self._write(tail, utt, timeout_s=30.0)
        self._resampler = None
        self._resampler_rate = 0
        with self._lock:
            if utt.end_idx is None:
                utt.end_idx = self._write_idx
            self._open_utterance = False
        self._producer_utt = None

    def _write(self, samples: np.ndarray, utt: _Utterance, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        block = max(1, int(_WRITE_BLOCK_S * self.rate_hz))
        done = 0
        while done < len(samples):
            with self._lock:
                if utt.cancelled:
                    return
                free = self._capacity - (self._write_idx - self._read_idx)
                count = min(free, len(samples) - done, block)
                if count > 0:
                    slot = self._write_idx % self._capacity
                    first = min(count, self._capacity - slot)
                    self._buf[slot : slot + first] = samples[done : done + first]
                    if first < count:
                        self._buf[: count - first] = samples[done + first : done + count]
                    self._write_idx += count
                    done += count
                    continue
            if time.monotonic() > deadline:
                raise AudioDeviceError(
                    f"playback ring full for {timeout_s:.0f} s: the speaker stream is not "
                    "consuming audio; check the output device"
                )
            time.sleep(self.period_frames / self.rate_hz)

    # ------------------------------------------------------------------ controls

    def set_output_latency(self, seconds: float) -> None:
        """Device output latency, subtracted from consumed samples by :meth:`position`."""
        with self._lock:
            self._output_latency_s = max(0.0, float(seconds))

    def cut(self, fade_ms: float = 5.0) -> None:
        """Fade to zero within ``fade_ms``, then silence; every unplayed sample is dropped."""
        with self._lock:
            self._req_cut_fade = self._ms_to_samples(fade_ms)
            self._req_cut_drop_to = self._write_idx
            self._req_pause_fade = -1
            self._req_resume = False
            self._req_seek_idx = -1
            self._paused_flag = False
            for utt in self._utterances:
                if utt.end_idx is None or utt.end_idx > self._read_idx:
                    utt.cancelled = True
                    if utt.end_idx is None:
                        utt.end_idx = self._write_idx
            self._open_utterance = False

    def duck(self, db: float, ramp_ms: float = 10.0) -> None:
        """Lower the volume by ``db`` decibels (the sign is ignored) with a smooth ramp."""
        with self._lock:
            self._req_gain_target = 10.0 ** (-abs(db) / 20.0)
            self._req_gain_ramp = self._ms_to_samples(ramp_ms)

    def unduck(self, ramp_ms: float = 30.0) -> None:
        """Ramp back to full volume."""
        with self._lock:
            self._req_gain_target = 1.0
            self._req_gain_ramp = self._ms_to_samples(ramp_ms)

    def pause(self, fade_ms: float = 5.0) -> None:
        """Fade out and hold; the unplayed audio stays queued for :meth:`resume`."""
        with self._lock:
            self._req_pause_fade = self._ms_to_samples(fade_ms)
            self._req_resume = False
            self._req_seek_idx = -1
            self._paused_flag = True

    def resume(self, from_utterance_s: float | None = None) -> None:
        """Continue after a pause, optionally from an earlier point of the current utterance.

        ``from_utterance_s`` counts from the utterance's first sample (for example the
        start of the word that was playing). It is clamped to what is still in the ring.
        """
        with self._lock:
            self._req_pause_fade = -1
            self._req_resume = True
            self._paused_flag = False
            self._req_seek_idx = -1
            if from_utterance_s is not None:
                utt = self._current_utterance(self._heard_idx_locked()[0])
                if utt is not None and not utt.cancelled:
                    target = utt.start_idx + round(max(0.0, from_utterance_s) * self.rate_hz)
                    self._req_seek_idx = target

    def set_reference_tap(self, tap: ReferenceTap | None) -> None:
        """Hand every period played (after fade and duck) to ``tap``; ``None`` removes it.

        This is the echo reference: the exact samples the speaker played, with the
        capture-clock time each period reaches the speaker.
        """
        self._reference_tap = tap

    @property
    def reference_tap(self) -> ReferenceTap | None:
        """The tap every played period goes to (:meth:`set_reference_tap`)."""
        return self._reference_tap

    def _ms_to_samples(self, ms: float) -> int:
        return max(0, round(ms * self.rate_hz / 1000.0))

    # ------------------------------------------------------------------ device side

    def read_into(self, out: np.ndarray, dac_time_s: float) -> None:
        """Fill ``out`` (int16, at most ``period_frames``) with the next period of audio.

        ``dac_time_s`` is the capture-clock time at which ``out[0]`` reaches the speaker.
        Real-time path: no allocation of sample buffers, no logging, no waiting.
        """
        n_out = out.shape[0]
        with self._lock:
            write_idx = self._write_idx
            open_utterance = self._open_utterance
            cut_fade = self._req_cut_fade
            cut_drop_to = self._req_cut_drop_to
            pause_fade = self._req_pause_fade
            resume = self._req_resume
            seek_idx = self._req_seek_idx
            gain_target = self._req_gain_target
            gain_ramp = self._req_gain_ramp
            self._req_cut_fade = -1
            self._req_pause_fade = -1
            self._req_resume = False
            self._req_seek_idx = -1
            self._req_gain_target = -1.0
            if seek_idx >= 0:
                seek_idx = min(max(seek_idx, write_idx - self._capacity), write_idx)
            read_idx = self._read_idx

        if cut_fade >= 0:
            if self._mode == _PAUSED:
                read_idx = max(read_idx, cut_drop_to)
                self._mode = _PLAY
                self._fade_gain = 1.0
                self._fade_step = 0.0
                self._release_duck()
            else:
                self._mode = _CUTTING
                self._pause_after_cut = False
                self._cut_limit_idx = cut_drop_to
                self._fade_step = -1.0 / cut_fade if cut_fade > 0 else -2.0
        if pause_fade >= 0 and self._mode == _CUTTING:
            self._pause_after_cut = True
        elif pause_fade >= 0 and self._mode == _PLAY:
            self._mode = _PAUSING
            self._fade_step = -1.0 / pause_fade if pause_fade > 0 else -2.0
        if resume and self._mode == _CUTTING:
            self._pause_after_cut = False
        elif resume and self._mode in (_PAUSING, _PAUSED):
            self._mode = _PLAY
            self._fade_step = 1.0 / self._resume_fade
        if seek_idx >= 0 and self._mode == _PLAY:
            read_idx = seek_idx
            self._fade_gain = 0.0
            self._fade_step = 1.0 / self._resume_fade
        if gain_target >= 0.0:
            self._duck_target = gain_target
            if gain_ramp > 0:
                self._duck_step = (gain_target - self._duck_gain) / gain_ramp
            else:
                self._duck_gain = gain_target
                self._duck_step = 0.0

        start_idx = read_idx
        n = 0
        if self._mode != _PAUSED:
            limit = write_idx if self._mode != _CUTTING else min(write_idx, self._cut_limit_idx)
            n = min(n_out, max(0, limit - read_idx))
            fade_ends_at = -1
            if self._fade_step < 0.0:
                fade_ends_at = min(n_out, math.ceil(self._fade_gain / -self._fade_step - 1e-9))
                n = min(n, fade_ends_at)
            if n > 0:
                self._copy_from_ring(read_idx, n)
                self._apply_gains(n)
                np.multiply(self._scratch[:n], _INT16_SCALE, out=self._scratch[:n])
                np.rint(self._scratch[:n], out=self._scratch[:n])
                np.clip(self._scratch[:n], -32768.0, 32767.0, out=self._scratch[:n])
                np.copyto(out[:n], self._scratch[:n], casting="unsafe")
                read_idx += n
            else:
                self._advance_gains(n_out)
            if fade_ends_at >= 0 and (fade_ends_at < n_out or self._fade_gain <= 0.0):
                if self._mode == _CUTTING:
                    read_idx = max(read_idx, self._cut_limit_idx)
                    self._finish_cut()
                elif self._mode == _PAUSING:
                    self._mode = _PAUSED
                    self._fade_gain = 0.0
                    self._fade_step = 0.0
            elif self._mode == _CUTTING and n < n_out and read_idx >= self._cut_limit_idx:
                self._finish_cut()
            if n < n_out and self._mode == _PLAY and open_utterance and cut_fade < 0:
                self.underruns += 1
        if n < n_out:
            out[n:] = 0
        tap = self._reference_tap
        if tap is not None:
            tap.write(out, dac_time_s)

        with self._lock:
            self._read_idx = read_idx
            slot = self._hist_count % self._hist_n.shape[0]
            self._hist_dac_s[slot] = dac_time_s
            self._hist_start[slot] = start_idx
            self._hist_n[slot] = n
            self._hist_out[slot] = n_out
            self._hist_count += 1

    def _finish_cut(self) -> None:
        """The cut's fade is over: silence, ready for the next utterance (or held if paused)."""
        if self._pause_after_cut:
            self._mode, self._fade_gain = _PAUSED, 0.0
        else:
            self._mode, self._fade_gain = _PLAY, 1.0
        self._fade_step = 0.0
        self._pause_after_cut = False
        self._release_duck()

    def _release_duck(self) -> None:
        """A cut voice takes its duck with it: what plays next starts at full volume."""
        self._duck_gain = self._duck_target = 1.0
        self._duck_step = 0.0

    def _copy_from_ring(self, read_idx: int, n: int) -> None:
        slot = read_idx % self._capacity
        first = min(n, self._capacity - slot)
        np.copyto(self._scratch[:first], self._buf[slot : slot + first])
        if first < n:
            np.copyto(self._scratch[first:n], self._buf[: n - first])

    def _apply_gains(self, n: int) -> None:
        """Multiply the first ``n`` scratch samples by the fade and duck gains, advancing them."""
        scratch = self._scratch[:n]
        if self._fade_step != 0.0:
            ramp = self._fade_ramp[:n]
            np.multiply(self._steps[:n], self._fade_step, out=ramp)
            np.add(ramp, self._fade_gain, out=ramp)
            np.clip(ramp, 0.0, 1.0, out=ramp)
            np.multiply(scratch, ramp, out=scratch)
        elif self._fade_gain != 1.0:
            np.multiply(scratch, self._fade_gain, out=scratch)
        if self._duck_step != 0.0:
            ramp = self._duck_ramp[:n]
            np.multiply(self._steps[:n], self._duck_step, out=ramp)
            np.add(ramp, self._duck_gain, out=ramp)
            low = min(self._duck_gain, self._duck_target)
            high = max(self._duck_gain, self._duck_target)
            np.clip(ramp, low, high, out=ramp)
            np.multiply(scratch, ramp, out=scratch)
        elif self._duck_gain != 1.0:
            np.multiply(scratch, self._duck_gain, out=scratch)
        self._advance_gains(n)

    def _advance_gains(self, n: int) -> None:
        """Move the fade and duck gains ``n`` samples along their ramps."""
        if self._fade_step != 0.0:
            gain = self._fade_gain + self._fade_step * n
            if gain >= 1.0:
                self._fade_gain, self._fade_step = 1.0, 0.0
            else:
                self._fade_gain = max(0.0, gain)
        if self._duck_step != 0.0:
            gain = self._duck_gain + self._duck_step * n
            if (self._duck_step > 0.0 and gain >= self._duck_target) or (
                self._duck_step < 0.0 and gain <= self._duck_target
            ):
                self._duck_gain, self._duck_step = self._duck_target, 0.0
            else:
                self._duck_gain = gain

    # ------------------------------------------------------------------ position

    def position(self) -> PlaybackPosition:
        """What the speaker has played of the current utterance, as of the last period."""
        with self._lock:
            heard_idx, t_seconds, in_flight = self._heard_idx_locked()
            utt = self._current_utterance(heard_idx)
            queued = self._write_idx - self._read_idx
            paused = self._paused_flag
            if utt is None:
                return PlaybackPosition(
                    None, 0.0, t_seconds, queued / self.rate_hz, False, paused, False,
                    rate_hz=self.rate_hz,
                )
            played = min(max(0, heard_idx - utt.start_idx), _utterance_len(utt, self._write_idx))
            finished = not utt.cancelled and utt.end_idx is not None and heard_idx >= utt.end_idx
            playing = (
                not paused
                and not utt.cancelled
                and not finished
                and self._mode not in (_PAUSED,)
                and (queued > 0 or in_flight)
            )
            return PlaybackPosition(
                utterance_id=utt.utterance_id,
                played_s=played / self.rate_hz,
                t_seconds=t_seconds,
                queued_s=queued / self.rate_hz if not utt.cancelled else 0.0,
                playing=playing,
                paused=paused,
                finished=finished,
                played_samples=played,
                rate_hz=self.rate_hz,
                cut=utt.cancelled,
            )

    def _heard_idx_locked(self) -> tuple[int, float, bool]:
        """(index of the first sample not yet heard, its speaker time, audio still in flight)."""
        count = self._hist_count
        if count == 0:
            return self._read_idx, 0.0, False
        size = self._hist_n.shape[0]
        last = (count - 1) % size
        now_s = float(
            self._hist_dac_s[last] + self._hist_out[last] / self.rate_hz - self._output_latency_s
        )
        oldest_future = -1
        for back in range(min(count, size)):
            slot = (count - 1 - back) % size
            n = int(self._hist_n[slot])
            if n == 0:
                continue
            dac_s = float(self._hist_dac_s[slot])
            if dac_s > now_s:
                oldest_future = slot
                continue
            heard = min(n, round((now_s - dac_s) * self.rate_hz))
            idx = int(self._hist_start[slot]) + heard
            return idx, dac_s + heard / self.rate_hz, oldest_future >= 0 or heard < n
        if oldest_future >= 0:
            return int(self._hist_start[oldest_future]), now_s, True
        return self._read_idx, now_s, False

    def _current_utterance(self, heard_idx: int) -> _Utterance | None:
        """The latest utterance begun by ``heard_idx``, skipping past ones that are done."""
        utts = self._utterances
        if not utts:
            return None
        pos = 0
        for i, utt in enumerate(utts):
            if utt.start_idx < heard_idx or (utt.start_idx == heard_idx and i == 0):
                pos = i
        while pos + 1 < len(utts):
            utt = utts[pos]
            done = utt.cancelled or (utt.end_idx is not None and heard_idx >= utt.end_idx)
            if not done:
                break
            pos += 1
        return utts[pos]


def _utterance_len(utt: _Utterance, write_idx: int) -> int:
    return (utt.end_idx if utt.end_idx is not None else write_idx) - utt.start_idx


def _as_float32(pcm: np.ndarray) -> np.ndarray:
    pcm = np.asarray(pcm)
    if pcm.ndim != 1:
        raise ValueError(f"PlaybackRing takes mono audio of shape (samples,), got {pcm.shape}")
    if pcm.dtype == np.int16:
        return pcm.astype(np.float32) / 32768.0
    if pcm.dtype.kind == "f":
        return pcm.astype(np.float32, copy=False)
    raise ValueError(f"PlaybackRing takes float32 in [-1, 1] or int16 audio, got {pcm.dtype}")
