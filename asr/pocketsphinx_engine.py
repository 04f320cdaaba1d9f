"""A streaming pocketsphinx recognizer behind the same interface as the Vosk one.

pocketsphinx decodes "utterances": ``start_utt``, ``process_raw`` audio, ``end_utt``.
The recognizer opens one lazily at the first audio after a reset or an endpoint, and
closes it at :meth:`PocketsphinxRecognizer.finish`, at an endpoint, or (discarding
it) at :meth:`PocketsphinxRecognizer.reset`.

Word times while the utterance runs: ``Decoder.seg()`` does give them mid-utterance.
It backtraces the forward search's backpointer table from the best word exit at the
newest frame, so each partial carries the segmentation of exactly the hypothesis it
shows (``hyp()`` reads the same backtrace). Frames are 10 ms, counted from the
utterance's start; a :class:`~bargein.asr.stream_clock.StreamClock` maps them onto
the capture clock.

Confidence: only a finished utterance has a real one. ``end_utt`` runs the second
(flat-lexicon) pass and, with ``bestpath`` on (the default), ``seg()`` then walks the
word lattice: each word's ``prob`` is its lattice posterior, exp(alpha + beta - norm)
from a forward-backward pass with acoustic scores scaled by 1/``ascale``, summed over
the word's exits at the same start (alternate pronunciations included). That is the
Final's per-word ``conf``. Mid-utterance segments carry no posterior (pocketsphinx
reports a placeholder 1.0), so partial words have ``conf=1.0``, as Vosk's do.

Endpoints (Vosk has them built in; here they follow Kaldi's default rules): a Final
once the hypothesis has words and 0.5 s of decoded audio follow the last of them; an
utterance ended after 20 s whatever it holds; nothing-but-silence restarted after 5 s
(the n-gram search keeps every frame of an utterance, so these bound its memory).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

import numpy as np
import pocketsphinx

from bargein.asr.engine import REPEAT_PARTIAL_S, AsrEvent, check_frame
from bargein.asr.pocketsphinx_model import FIX, PocketsphinxModel, bundled_model
from bargein.asr.results import Final, Partial, Word
from bargein.asr.stream_clock import StreamClock
from bargein.core.errors import ModelMissingError
from bargein.core.frames import CAPTURE_RATE_HZ, AudioFrame

log = logging.getLogger(__name__)

ENDPOINT_SILENCE_S = 0.5
"""Decoded audio after the last word that ends an utterance (Kaldi's rule 2)."""
IDLE_RESTART_S = 5.0
"""An utterance with no word yet is restarted after this long (Kaldi's rule 1)."""
MAX_UTTERANCE_S = 20.0
"""An utterance is ended after this long whatever it holds (Kaldi's rule 5)."""

_MIN_UTTERANCE_FRAMES = 3
_ALTERNATE = re.compile(r"\(\d+\)$")


def is_filler(token: str) -> bool:
    """Silence, sentence markers and noise: ``<s>``, ``</s>``, ``<sil>``, ``[NOISE]``,
    ``++BREATH++``, ``+SPN+`` and the like never reach a transcript."""
    token = token.strip()
    return not token or token[0] in "<[+" or token[-1] in ">]+"


def spoken_word(token: str) -> str:
    """A dictionary token as the word reported: ``"word(2)"`` (an alternate
    pronunciation) is ``"word"``; keyphrases keep their inner spaces, not their padding."""
    return _ALTERNATE.sub("", token.strip())


def decoder_for(model: PocketsphinxModel, **search: str | float | None) -> pocketsphinx.Decoder:
    """A decoder on ``model``'s acoustic model; ``search`` overrides the n-gram search
    (``lm=None, kws=...`` for keyphrases, or another ``dict``).

    Raises :class:`ModelMissingError` when pocketsphinx refuses the files.
    """
    config: dict[str, str | float | None] = {
        "hmm": str(model.acoustic_dir), "lm": str(model.lm_path),
        "dict": str(model.dict_path), "samprate": CAPTURE_RATE_HZ, "loglevel": "ERROR",
    }
    config.update(search)
    try:
        return pocketsphinx.Decoder(**config)
    except (RuntimeError, ValueError) as err:  # pocketsphinx's ways of refusing a config
        raise ModelMissingError(
            f"pocketsphinx could not load {model.name} from {model.acoustic_dir.parent} "
            f"({err}); the files may be corrupt or not a pocketsphinx model; {FIX}"
        ) from err


class PocketsphinxRecognizer:
    """One pocketsphinx decoder fed 16 kHz mono int16 frames; not thread-safe.

    A drop-in for :class:`~bargein.asr.recognizer.StreamingRecognizer`: ``accept`` and
    ``finish`` return a :class:`Partial` whenever the hypothesis text changes and a
    :class:`Final` at each endpoint. With ``emit_finals=False`` (the command spotter)
    an endpoint's text is emitted as one more Partial instead, only when it differs
    from the last partial.

    ``decoder`` is the pocketsphinx decoder to drive (by default, one with ``model``'s
    n-gram search; the spotter passes a keyphrase one). ``model`` None means the
    en-us model bundled with pocketsphinx.
    """

    def __init__(
        self,
        model: PocketsphinxModel | None = None,
        *,
        decoder: pocketsphinx.Decoder | None = None,
        source: str = "asr",
        emit_finals: bool = True,
        start_t_seconds: float = 0.0,
    ) -> None:
        self.rate_hz = CAPTURE_RATE_HZ
        self._decoder = decoder if decoder is not None else decoder_for(model or bundled_model())
        self._frame_rate_hz = int(self._decoder.config["frate"])
        keyphrases = self._decoder.config["kws"] is not None or self._decoder.config[
            "keyphrase"] is not None
        self._bounded = not keyphrases  # keyphrase search keeps no per-frame history
        self._posteriors = not keyphrases and bool(self._decoder.config["bestpath"])
        self.source = source
        self._emit_finals = emit_finals
        self._clock = StreamClock(self.rate_hz)
        self._clock.restart_at(start_t_seconds)
        self._in_utterance = False
        self._utterance_start_s = 0.0
        self._last_text = ""
        self._last_words: tuple[Word, ...] = ()
        self._last_report_s = 0.0
        self._last_hypstr = ""
        self._last_end_frame = 0

    @property
    def t_seconds(self) -> float:
        """Capture-clock time just after the last sample fed."""
        return self._clock.end_t_seconds

    def accept(self, frame: AudioFrame) -> list[AsrEvent]:
        """Decode one frame; refuse anything but 16 kHz mono int16."""
        check_frame(frame)
        self._feed(frame.pcm, frame.t_seconds)
        events = self._partial()
        return events + self._endpoint()

    def finish(self) -> list[AsrEvent]:
        """Flush the utterance in progress (end of input or of a turn)."""
        if not self._in_utterance:
            self._last_text = ""
            return []
        frames = self._decoder.n_frames()
        self._decoder.end_utt()
        self._in_utterance = False
        # No word fits in a few frames, and pocketsphinx cannot build a lattice from one
        # (it logs an error trying): an utterance that short holds nothing.
        words = self._words(final=True) if frames >= _MIN_UTTERANCE_FRAMES else ()
        text = " ".join(w.text for w in words)
        last, self._last_text = self._last_text, ""
        if not text:
            return []
        if self._emit_finals:
            return [Final(text, words, self.t_seconds)]
        if text == last:
            return []
        return [Partial(text, words, self.t_seconds, self.source)]

    def absorb(self, pcm: np.ndarray) -> None:
        """Decode 16 kHz mono int16 audio that reports nothing: a warm-up.

        pocketsphinx normalises cepstra by a running mean that starts from the model's
        guess (``cmninit``) and adapts as audio is decoded; the first utterances after a
        fresh decoder are recognised worse until it has. Audio decoded here moves that
        mean to real speech (and pages the model in); what it recognised is dropped at
        the next :meth:`reset`.
        """
        self._feed(np.ascontiguousarray(pcm, dtype=np.int16), self._clock.end_t_seconds)

    def reset(self, t_seconds: float) -> None:
        """Drop the utterance in progress; the next audio fed starts at ``t_seconds``.

        Ending the utterance (its result unread) empties pocketsphinx's buffers, so
        the next utterance starts with the next audio, not leftovers.
        """
        if self._in_utterance:
            self._decoder.end_utt()
            self._in_utterance = False
        self._clock.restart_at(t_seconds)
        self._last_text = ""

    # -- inside -------------------------------------------------------------------------

    def _feed(self, pcm: np.ndarray, t_seconds: float) -> None:
        if not self._in_utterance:
            self._decoder.start_utt()
            self._in_utterance = True
            self._utterance_start_s = self._clock.fed_samples / self.rate_hz
            self._last_hypstr = ""
            self._last_end_frame = 0
        self._clock.feed(t_seconds, len(pcm))
        self._decoder.process_raw(pcm.tobytes(), False, False)

    def _segments(self) -> Iterable[pocketsphinx.Segment]:
        return self._decoder.seg() or ()

    def _words(self, final: bool) -> tuple[Word, ...]:
        """The current segmentation's words on the capture clock (fillers left out).

        ``conf`` is the segment's posterior for a finished utterance (see the module
        docstring), clipped to [0, 1]; 1.0 mid-utterance, where there is none, and for
        keyphrase detections (their score is a margin over a phone loop, no probability).
        """
        posterior = final and self._posteriors
        words = []
        for seg in self._segments():
            if is_filler(seg.word):
                continue
            start_s = self._utterance_start_s + seg.start_frame / self._frame_rate_hz
            end_s = self._utterance_start_s + (seg.end_frame + 1) / self._frame_rate_hz
            words.append(Word(
                text=spoken_word(seg.word),
                start_s=self._clock.to_capture(start_s),
                end_s=self._clock.to_capture(end_s),
                conf=min(max(float(seg.prob), 0.0), 1.0) if posterior else 1.0,
            ))
            self._last_end_frame = seg.end_frame + 1
        return tuple(words)

    def _partial(self) -> list[AsrEvent]:
        hyp = self._decoder.hyp()
        hypstr = hyp.hypstr if hyp is not None else ""
        if hypstr == self._last_hypstr:  # the cheap test; the segmentation only on change
            return self._repeat()
        self._last_hypstr = hypstr
        words = self._words(final=False)
        text = " ".join(w.text for w in words)
        if not text or text == self._last_text:
            return self._repeat()
        self._last_text, self._last_words = text, words
        self._last_report_s = self.t_seconds
        return [Partial(text, words, self.t_seconds, self.source)]

    def _repeat(self) -> list[AsrEvent]:
        """The unchanged hypothesis again, once ``REPEAT_PARTIAL_S`` more audio has held it
        (the full decoder only: a spotter's detection is reported once)."""
        if self.source != "asr" or not self._last_text or \
                self.t_seconds - self._last_report_s < REPEAT_PARTIAL_S - 1e-9:
            return []
        self._last_report_s = self.t_seconds
        return [Partial(self._last_text, self._last_words, self.t_seconds, self.source)]

    def _endpoint(self) -> list[AsrEvent]:
        """End the utterance when the rules in the module docstring say so."""
        frames = self._decoder.n_frames()
        if self._last_text:
            if frames - self._last_end_frame >= ENDPOINT_SILENCE_S * self._frame_rate_hz:
                self._words(final=False)  # the last word may have grown since its partial
                if frames - self._last_end_frame >= ENDPOINT_SILENCE_S * self._frame_rate_hz:
                    return self.finish()
        elif self._bounded and frames >= IDLE_RESTART_S * self._frame_rate_hz:
            self._decoder.end_utt()
            self._in_utterance = False
            return []
        if self._bounded and frames >= MAX_UTTERANCE_S * self._frame_rate_hz:
            return self.finish()
        return []
