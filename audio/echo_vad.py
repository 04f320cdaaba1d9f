"""Echo-aware voice detection, and the text guard against the appliance's own words.

:class:`EchoAwareVad` has the interface of :class:`VoiceDetector` and wraps one.
For each capture frame it takes the speaker reference for that frame
(:class:`EchoReference`, aligned by the measured delay) and:

* when the speaker has been silent for longer than the canceller's tail, hands
  the raw frame to the plain detector: exactly the plain VAD;
* otherwise runs the echo canceller and gives the detector the cleaned frame,
  with one extra condition: the cleaned frame must be louder, by
  ``speech_over_echo_db``, than the echo the canceller is expected to leave;
  a frame the echo explains is unvoiced without webrtcvad seeing it. That
  expectation is ``leak x reference envelope + noise floor``, where
  ``leak`` is the largest residual-to-reference ratio seen over the last
  ``_LEAK_WINDOW_S`` of frames that were not judged to be a person (so it follows
  the canceller as it converges, and a +6 dB coupling before convergence is just
  a large leak), and the envelope carries the reference's energy through the
  room's reverberation. There is no time window in which speech is ignored: a
  person louder than the echo the canceller leaves is heard from the first frame.
  A frame the echo explains that is still well above the noise floor (it would
  pass the gate if the speaker were silent) is *masked*: after a syllable that
  stood clear of the echo, the segmenter neither counts it nor lets it break the
  start (a soft voice's stop closure or syllable break hides under the echo);
* a double-talk detector opens the gate too: when the raw mic is well above noise
  but the reference explains it poorly (:func:`echo_correlation` below
  ``double_talk_correlation``), a person is talking over the echo. That needs no
  converged canceller and no known coupling, so a person who talks 100 ms into
  playback, or quietly before the canceller has converged, is heard; and the leak
  is not learned from such frames.

:func:`is_own_echo` is the text-level guard: a partial transcript that matches the
words the appliance is saying at that moment is its echo, not a person.
"""

from __future__ import annotations

import difflib
import logging
import math
import re
from collections import deque
from collections.abc import Sequence

import numpy as np
import webrtcvad

from bargein.audio.echo_canceller import EchoCanceller, PassThrough, make_canceller
from bargein.audio.echo_delay import DelayEstimator
from bargein.audio.echo_reference import EchoReference
from bargein.audio.settings import EchoSettings, VadSettings
from bargein.audio.vad import SpeechEvent, SpeechSegmenter, VoiceDetector
from bargein.core.frames import CAPTURE_RATE_HZ, AudioFrame

log = logging.getLogger(__name__)

_SILENT_DBFS = -65.0
"""Reference power below this counts as the speaker being silent."""
_INT16_POWER = 32768.0**2
_LEAK_WINDOW_S = 2.0
_LEAK_QUANTILE = 0.9
_LEAK_START = 10.0 ** (12.0 / 10.0)
"""Residual-to-reference power ratio assumed before any frame was seen (+12 dB)."""
_LEAK_MIN_FRAMES = 5
"""Echo-only frames needed before the measured leak replaces the cautious start value
(150 ms at 30 ms frames: short, so a person who talks at once is still heard)."""
_ENVELOPE_DECAY_DB_PER_S = 60.0
"""How fast the reference envelope falls: the room's reverberation, generously."""
_NOISE_RISE_DB_PER_S = 3.0
_ALIGN_HEADROOM_S = 0.008
"""The reference is taken this much earlier than the measured delay, so the
canceller's filter stays causal when the measurement is a little late."""
_DT_MAX_LAG_S = 0.1
"""Echo lags (after the aligned reference) searched by the double-talk detector."""
_DT_REF_ACTIVE_DB = 6.0
"""The double-talk detector judges only frames whose reference power is within this
of the envelope: in a reverberation tail a low correlation means nothing."""
_DT_ABOVE_NOISE_DB = 20.0
"""...and only frames this far above the noise floor (noise does not correlate either)."""
_CLIP_LEVEL = 32000
"""A mic sample this large (of 32767) is clipped or about to be."""
_CLIPPED_SAMPLES = 3
"""A frame with this many clipped samples, while the speaker plays loud, is the echo
overdriving the mic: its distortion is beyond any linear canceller, so the residual
says nothing about a person."""
_PRE_EMPHASIS = 0.9
_LEARN_CORRELATION = 0.6
"""The leak is learned only from frames the reference explains at least this well
(or from frames the double-talk detector does not judge)."""


def echo_correlation(mic_pcm: np.ndarray, ref_history: np.ndarray) -> float:
    """How well the reference explains the mic frame: the largest normalised
    cross-correlation between them over the echo lags ``ref_history`` covers.

    ``ref_history`` ends with the reference for the frame and starts ``max_lag``
    samples earlier (``len(ref_history) - len(mic_pcm)`` lags, 0 to ``max_lag``).
    The echo is the reference filtered by the room: its direct path correlates with
    the reference (0.7-0.95 in a 30 ms frame), whatever the coupling and whether or
    not the canceller has converged. A person talking over it is not in the
    reference, so the correlation falls by the share of the mic they take.
    """
    # Pre-emphasis: speech's strong low frequencies make two unrelated voices look
    # alike over 30 ms; its first difference correlates only where the waveform does.
    x = mic_pcm.astype(np.float64)
    mic = x[1:] - _PRE_EMPHASIS * x[:-1]
    r = ref_history.astype(np.float64)
    ref = r[1:] - _PRE_EMPHASIS * r[:-1]
    n = len(mic)
    max_lag = len(ref) - n
    mic_energy = float(np.dot(mic, mic))
    if max_lag < 0 or mic_energy <= 0.0:
        return 0.0
    size = len(ref)  # circular, but lags 0..max_lag never wrap
    xcorr = np.fft.irfft(np.fft.rfft(ref, size) * np.conj(np.fft.rfft(mic, size)), size)
    starts = np.arange(max_lag + 1)
    cumulative = np.concatenate(([0.0], np.cumsum(np.square(ref))))
    ref_energy = cumulative[starts + n] - cumulative[starts]
    valid = ref_energy > 0.0
    if not valid.any():
        return 0.0
    ncc = np.abs(xcorr[starts][valid]) / np.sqrt(mic_energy * ref_energy[valid])
    return float(min(1.0, ncc.max()))


class _GatedDetector(VoiceDetector):
    """A VoiceDetector that asks webrtcvad only while the echo gate is open.

    webrtcvad adapts its noise model to the frames it is shown, so frames the echo
    explains are not shown to it (they count as unvoiced). When playback is over it
    must judge the raw mic again, and its model of the cleaned signal does not fit
    the raw room: a stale model calls that noise speech, and so does a fresh one for
    its first 100-150 ms. So a second webrtcvad is shown the raw mic throughout
    playback (:meth:`shadow`) and takes over when playback ends, its model already
    fitted to the room.
    """

    gate_open = True
    echo_masked = False
    """The echo explains the frame, but it exceeds the noise floor by the gate's margin."""
    clear_of_echo = True
    """The frame's residual exceeds the echo expected in it by the gate's margin."""

    def __init__(self, settings: VadSettings | None = None) -> None:
        super().__init__(settings)
        self._raw_vad = webrtcvad.Vad(self.settings.aggressiveness)

    def is_speech(self, frame: AudioFrame) -> bool:
        return self.gate_open and super().is_speech(frame)

    def _evidence(self) -> tuple[bool, bool]:
        return self.echo_masked, self.clear_of_echo

    def shadow(self, raw: AudioFrame) -> None:
        """Show the raw mic frame to the webrtcvad that takes over after playback."""
        self._raw_vad.is_speech(raw.pcm.tobytes(), CAPTURE_RATE_HZ)

    def restart_webrtcvad(self) -> None:
        """Playback is over: judge with the webrtcvad that followed the raw mic."""
        self._vad, self._raw_vad = self._raw_vad, webrtcvad.Vad(self.settings.aggressiveness)


class EchoAwareVad:
    """``VoiceDetector``'s interface, with echo cancelling and an echo gate during playback.

    ``reference`` is the playback ring's tap; ``None`` (or ``canceller = "none"``,
    or ``device_aec = true``) leaves only the gate's energy test on the raw mic.
    The cleaned frame of the last ``process`` is :attr:`last_cleaned`;
    :meth:`filter` returns it for a frame (the pipeline's ``echo_filter``) and the
    ``process`` call that follows with that frame reuses the work.
    """

    def __init__(
        self,
        vad_settings: VadSettings | None = None,
        echo_settings: EchoSettings | None = None,
        reference: EchoReference | None = None,
        canceller: EchoCanceller | None = None,
    ) -> None:
        self.echo_settings = echo_settings or EchoSettings()
        self.detector = _GatedDetector(vad_settings)
        self.reference = reference
        self.canceller = canceller if canceller is not None else make_canceller(self.echo_settings)
        s = self.echo_settings
        if s.latency_ms >= 0.0:
            self.delay_s = s.latency_ms / 1000.0
        else:
            self.delay_s = reference.nominal_delay_s if reference is not None else 0.0
        cancelling = reference is not None and not isinstance(self.canceller, PassThrough)
        self.delay_estimator = (
            DelayEstimator(max_delay_s=s.max_delay_ms / 1000.0)
            if s.estimate_delay and cancelling
            else None
        )
        self._align_s = self.delay_s
        if self.delay_estimator is not None:
            self._align_s = max(0.0, self.delay_s - _ALIGN_HEADROOM_S)
        self._margin = 10.0 ** (s.speech_over_echo_db / 10.0)
        self._tail_s = s.tail_ms / 1000.0
        self._envelope = 0.0
        self._last_active_s = -math.inf
        self._leak_history: deque[float] = deque()
        self._reset_leak()
        self._noise = 0.0
        self._res_power = 0.0
        self._expected = 0.0
        self._was_playing = False
        self._cached: tuple[float, AudioFrame, AudioFrame] | None = None
        self._cached_ref: np.ndarray | None = None
        self._frame_s = 0.03
        self._dt_lags = round(_DT_MAX_LAG_S * CAPTURE_RATE_HZ)
        self._dt_threshold = s.double_talk_correlation
        self._ref_history = np.zeros(0, dtype=np.float32)
        self._correlation = 1.0
        self._mic_power = 0.0
        self._clipping = False
        self.last_cleaned: AudioFrame | None = None
        self.last_echo_explained = False
        """The last frame had voice-like audio that the echo explains (gate closed)."""
        self.last_double_talk = False
        """The last frame was judged double talk: the reference does not explain the mic."""

    # --------------------------------------------------------------- VoiceDetector API

    @property
    def speaking(self) -> bool:
        return self.detector.speaking

    @property
    def last_is_speech(self) -> bool:
        return self.detector.last_is_speech

    @property
    def segmenter(self) -> SpeechSegmenter:
        return self.detector.segmenter

    def reset_segment(self) -> None:
        """Forget the stretch of speech in progress: ongoing speech starts a new one."""
        self.detector.reset_segment()

    def process(self, frame: AudioFrame) -> SpeechEvent | None:
        """Classify one capture frame (raw or the output of :meth:`filter`) and segment."""
        cleaned, explained, playing = self._analyse(frame)
        self.last_echo_explained = explained
        if playing:  # the raw mic frame (``frame`` may be the filter's output)
            self.detector.shadow(self._cached[1] if self._cached is not None else frame)
        if self._was_playing and not playing:
            self.detector.restart_webrtcvad()
        self._was_playing = playing
        self.detector.gate_open = not explained
        self.detector.echo_masked = explained and self._res_power > self._margin * self._noise
        self.detector.clear_of_echo = not playing or self._res_power > self._margin * self._expected
        event = self.detector.process(cleaned)
        self._learn(frame, cleaned)
        return event

    # --------------------------------------------------------------- echo filter

    def filter(self, frame: AudioFrame) -> AudioFrame:
        """The frame with the speaker's echo cancelled (raw while the speaker is silent)."""
        return self._cancel(frame)[1]

    def _cancel(self, frame: AudioFrame) -> tuple[np.ndarray | None, AudioFrame]:
        cached = self._cached
        if cached is not None and cached[0] == frame.t_seconds and (
            cached[1] is frame or cached[2] is frame
        ):
            return self._cached_ref, cached[2]
        ref = None
        cleaned = frame
        if self.reference is not None:
            if self.delay_estimator is not None:
                self._update_delay(frame)
            ref = self.reference.reference_for(frame, self._align_s)
            ref_power = float(np.mean(np.square(ref, dtype=np.float64)))
            if ref_power > 10.0 ** (_SILENT_DBFS / 10.0):
                self._last_active_s = frame.end_s
            if frame.t_seconds - self._last_active_s < self._tail_s:
                cleaned = self.canceller.process(frame, ref)
                self._remember_reference(ref)
                self._mic_power = float(np.mean(np.square(frame.pcm, dtype=np.float64)))
                self._correlation = 1.0
                if self._dt_threshold > 0.0:
                    self._correlation = echo_correlation(frame.pcm, self._ref_history)
            else:
                ref = None
                self._ref_history = np.zeros(0, dtype=np.float32)
        self._cached = (frame.t_seconds, frame, cleaned)
        self._cached_ref = ref
        self.last_cleaned = cleaned
        return ref, cleaned

    def _remember_reference(self, ref: np.ndarray) -> None:
        """Keep the reference of the last ``_DT_MAX_LAG_S`` plus this frame."""
        keep = self._dt_lags + len(ref)
        history = self._ref_history
        if len(history) != keep:  # first frame of playback (or after a realignment)
            history = np.zeros(keep, dtype=np.float32)
        else:
            history[: -len(ref)] = history[len(ref) :]
        history[-len(ref) :] = ref
        self._ref_history = history

    def _update_delay(self, frame: AudioFrame) -> None:
        """Feed the delay estimator; realign the reference only when the filter needs it.

        The canceller's filter covers ``tail_ms`` after the reference, so a delay
        a little longer than assumed costs nothing. Realigning (which restarts the
        canceller and the leak estimate) happens only when the echo would arrive
        before its reference (the filter cannot cancel it) or in the second half of
        the filter (the room's reverberation would no longer fit).
        """
        assert self.delay_estimator is not None and self.reference is not None
        zero = self.reference.reference_for(frame, 0.0)
        measured = self.delay_estimator.add(frame.pcm, zero)
        if measured is None:
            return
        self.delay_s = measured
        if self._align_s <= measured <= self._align_s + self._tail_s / 2.0:
            return
        align_s = max(0.0, measured - _ALIGN_HEADROOM_S)
        log.info(
            "echo reference realigned from %.1f to %.1f ms", self._align_s * 1000, align_s * 1000
        )
        self._align_s = align_s
        self.canceller.reset()
        self._reset_leak()
        self._ref_history = np.zeros(0, dtype=np.float32)

    # --------------------------------------------------------------- the echo gate

    def _analyse(self, frame: AudioFrame) -> tuple[AudioFrame, bool, bool]:
        """(frame for the detector, whether the echo explains it, whether the speaker is on)."""
        ref, cleaned = self._cancel(frame)
        self._frame_s = frame.duration_s
        self._clipping = False
        if ref is None:
            self._envelope = 0.0
            self._ref_power = 0.0
            self._res_power = 0.0
            self._expected = 0.0
            self.last_double_talk = False
            return cleaned, False, False
        decay = 10.0 ** (-_ENVELOPE_DECAY_DB_PER_S * frame.duration_s / 10.0)
        self._ref_power = float(np.mean(np.square(ref, dtype=np.float64))) * _INT16_POWER
        self._envelope = max(self._ref_power, self._envelope * decay)
        self._res_power = float(np.mean(np.square(cleaned.pcm.astype(np.float64))))
        expected = self._leak() * self._envelope + self._noise
        self._expected = expected
        self._clipping = self._overdriven(frame)
        if self._clipping:
            self.last_double_talk = False
            return cleaned, True, True
        explained = self._res_power <= self._margin * expected
        self.last_double_talk = self._double_talk(expected)
        return cleaned, explained and not self.last_double_talk, True

    def _overdriven(self, frame: AudioFrame) -> bool:
        """The speaker, playing loud now, drives the mic into clipping (see _CLIPPED_SAMPLES)."""
        if not self._speaker_active():
            return False
        raw = self._cached[1] if self._cached is not None else frame
        clipped = int(np.count_nonzero(np.abs(raw.pcm.astype(np.int32)) >= _CLIP_LEVEL))
        return clipped >= _CLIPPED_SAMPLES

    def _double_talk(self, expected_power: float) -> bool:
        """The reference explains the mic poorly while the mic is well above noise.

        Once a frame is double talk, the next stays so while its correlation is below
        ``_LEARN_CORRELATION`` (a voice's weaker frames are still the voice). Before
        the leak is known, that alone decides, on frames where the speaker is
        playing now (in a reverberation tail a low correlation means nothing). Once
        it is known, the residual must also exceed the echo expected to remain (no
        margin): the tail is then covered by the envelope.
        """
        threshold = self._dt_threshold
        if self.last_double_talk:  # hold: a voice's weaker frames stay double talk
            threshold = max(threshold, _LEARN_CORRELATION)
        if self._dt_threshold <= 0.0 or self._correlation >= threshold:
            return False
        if not self._loud():
            return False
        if len(self._leak_history) < _LEAK_MIN_FRAMES:
            return self._speaker_active()
        return self._res_power > expected_power

    def _loud(self) -> bool:
        """The raw mic is well above the noise floor (noise does not correlate either)."""
        return self._mic_power >= self._noise * 10.0 ** (_DT_ABOVE_NOISE_DB / 10.0)

    def _speaker_active(self) -> bool:
        return self._ref_power >= self._envelope * 10.0 ** (-_DT_REF_ACTIVE_DB / 10.0)

    def _reset_leak(self) -> None:
        """Assume a large leak until a few echo-only frames have shown the real one."""
        self._leak_history.clear()

    def _leak(self) -> float:
        if len(self._leak_history) < _LEAK_MIN_FRAMES:
            return _LEAK_START
        if _LEAK_QUANTILE >= 1.0:
            return max(self._leak_history)
        return float(np.quantile(np.fromiter(self._leak_history, float), _LEAK_QUANTILE))

    def _learn(self, frame: AudioFrame, cleaned: AudioFrame) -> None:
        """Update the noise floor, and the echo leak from a frame not judged to be a person.

        The floor is a minimum, so a lower frame lowers it even during speech; it
        rises only on frames that are not speech.
        """
        self._frame_s = frame.duration_s
        playing = self._envelope > 0.0
        power = self._res_power if playing else float(np.mean(np.square(frame.pcm, dtype=np.float64)))
        person = self.detector.speaking or self.detector.last_is_speech
        self._track_noise(power, rise=not person)
        if person or not playing or self._clipping:
            return  # (a clipped frame's residual is distortion, not the canceller's leak)
        if self.last_double_talk or (self._correlation < _LEARN_CORRELATION and self._loud()):
            return  # the reference does not explain this frame: maybe a person
        excess = max(0.0, self._res_power - self._noise)
        self._leak_history.append(excess / self._envelope)
        keep = max(1, round(_LEAK_WINDOW_S / self._frame_s))
        while len(self._leak_history) > keep:
            self._leak_history.popleft()

    def _track_noise(self, power: float, rise: bool) -> None:
        if self._noise <= 0.0 or power < self._noise:
            self._noise = power
        elif rise:
            self._noise *= 10.0 ** (_NOISE_RISE_DB_PER_S * self._frame_s / 10.0)


# ------------------------------------------------------------------- text guard

_TOKEN = re.compile(r"[a-z0-9']+")
_MATCH_RATIO = 0.7
"""Two tokens match when difflib's similarity is at least this (Vosk mishears a little)."""
_MIN_MATCHED_SHARE = 0.8


def normalise_tokens(text: str) -> list[str]:
    """Lower-case word tokens without punctuation (apostrophes kept inside words)."""
    return [t.strip("'") for t in _TOKEN.findall(text.lower()) if t.strip("'")]


def _similar(a: str, b: str) -> bool:
    if a == b:
        return True
    if min(len(a), len(b)) <= 2:
        return False
    return difflib.SequenceMatcher(None, a, b).ratio() >= _MATCH_RATIO


def is_own_echo(partial_text: str, words_being_said: Sequence[str]) -> bool:
    """Whether ``partial_text`` is the appliance hearing the words it is saying.

    ``words_being_said`` are the words around the playback position (for example
    the last few heard and the next few). The partial is echo when at least 80 % of
    its normalised tokens match those words in order, each fuzzily (difflib ratio
    >= 0.7, exact for words of one or two letters), and the matched words lie in
    one stretch no longer than twice the partial. An empty partial is not echo. A
    one-word partial must match exactly: short commands ("wait", "stop") are too
    close to common words ("with", "shop") for a fuzzy match to be safe.
    """
    partial = normalise_tokens(partial_text)
    said = [t for word in words_being_said for t in normalise_tokens(word)]
    if not partial or not said:
        return False
    if len(partial) == 1:
        return partial[0] in said
    needed = math.ceil(_MIN_MATCHED_SHARE * len(partial))
    best = 0
    for start in range(len(said)):
        if not _similar(partial[0], said[start]) and len(partial) - 1 < needed:
            continue
        matched, pos, first, last = 0, start, None, None
        for token in partial:
            limit = min(len(said), pos + 3)
            for j in range(pos, limit):
                if _similar(token, said[j]):
                    matched += 1
                    first = j if first is None else first
                    last = j
                    pos = j + 1
                    break
        if first is not None and last is not None and last - first + 1 <= 2 * len(partial) + 1:
            best = max(best, matched)
        if best >= needed:
            return True
    return False
