"""The phrase judge: which phrase-pack phrase a short utterance was, if any, and how sure.

When a person talks over the appliance, the barge-in machine must tell a backchannel
("okay", "uh-huh") from a command ("stop", "never mind", "no, I said Tuesday") from
noise. pocketsphinx's open-vocabulary decode turns short utterances into garbage
("stop" -> "if top", "be quiet" -> "the client"), and the keyphrase spotter knows ten
commands. The judge is a second, constrained ear: at the end of an utterance of at
most ``max_s`` (2 s) it decodes the utterance's audio once more, this time against the
phrase pack, and says which phrase it heard (or none) with a calibrated score.

How it decodes (the design, and why; figures below):

1. **Trim** the utterance to its loud part: from the first to the last 10 ms frame
   within 15 dB of the loudest, plus 150 ms either side. The VAD's pre-roll and
   hangover hold the appliance's own echo residue and room noise, which a decoder
   turns into extra words ("cancel do", "are will you"); with trimming 72 % of
   the phrases heard under echo were decoded exactly, without it 24 %.
2. **Decode with a phrase-biased language model**: an n-gram model built at start
   from the phrase pack (each phrase a sentence, counted 20 times) and the 500 most
   probable words of the bundled en-us model (``GARBAGE_WORDS``, each counted once),
   over a dictionary of just those words. The phrases are likely, but anything else
   said is explained by ordinary words rather than forced onto a phrase. The n-gram
   search with its lattice also gives every word a posterior.
3. **Read the verdict**: the longest run of whole phrases (up to three: "okay stop",
   "no no") that opens the hypothesis. An utterance that goes on after its opening
   phrase ("never mind where there" for "never mind the weather") still names it,
   so a prefix ("no", "i said", "can you") is heard as one; the extra words lower
   the score.
4. **Score it**: ``conf`` is a logistic function of the phrase's word posteriors
   (least and mean), whether the phrase is the whole hypothesis, how many words
   follow it and the best posterior among them, and the share of the hypothesis it
   covers (``WEIGHTS``). It was fitted to say how likely the phrase's *category*
   is right (backchannel, cancellation, correction, clarification, redirect
   prefix, resume: what the classifier makes of the text) on the calibration
   speech below, where about one verdict in ten came from a sound that held no
   phrase. There, verdicts scored 0.7-0.9 were right about 80 % of the time and
   those above 0.9 about 95 %; on the held-out voices the same bands were right
   about 60 % and 90 % of the time (the score is optimistic for voices unlike the
   calibration ones). A verdict at ``conf >= ACCEPT_CONF`` (0.85) decides on its own;
   one from ``REPORT_CONF`` (0.5) up is reported too, and the barge-in machine takes it
   only where the open decode heard the same sounds (``bargein.asr.pronunciation``:
   "top" for "stop", "dwight" for "quiet"); below it the Final's text is "".

What was measured first, and dropped (``bargein perf --only phrase_judge`` and the
calibration speech: espeak-ng en-us, en-us+f2, en-gb-x-rp for fitting; en-us+m3,
en-029, en-us+f4, en-gb-scotland held out; each phrase clean and mixed at -20 dBFS
with echo residue at -45..-35 dBFS and room noise at -60 dBFS):

- Utterance verification against a phone loop (a JSGF grammar of the phrases,
  ``allphone`` search on the same audio, per-frame log-likelihood ratio): the
  grammar covers whatever it cannot match with silence, and the context-independent
  phone loop scores worse than a triphone phrase plus silence on speech that is not
  a phrase; at 5 % false accepts it kept 9 % of in-pack phrases. A triphone phone
  loop (``allphone_ci`` off) decodes at 2.4x real time.
- A grammar whose garbage alternative is a phone loop or a loop of common words
  (JSGF ``( w1 | w2 | ... )+``): pocketsphinx's FSG search grows too fast with a
  word loop: 0.5x real time for 20 words, several times real time for 40 phones.
- The same biased n-gram decode without trimming: 50 % of phrases decoded exactly
  (clean and mixed), against 72 % with it.

Figures at ``ACCEPT_CONF`` 0.85 (``bargein perf --only phrase_judge``; "cal" the
three calibration voices, "held-out" the four others; in-pack: the 139 phrases in
each voice, clean and mixed; a phrase is right when named exactly, its category
when the classifier gives the named text the phrase's category):

==========================================  =====  ========
                                            cal    held-out
==========================================  =====  ========
in-pack phrase named exactly                0.63   0.41
in-pack category right                      0.66   0.44
  clean                                     0.72   0.50
  mixed (echo residue, room noise)          0.60   0.39
  backchannel                               0.53   0.43
  cancellation                              0.72   0.45
  correction                                0.67   0.32
  clarification                             0.69   0.47
  redirect prefix                           0.68   0.43
  resume                                    0.87   0.67
in-pack accepted with a wrong category      0.025  0.051
prefixed sentence, category right           0.14   0.13
prefixed sentence, wrong category           0.04   0.07
false accepts: short sentences (1-3 words)  0.083  0.069
false accepts: long sentences               0.0    0.0
false accepts: recorded speech              0.016  0.016
false accepts: noises (clean and mixed)     0.068  0.091
false accepts: echo residue alone           0.0    0.0
false accepts: television speech            0.0    0.0
CPU s per s of audio judged (finish)        0.075  0.071
==========================================  =====  ========

The held-out voices are harder for the en-us acoustic model: whatever the score,
the Caribbean and Scottish voices' phrases are named exactly 31 % and 40 % of the
time, en-us+f4's and en-us+m3's 55 % and 68 %, the calibration voices' 66-79 %.
The false accepts are plausible confusions ("coffee" -> "got it", "in the garden"
-> "pardon") and noises whose trimmed span is mostly echo residue (the appliance's
own words decoded: "actually"). A prefixed sentence ("never mind the weather") is
named by its opening phrase with the right category about half the time (0.50 /
0.44 whatever the score), but the words after it keep most of those scores under
the threshold.

CPU: the decode costs about 0.07 s per second of audio judged here (the last
row; a Raspberry Pi 4 core is about 4x slower), all of it at
the utterance's end, before the main recognizer's Final (the worker runs spotter,
judge, main in that order); ``accept`` only copies the frame. Building the judge
(dictionary and language model) takes about 0.2 s.
"""

from __future__ import annotations

import functools
import io
import logging
import math
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pocketsphinx
from pocketsphinx.lm import ArpaBoLM

from bargein.asr.engine import AsrEvent, check_frame
from bargein.asr.pocketsphinx_engine import decoder_for, is_filler, spoken_word
from bargein.asr.pocketsphinx_model import PocketsphinxModel, bundled_model
from bargein.asr.pocketsphinx_spotter import dictionary_entries
from bargein.asr.results import Final, Partial, Word
from bargein.asr.stream_clock import StreamClock
from bargein.core.frames import CAPTURE_RATE_HZ, AudioFrame

log = logging.getLogger(__name__)

SOURCE = "phrases"
MAX_S = 2.0
"""Longest utterance judged: longer ones are not short commands (their Final says "")."""
ACCEPT_CONF = 0.85
"""A verdict this sure decides on its own (see the module docstring); the barge-in
machine's ``judge_accept_conf`` defaults to it."""
INTERIM_FROM_S = 0.3
"""The judge first decodes an utterance still in progress once this much of it is in."""
INTERIM_EVERY_S = 0.25
"""Then again every this much audio, until ``max_s``: "cancel" is judged while "that"
is still being said, rather than after the VAD's hangover."""
REPORT_CONF = 0.5
"""Verdicts from this score up are reported, scored, for the machine to weigh against
the open decode (``judge_agree_conf``); below it the Final says ""."""
WEIGHTS = (1.582, 1.123, 0.715, 0.669, -0.371, -0.717, 1.041)
"""Logistic weights: bias, then one per :func:`verdict_features` entry (fitted by
``python -m bargein.bench.probes.phrase_judge --calibrate``)."""
PHRASE_COUNT = 20
"""Times each phrase is counted in the language model's text (each garbage word once)."""
MAX_RUN_PHRASES = 3
"""Phrases a verdict may string together ("okay stop", "yes go on")."""
TRIM_BELOW_DB = 15.0
"""Frames this far below the loudest 10 ms frame of an utterance are not decoded..."""
TRIM_PAD_S = 0.15
"""...except this much either side of the loud part."""
WORD_INSERTION = 0.1
"""pocketsphinx's word insertion penalty (``wip``, default 0.65): fewer stray words."""
DITHER_LSB = 2.0
"""Noise (standard deviation, in int16 steps: about -84 dBFS) added before decoding:
pocketsphinx's features go wrong on digital silence (espeak-ng's "stop" padded with
zeros was decoded "still"; with this noise, "stop")."""
EXTRA_PRONUNCIATIONS = {"shush": "SH AH SH"}
"""Phrase words the CMU dictionary lacks."""

GARBAGE_WORDS = """
the to i and a of you that in it is for but know was have they on like be not it's so
with are one this yeah he just my we as what if do at or don't about i'm all think
there would from two me people can your get out no that's said up more when an had
right well hundred really has thousand will oh because how time them she been by some
who their his were now then go good mean than going her see could much other you're
five got three even too only want did him something where very here way which nine lot
make say first years back any new our also over into ah i've they're year thing still
four should work things those take us most didn't why these never twenty there's need
after being can't okay little down kind point actually many day off come same six
before last he's look sure eight money doing pretty around seven always guess life
dollars long yes better probably every we're world does anything maybe school great
find doesn't though made big feel through thirty cause game old put use different stuff
ten home may might used am thought while best since man love own getting another fifty
few bad give part percent live family i'll tell ever gonna again went someone help i'd
keep everything try play hard done enough trying next end away its place far forty talk
ninety both real says country kids times least person bit such million high exactly
what's isn't told nothing friends believe let call having able show else watch job ago
nice start once whole house government problem looking change children each without
days found true saying between less week she's seen already wouldn't makes guy course
care name second came sixty pay wasn't talking until making seems eighty thanks either
idea seventy read yet definitely team working city mr wanted left remember huh fact
night business months state number against called half public understand everyone
whatever er almost run friend case took sometimes today must sorry god important wrong
started heard haven't couple minutes hi set reason question system together car games
women war hope states hey stop happened thank guys coming sort small won't fun hear
york under let's quite during agree free wow buy close past food top hours anyone
you've saw side news kinda myself cool mind thinking company deal whether comes happen
interesting looks gets later taking young parents phone ask stay matter please
we've united especially power health area american rather move open usually goes line
fifteen sense using men wait story means couldn't however somebody fine leave become
playing lost level water living full often t head funny yourself instead group college
zero happy president easy ones others knew post month seem hit supposed age needs room
experience v asked computer support turn outside issue 'em eat given movie likely hand
aren't white possible face market
""".split()
"""The 500 most probable words of pocketsphinx's bundled en-us language model (less one
profanity): what the judge's decoder may hear instead of a phrase (phrase words among
them are left out)."""

_FRAME_SAMPLES = CAPTURE_RATE_HZ // 100


@dataclass(frozen=True)
class Verdict:
    """What the judge made of one utterance (before the acceptance threshold).

    ``text``: the phrase (or run of phrases) that opens the hypothesis, "" if none;
    ``words``: its words, times in seconds from the start of the audio judged;
    ``conf``: the calibrated score (0.0 without a phrase); ``hypothesis``: everything
    decoded; ``features``: what ``conf`` was computed from (:func:`verdict_features`).
    """

    text: str
    words: tuple[Word, ...]
    conf: float
    hypothesis: str
    features: tuple[float, ...] = ()

    @property
    def accepted(self) -> bool:
        return bool(self.text) and self.conf >= ACCEPT_CONF


def trim_to_loud(pcm: np.ndarray, below_db: float = TRIM_BELOW_DB,
                 pad_s: float = TRIM_PAD_S) -> tuple[int, int]:
    """The sample span of ``pcm`` (16 kHz int16) worth decoding: from the first to the
    last 10 ms frame within ``below_db`` of the loudest, ``pad_s`` wider either side."""
    frames = len(pcm) // _FRAME_SAMPLES
    if frames == 0:
        return 0, len(pcm)
    power = np.mean(np.square(pcm[: frames * _FRAME_SAMPLES].astype(np.float32))
                    .reshape(frames, _FRAME_SAMPLES), axis=1)
    level_db = 10.0 * np.log10(power + 1.0)
    loud = np.flatnonzero(level_db >= level_db.max() - below_db)
    pad = int(pad_s * CAPTURE_RATE_HZ)
    return (max(0, int(loud[0]) * _FRAME_SAMPLES - pad),
            min(len(pcm), (int(loud[-1]) + 1) * _FRAME_SAMPLES + pad))


@functools.lru_cache(maxsize=1)
def _dither_noise() -> np.ndarray:
    noise = np.random.default_rng(0).normal(0.0, DITHER_LSB, int(MAX_S * CAPTURE_RATE_HZ))
    noise.setflags(write=False)
    return noise


def _dithered(pcm: np.ndarray) -> np.ndarray:
    """``pcm`` plus the same fixed low-level noise every time (:data:`DITHER_LSB`)."""
    noise = _dither_noise()
    noise = np.resize(noise, len(pcm)) if len(pcm) > len(noise) else noise[:len(pcm)]
    return np.clip(np.round(pcm + noise), -32768, 32767).astype(np.int16)


def leading_run(tokens: Sequence[str], phrases: frozenset[str],
                max_phrases: int = MAX_RUN_PHRASES) -> int:
    """How many of ``tokens`` the longest run of whole ``phrases`` opening them covers."""
    best, ends = 0, {0}
    for _ in range(max_phrases):
        ends = {j for i in ends for j in range(i + 1, len(tokens) + 1)
                if " ".join(tokens[i:j]) in phrases}
        if not ends:
            break
        best = max(best, *ends)
    return best


def verdict_features(phrase_probs: Sequence[float], extra_probs: Sequence[float]
                     ) -> tuple[float, ...]:
    """What ``conf`` is computed from: log of the least and of the mean posterior of the
    phrase's words, whether nothing follows the phrase, how many words follow (up to
    3), the best posterior among them, and the share of the words the phrase covers."""
    probs = np.asarray(phrase_probs, dtype=np.float64)
    extra = len(extra_probs)
    return (math.log(float(probs.min()) + 1e-4), math.log(float(probs.mean()) + 1e-4),
            float(extra == 0), float(min(extra, 3)), float(max(extra_probs, default=0.0)),
            len(probs) / (len(probs) + extra))


def calibrated(features: Sequence[float], weights: Sequence[float] = WEIGHTS) -> float:
    """The logistic score of ``features`` under ``weights`` (bias first), in [0, 1]."""
    z = weights[0] + sum(w * f for w, f in zip(weights[1:], features, strict=True))
    return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))


class PhraseJudge:
    """A :class:`~bargein.asr.engine.Recognizer` (``source="phrases"``) that buffers an
    utterance and judges it at :meth:`finish`; not thread-safe.

    ``finish`` returns one :class:`Final` per utterance (none when no audio came since
    the last reset or finish): its text is the phrase judged, scored at least
    ``report_conf``, or "" (no phrase that sure, or the utterance was longer than
    ``max_s``, then not decoded at all); its words
    carry capture-clock times and ``conf``, the judge's calibrated score, the same for
    every word of the phrase.
    """

    source = SOURCE

    def __init__(self, decoder: pocketsphinx.Decoder, phrases: Sequence[str], *,
                 max_s: float = MAX_S, report_conf: float = REPORT_CONF,
                 weights: Sequence[float] = WEIGHTS, start_t_seconds: float = 0.0,
                 interim: bool = True) -> None:
        self._decoder = decoder
        self._frame_rate_hz = int(decoder.config["frate"])
        self.phrases = frozenset(phrases)
        self.max_s = max_s
        self.report_conf = report_conf
        self.weights = tuple(weights)
        self.interim = interim
        self._clock = StreamClock(CAPTURE_RATE_HZ)
        self._clock.restart_at(start_t_seconds)
        self._chunks: list[np.ndarray] = []
        self._samples = 0
        self._start_fed_s = 0.0
        self._next_interim = int(INTERIM_FROM_S * CAPTURE_RATE_HZ)
        self.decoded_s = 0.0
        """Seconds of audio the last call decoded (what it cost: 0 for most frames)."""
        self.last_verdict: Verdict | None = None
        """The last utterance's verdict, threshold not applied (None if not decoded)."""

    @property
    def t_seconds(self) -> float:
        """Capture-clock time just after the last sample fed."""
        return self._clock.end_t_seconds

    @property
    def pending_s(self) -> float:
        """Seconds of audio the next :meth:`finish` will decode (0 past ``max_s``)."""
        seconds = self._samples / CAPTURE_RATE_HZ
        return seconds if seconds <= self.max_s else 0.0

    def accept(self, frame: AudioFrame) -> list[AsrEvent]:
        """Buffer one frame (up to ``max_s`` of them). With ``interim``, every
        ``INTERIM_EVERY_S`` from ``INTERIM_FROM_S`` on, judge the utterance so far: a
        Partial with the phrase when it scores ``report_conf`` or more."""
        check_frame(frame)
        self.decoded_s = 0.0
        if self._samples == 0:
            self._start_fed_s = self._clock.fed_samples / CAPTURE_RATE_HZ
        self._clock.feed(frame.t_seconds, len(frame.pcm))
        self._samples += len(frame.pcm)
        if self._samples > self.max_s * CAPTURE_RATE_HZ:
            self._chunks.clear()  # too long to be a short command: keep nothing
            return []
        self._chunks.append(frame.pcm.copy())
        if not self.interim or self._samples < self._next_interim:
            return []
        self._next_interim = self._samples + int(INTERIM_EVERY_S * CAPTURE_RATE_HZ)
        pcm = np.concatenate(self._chunks)
        self.decoded_s = len(pcm) / CAPTURE_RATE_HZ
        verdict = self.judge(pcm)
        if not verdict.text or verdict.conf < self.report_conf:
            return []
        return [Partial(verdict.text, self._capture_words(verdict), self.t_seconds, SOURCE)]

    def finish(self) -> list[AsrEvent]:
        """Judge the buffered utterance: one Final (see the class docstring)."""
        if self._samples == 0:
            return []
        too_long = self._samples > self.max_s * CAPTURE_RATE_HZ
        pcm = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
        self._chunks, self._samples = [], 0
        self._next_interim = int(INTERIM_FROM_S * CAPTURE_RATE_HZ)
        self.last_verdict = None
        self.decoded_s = 0.0
        if too_long:
            return [Final("", (), self.t_seconds, SOURCE)]
        self.decoded_s = len(pcm) / CAPTURE_RATE_HZ
        verdict = self.judge(pcm)
        self.last_verdict = verdict
        if not verdict.text or verdict.conf < self.report_conf:
            return [Final("", (), self.t_seconds, SOURCE)]
        return [Final(verdict.text, self._capture_words(verdict), self.t_seconds, SOURCE)]

    def _capture_words(self, verdict: Verdict) -> tuple[Word, ...]:
        """The verdict's words on the capture clock (they are timed from the utterance's start)."""
        start = self._start_fed_s
        return tuple(Word(w.text, self._clock.to_capture(start + w.start_s),
                          self._clock.to_capture(start + w.end_s), w.conf)
                     for w in verdict.words)

    def reset(self, t_seconds: float) -> None:
        """Drop the buffered utterance; the next audio fed starts at ``t_seconds``."""
        self._chunks, self._samples = [], 0
        self._next_interim = int(INTERIM_FROM_S * CAPTURE_RATE_HZ)
        self.decoded_s = 0.0
        self._clock.restart_at(t_seconds)

    def absorb(self, pcm: np.ndarray) -> None:
        """Decode 16 kHz mono int16 audio, ``max_s`` at a time, reporting nothing: a
        warm-up (it pages the model in; each utterance is normalised on its own)."""
        pcm = np.ascontiguousarray(pcm, dtype=np.int16)
        step = int(self.max_s * CAPTURE_RATE_HZ)
        for start in range(0, len(pcm), step):
            self.judge(pcm[start:start + step])

    def judge(self, pcm: np.ndarray) -> Verdict:
        """Decode one utterance (16 kHz mono int16) and judge it, threshold not applied;
        word times in seconds from the start of ``pcm``."""
        first, last = trim_to_loud(pcm)
        if last - first < 3 * _FRAME_SAMPLES:
            return Verdict("", (), 0.0, "")
        decoder = self._decoder
        # The decoder's feature computation carries state over from the last utterance even
        # with full_utt; rebuild it (40 us) so a verdict depends on this audio only (the
        # interim verdicts would otherwise shift the final one).
        decoder.reinit_feat()
        decoder.start_utt()
        # full_utt: the cepstral mean comes from this utterance alone, so a verdict
        # does not depend on what was judged before it.
        decoder.process_raw(_dithered(pcm[first:last]).tobytes(), False, True)
        decoder.end_utt()
        offset_s = first / CAPTURE_RATE_HZ
        words = [Word(spoken_word(seg.word),
                      offset_s + seg.start_frame / self._frame_rate_hz,
                      offset_s + (seg.end_frame + 1) / self._frame_rate_hz,
                      min(max(float(seg.prob), 0.0), 1.0))
                 for seg in (decoder.seg() or ()) if not is_filler(seg.word)]
        tokens = [w.text for w in words]
        hypothesis = " ".join(tokens)
        k = leading_run(tokens, self.phrases)
        if k == 0:
            return Verdict("", (), 0.0, hypothesis)
        features = verdict_features([w.conf for w in words[:k]], [w.conf for w in words[k:]])
        conf = calibrated(features, self.weights)
        phrase_words = tuple(Word(w.text, w.start_s, w.end_s, round(conf, 4))
                             for w in words[:k])
        return Verdict(" ".join(tokens[:k]), phrase_words, conf, hypothesis, features)


@functools.lru_cache(maxsize=4)
def _language_model_text(phrases: tuple[str, ...], garbage: tuple[str, ...]) -> str:
    """The phrase-biased n-gram model (ARPA text) for ``phrases`` and ``garbage`` words."""
    corpus = "".join(f"{p}\n" * PHRASE_COUNT for p in phrases)
    corpus += "".join(f"{w}\n" for w in garbage)
    builder = ArpaBoLM(add_start=True)
    builder.read_corpus(io.StringIO(corpus))
    builder.compute()
    out = io.StringIO()
    builder.write(out)
    return out.getvalue()


def make_pocketsphinx_judge(
    phrases: Sequence[str],
    start_t_seconds: float = 0.0,
    *,
    model: PocketsphinxModel | None = None,
    max_s: float = MAX_S,
) -> PhraseJudge | None:
    """A phrase judge for ``phrases`` (the phrase pack's, lower case, as words).

    Phrases with a word the dictionary lacks are dropped with one warning naming them;
    None (logged) when none is left. ``model`` None means the bundled en-us model.
    """
    model = model or bundled_model()
    phrases = [" ".join(p.lower().split()) for p in phrases if p.split()]
    phrase_words = frozenset(w for p in phrases for w in p.split())
    garbage_words = frozenset(GARBAGE_WORDS) - phrase_words
    entries = list(dictionary_entries(model.dict_path, phrase_words | garbage_words))
    known = {token.split("(", 1)[0] for token, _ in entries}
    for word, phones in EXTRA_PRONUNCIATIONS.items():
        if word in phrase_words and word not in known:
            entries.append((word, phones))
            known.add(word)
    kept = tuple(dict.fromkeys(p for p in phrases if all(w in known for w in p.split())))
    dropped = [p for p in phrases if p not in kept]
    if dropped:
        log.warning("phrase judge: the dictionary does not know %s; dropped", ", ".join(dropped))
    if not kept:
        log.warning("phrase judge off: the dictionary knows none of the %d phrases",
                    len(phrases))
        return None
    kept_words = frozenset(w for p in kept for w in p.split())
    garbage = tuple(w for w in dict.fromkeys(GARBAGE_WORDS)
                    if w in known and w not in phrase_words)
    wanted = kept_words | frozenset(garbage)
    with tempfile.TemporaryDirectory(prefix="bargein-judge-") as tmp:
        dict_path = Path(tmp) / "judge.dict"
        dict_path.write_text("".join(f"{t} {ph}\n" for t, ph in entries
                                     if t.split("(", 1)[0] in wanted), encoding="utf-8")
        lm_path = Path(tmp) / "judge.arpa"
        lm_path.write_text(_language_model_text(kept, garbage), encoding="utf-8")
        decoder = decoder_for(model, lm=str(lm_path), dict=str(dict_path),
                              wip=WORD_INSERTION)
    return PhraseJudge(decoder, kept, max_s=max_s, start_t_seconds=start_t_seconds)
