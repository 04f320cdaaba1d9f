"""The barge-in state machine: events in, actions out, time taken from the events.

It has no threads, no I/O and reads no clock, so every decision is a unit test. The
daemon feeds it events (VAD, ASR, button, playback position, agent text, ticks) and
carries out the actions it returns (duck, cut, pause, speak, send to the agent, log).

The graded response while the appliance talks:

1. speech onset (the VAD's start) -> duck the voice at once, keep talking;
2. the growing transcript decides: a cut type (cancellation, correction, redirect,
   clarification) cuts on its first decisive word once ``min_cut_speech_ms`` of speech
   has passed; words that could still become a backchannel never cut;
3. the final transcript settles the type that is recorded and acted on;
4. backchannel or noise -> unduck and keep talking (no audible pause); if the ducked
   decision outlasts the sentence that was playing, the voice pauses at the sentence
   end and resumes from the start of the word that was playing;
5. after a cut, the unplayed remainder is kept: "continue" / "yes" plays it.

Speech while the agent is thinking is an interruption too: it cancels the pending
reply and is merged into the user's turn. The button cuts with no minimum.

What opens a turn while idle is the listening mode (``[listen] mode``): in ``open``
any words do; in ``wake_word`` the wake word (:class:`WakeWord`) or the button, and in
``button`` only the button, while other speech is counted (:class:`SpeechIgnored`) and
not answered. After the appliance has spoken, a follow-up window (``follow_up_s``)
takes a reply without either. The wake word over the answer cuts like the button and
opens a turn, unless the appliance itself said the wake phrase in the seconds before
(the text guard). The machine on its own listens openly, as before the wake word
(:data:`OPEN_LISTENING`); the daemon and the benchmark pass the configured mode.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from bargein.agent.classifier import UNDECIDED, Decision, InterruptionClassifier
from bargein.agent.interruption import CUT_TYPES, InterruptionType
from bargein.asr.pronunciation import pronunciations_for
from bargein.asr.results import Word
from bargein.device.appliance_settings import BargeinSettings, ListenSettings
from bargein.device.event_log import InterruptionRecord
from bargein.device.events import (
    Action,
    AgentFailed,
    AgentText,
    ButtonHeld,
    ButtonPressed,
    CancelAgent,
    CancelSpeech,
    Cut,
    Duck,
    Event,
    FinalTranscript,
    LogInterruption,
    PartialTranscript,
    Pause,
    PlaybackFinished,
    PlaybackPosition,
    Resume,
    SendToAgent,
    SetMute,
    Speak,
    SpeechAcoustics,
    SpeechChunkQueued,
    SpeechEnded,
    SpeechIgnored,
    SpeechStarted,
    StartListening,
    State,
    StatusChanged,
    Tick,
    TimerRang,
    Unduck,
    WakeWord,
)
from bargein.device.heard import Heard, what_was_heard
from bargein.device.hearing import Hearing, Judged, Tokens
from bargein.tts.speech import WordSpan

log = logging.getLogger(__name__)


# -- internal bookkeeping ---------------------------------------------------------------


@dataclass
class _Utterance:
    """What the appliance is saying: its text, its queued words, where playback is."""

    utterance_id: int
    sentences: list[str] = field(default_factory=list)
    words: list[WordSpan] = field(default_factory=list)
    chunk_ends_s: list[float] = field(default_factory=list)
    rate_hz: int = 0
    queued_end_s: float = 0.0
    text_complete: bool = False
    played_s: float = 0.0
    position_t_s: float | None = None
    playing: bool = False

    @property
    def text(self) -> str:
        return " ".join(self.sentences)

    def played_at(self, t_seconds: float) -> float:
        """Extrapolate the last reported position to ``t_seconds`` (capped at what is queued)."""
        if self.position_t_s is None:
            return 0.0
        if not self.playing:
            return self.played_s
        return min(self.queued_end_s, self.played_s + max(0.0, t_seconds - self.position_t_s))

    def sentence_end_after(self, played_s: float) -> float | None:
        for end_s in self.chunk_ends_s:
            if end_s > played_s:
                return end_s
        return None

    def remainder_text(self, n_heard: int, remainder: tuple[str, ...]) -> str:
        """The unheard rest as written (punctuation and capitals kept, so it is spoken as
        sentences), when the text's words line up with the spans; else the bare words."""
        tokens = self.text.split()
        rest = tokens[n_heard:]
        def bare(word: str) -> str:
            return "".join(ch for ch in word.lower() if ch.isalnum())
        if rest and remainder and len(rest) == len(remainder) and \
                all(bare(a) == bare(b) for a, b in zip(rest, remainder)):
            return " ".join(rest)
        return " ".join(remainder)

    def heard_at(self, played_s: float) -> Heard:
        rate_hz = self.rate_hz or 1
        heard = what_was_heard(self.words, rate_hz, played_s, round(self.queued_end_s * rate_hz))
        # Sentences handed to synthesis but not queued yet were never played either.
        tail = tuple(self.text.split()[len(self.words):])
        if tail:
            heard = Heard(
                heard.words_heard, heard.word_cut, heard.words_unplayed + tail,
                heard.progress_pct, heard.played_s, heard.resume_from_s,
            )
        return heard


@dataclass
class _Barge:
    """One stretch of user speech that started while the appliance was busy."""

    onset_s: float
    duck_t_s: float | None = None
    text: str = ""
    decision: Decision = field(default_factory=lambda: Decision(None))
    ended_s: float | None = None
    cut_t_s: float | None = None
    heard: Heard | None = None
    pause_at_s: float | None = None
    sentence_end_s: float | None = None
    had_words: bool = False
    hearing: Hearing = field(init=False)
    """The evidence this stretch has given (words, other ears, sound)."""

    def __post_init__(self) -> None:
        self.hearing = Hearing(self.onset_s)


SHORT_UTTERANCE_WORDS = 3
"""An open-decode transcript this short that names no phrase is no better evidence than
the phrase judge's verdict on the same sound."""
VERDICT_COVERS_END_S = 0.3
"""A verdict on the utterance so far speaks for the whole of it only if its last word ends
at most this long before the end of the speech."""
COMMAND_OVER_S = 0.5
"""A command that cut is over when the phrase judge, which trims an utterance to its loud
part, has twice found the same verdict ending at the same place and the span has gone on
this long after that end with nothing as loud (a television talking on after "stop")."""
SAME_END_S = 0.05
"""Two verdicts whose last words end this close end at the same place (10 ms frames)."""
REJOIN_GAP_S = 0.5
"""Speech that starts again this soon after a stretch that was let go (its VAD end) is the
same utterance with a pause in it: "front ... left" is one correction, not two noises."""
LEVEL_SO_FAR_MARGIN_DB = 3.0
"""How much louder than ``redirect_min_dbfs`` speech still going on must be to redirect."""
OWN_WORDS_BEFORE_S = 2.5
"""The appliance's words played this long before an onset are its echo's vocabulary."""
WAKE_LATENCY_S = 0.25
"""About how long after the phrase ends the detector reports it (the alexa model in the
virtual room: 0.23 s p50, 0.28 s p95): a recognized word whose middle comes earlier is
the phrase, not the request."""
WAKE_LATENCY_MAX_S = 0.30
"""Longer after the phrase's end than the detector reports it: a recognized word that
began before this is the phrase (or spans it), whatever its end. Recognizers stretch a
word over the silence after it, so "Alexa." alone, misheard as one word ending well
after the sound, would otherwise pass the middle test above and be a request."""
OPEN_LISTENING = ListenSettings(mode="open")
"""Any words open a turn: the machine's default, as before the wake word. The config's
default (``[listen] mode``) is the wake word; the daemon passes it."""
_TALKING = frozenset({State.SPEAKING, State.SPEAKING_DUCKED, State.PAUSED, State.INTERRUPTED})


class BargeinMachine:
    """The pure barge-in state machine. Call :meth:`handle` with each event."""

    def __init__(self, settings: BargeinSettings, classifier: InterruptionClassifier,
                 listen: ListenSettings = OPEN_LISTENING, wake_phrase: str = "") -> None:
        self.settings = settings
        self.classifier = classifier
        self.listen = listen
        self.wake_tokens = classifier.normalise(wake_phrase) if listen.mode == "wake_word" else ()
        """The wake phrase as the recognizer's words ("alexa"): in ``wake_word`` mode, idle
        words that hold it open a turn even where the detector missed it."""
        self._pronunciations = pronunciations_for(settings.language)
        self.state = State.IDLE
        self.muted = False
        self.remainder: tuple[str, ...] = ()
        self._remainder_text = ""
        self._next_id = 1
        self._reply_id: int | None = None
        self._utterance: _Utterance | None = None
        self._barge: _Barge | None = None
        self._last_user_text = ""
        self._merge_text = ""  # user turn a reply was cancelled for (speech while thinking)
        self._pending_record: InterruptionRecord | None = None  # travels with the next turn
        self._listen_deadline_s: float | None = None
        self._final_deadline_s: float | None = None
        self._let_go: _Barge | None = None  # the last stretch let go, in case speech resumes
        self._span_settled = False
        """The open VAD span's stretch was settled before the span ended (a command over
        background speech): the span's own final belongs to it and is dropped."""
        self._consumes_remainder = False
        self._follow_up_until_s: float | None = None
        self._follow_up = False  # the window is open (for StatusChanged)
        self._unaddressed_onset_s: float | None = None  # idle speech no one opened a turn for
        self._wake_end_s: float | None = None  # the wake word that opened this turn ended here
        self._wake_phrase: tuple[str, ...] = ()
        self._finished: tuple[_Utterance, float] | None = None  # last played out, and when
        self.ignored_utterances = 0
        """Finished utterances not answered: nobody opened a turn for them."""
        self.own_wake_words = 0
        """Wake words not taken: the appliance had just said the phrase itself."""
        self.wake_words_in_words = 0
        """Turns opened by the wake phrase in the recognizer's words (the detector missed it)."""

    # -- public --------------------------------------------------------------------

    def handle(self, event: Event) -> list[Action]:
        """Feed one event; return the actions to carry out, in order."""
        before = (self.state, self.muted, self._follow_up)
        actions: list[Action] = []
        handler = getattr(self, f"_on_{type(event).__name__}")
        handler(event, actions)
        self._update_follow_up(before[0], event.t_seconds)
        if (self.state, self.muted, self._follow_up) != before:
            log.debug("state %s -> %s", before[0].value, self.state.value)
            actions.append(StatusChanged(self.state.value, self.muted, self._follow_up))
        return actions

    @property
    def gated(self) -> bool:
        """Idle speech needs the wake word or the button (``wake_word`` / ``button`` mode)."""
        return self.listen.mode != "open"

    def _update_follow_up(self, before: State, t_seconds: float) -> None:
        """Open the follow-up window when the appliance stops talking; close it when a turn
        starts or it runs out. The wake word that opened a turn is forgotten once idle."""
        if self.state is not State.IDLE:
            self._follow_up_until_s = None
        elif before in _TALKING and self.gated and self.listen.follow_up_s > 0:
            self._follow_up_until_s = t_seconds + self.listen.follow_up_s
        if self.state is State.IDLE:
            self._wake_end_s = None
        until = self._follow_up_until_s
        self._follow_up = until is not None and t_seconds < until

    @property
    def utterance_id(self) -> int | None:
        return self._utterance.utterance_id if self._utterance else None

    # -- helpers -------------------------------------------------------------------

    def _new_id(self) -> int:
        uid = self._next_id
        self._next_id += 1
        return uid

    def _speaking(self) -> bool:
        return self.state in (State.SPEAKING, State.SPEAKING_DUCKED, State.PAUSED)

    def _speech_ms(self, t_seconds: float) -> float:
        """How long the person has talked: the VAD's span, or the words' if they run longer
        (a gate that closes early under echo must not make real words look like a blip)."""
        barge = self._barge
        assert barge is not None
        end = barge.ended_s if barge.ended_s is not None else t_seconds
        words_end_s = barge.hearing.words_end_s
        if words_end_s is not None:
            end = max(end, min(words_end_s, t_seconds))
        return max(0.0, end - barge.onset_s) * 1000.0

    def _send(self, text: str, record: InterruptionRecord | None, actions: list[Action]) -> None:
        self._wake_end_s = None
        self._reply_id = self._new_id()
        self._last_user_text = text
        self._utterance = None
        actions.append(SendToAgent(text, record, self._reply_id))
        self.state = State.THINKING

    def _record(
        self, kind: InterruptionType, handling: str, t_seconds: float, user_text: str = ""
    ) -> InterruptionRecord:
        barge, utt = self._barge, self._utterance
        heard = barge.heard if barge and barge.heard else None
        if heard is None and utt is not None:
            heard = utt.heard_at(utt.played_at(t_seconds))
        onset = barge.onset_s if barge else t_seconds
        silence_ms = duck_ms = None
        if barge and barge.duck_t_s is not None:
            duck_ms = (barge.duck_t_s - onset) * 1000.0
        if barge and barge.cut_t_s is not None:
            silence_ms = (barge.cut_t_s - onset) * 1000.0 + self.settings.fade_ms
        return InterruptionRecord(
            type=kind,
            handling=handling,
            monotonic_s=t_seconds,
            user_text=user_text,
            agent_text=utt.text if utt else "",
            words_heard=heard.words_heard if heard else (),
            word_cut=heard.word_cut if heard else None,
            words_unplayed=heard.words_unplayed if heard else (),
            progress_pct=heard.progress_pct if heard else 0.0,
            onset_to_duck_ms=duck_ms,
            onset_to_silence_ms=silence_ms,
            speech_ms=self._speech_ms(t_seconds) if barge else 0.0,
            utterance_id=utt.utterance_id if utt else None,
        )

    def _cut(self, t_seconds: float, actions: list[Action]) -> None:
        """Stop the voice now and keep what was not heard."""
        barge, utt = self._barge, self._utterance
        assert barge is not None
        if utt is not None:
            played = barge.pause_at_s if self.state is State.PAUSED else utt.played_at(t_seconds)
            barge.heard = utt.heard_at(played if played is not None else 0.0)
            self.remainder = barge.heard.remainder
            self._remainder_text = utt.remainder_text(len(barge.heard.words_heard), self.remainder)
        barge.cut_t_s = t_seconds
        self._consumes_remainder = False
        self._reply_id = None
        actions += [Cut(self.settings.fade_ms), CancelSpeech(), CancelAgent()]
        self.state = State.INTERRUPTED
        kind = barge.decision.kind
        log.info("voice cut on %s after %.0f ms of speech", kind.value if kind else "?",
                 self._speech_ms(t_seconds))

    def _addressed(self, hearing: Hearing) -> bool:
        """The sound is a person talking to the appliance: voiced, close, above any
        background speech. Without acoustic evidence (none reported) the words decide."""
        sound, s = hearing.sound, self.settings
        if sound is None:
            return True
        if sound.voiced_ms < s.min_voiced_ms or sound.level_dbfs is None:
            return False
        if sound.level_dbfs < s.min_speech_dbfs:
            return False
        background = sound.background_dbfs
        return background is None or sound.level_dbfs >= background + s.over_background_db

    def _voiced_enough_for_redirect(self, hearing: Hearing, finished: bool = False) -> bool:
        """Enough close voice for words without a command in them to take the floor.

        While the person still talks, the level so far leans on the first syllables
        (usually the loudest), so it must clear ``redirect_min_dbfs`` by
        ``LEVEL_SO_FAR_MARGIN_DB``; once the stretch is ``finished`` its whole level decides.
        """
        sound, s = hearing.sound, self.settings
        if sound is None:
            return True
        needed = s.redirect_min_dbfs + (0.0 if finished else LEVEL_SO_FAR_MARGIN_DB)
        close = sound.level_dbfs is not None and sound.level_dbfs >= needed
        return close and sound.voiced_ms >= s.redirect_min_voiced_ms

    def _decide(self, t_seconds: float) -> Decision:
        """The decision while the person still talks, on stable evidence only.

        A cut type needs the open decode's stable words, a spotted command the open
        decode agrees with (the phrase appeared in any hypothesis of the stretch, or a
        few words of the current one sound like it: "top" for "stop"), or the phrase
        judge's verdict on the utterance so far: at ``judge_accept_conf``, or from
        ``judge_agree_conf`` where the current hypothesis sounds like it.
        """
        barge = self._barge
        assert barge is not None
        hearing = barge.hearing
        if not self._addressed(hearing):
            return UNDECIDED
        decision = self.classifier.classify_partial(hearing.stable, self._speech_ms(t_seconds))
        if decision.kind is InterruptionType.REDIRECT and \
                not self._voiced_enough_for_redirect(hearing):
            decision = UNDECIDED
        if decision.kind in CUT_TYPES and decision.safe_to_cut:
            return decision
        for phrase, kind in self._spotted_cuts(hearing):
            if hearing.agrees(phrase) or self._heard_alike(phrase, hearing.hypothesis):
                return Decision(kind, True)
        interim, s = hearing.interim, self.settings
        if interim is not None and interim.tokens and (
                interim.conf >= s.judge_accept_conf or (
                    interim.conf >= s.judge_agree_conf and
                    self._heard_alike(interim.tokens, hearing.hypothesis))):
            judged = self.classifier.classify_partial(interim.tokens)
            redirect_too_soon = judged.kind is InterruptionType.REDIRECT and \
                not self._voiced_enough_for_redirect(hearing)
            if judged.kind in CUT_TYPES and judged.safe_to_cut and not redirect_too_soon and \
                    self._interim_held(judged.kind, hearing):
                return judged
        return decision

    def _spotted_cuts(self, hearing: Hearing) -> list[tuple[Tokens, InterruptionType]]:
        """The cuts the command spotter names and still holds, newest first.

        A command that follows a backchannel in the spotter's report ("음 조용히" for 응 응)
        counts only once the spotter has named that cut in two reports running, as
        :meth:`_interim_held` asks of the judge: the grammar lists the backchannels so
        that they are written as themselves, and the sound after one is the newest of
        the utterance, forced onto the nearest phrase and still moving. A command the
        spotter withdrew is no longer among its phrases (:meth:`Hearing.hear_spotted`).
        """
        c = self.classifier
        cuts = []
        for phrase in reversed(hearing.spotted):
            kind = c.classify_tokens(phrase)
            if kind not in CUT_TYPES:
                continue
            if c.opens_with_backchannel(phrase) and not hearing.spotter_held(
                    phrase, lambda before, kind=kind: c.classify_tokens(before) is kind):
                continue
            cuts.append((phrase, kind))
        return cuts

    def _interim_held(self, kind: InterruptionType, hearing: Hearing) -> bool:
        """Whether the judge's latest verdict so far, of cut type ``kind``, is stable: it
        opens with no backchannel, or the verdict before it named the same cut too. Words
        after a backchannel are the newest of the utterance and still moving ("yes
        wrong", then "yes right" for "yeah, right")."""
        interims = hearing.interims
        if not self.classifier.opens_with_backchannel(interims[-1].tokens):
            return True
        if len(interims) < 2:
            return False
        before = self.classifier.classify_partial(interims[-2].tokens)
        return before.kind is kind and before.safe_to_cut

    def _final_kind(self, barge: _Barge) -> InterruptionType:
        """The settled type of a finished stretch (:meth:`_heard_kind`); a few words that
        would be a redirect but repeat some of what the appliance was just saying and
        change the rest are a correction ("front left" over "the rear left speaker")."""
        kind = self._heard_kind(barge)
        hearing = barge.hearing
        tokens = hearing.final if hearing.final is not None else hearing.hypothesis
        if kind is InterruptionType.REDIRECT and len(tokens) <= SHORT_UTTERANCE_WORDS and \
                self.classifier.replaces_said_words(tokens, hearing.own_words):
            return InterruptionType.CORRECTION
        return kind

    def _heard_kind(self, barge: _Barge) -> InterruptionType:
        """The type of a finished stretch, from every ear and the sound.

        Background or unvoiced sound is noise whatever words were found in it. Otherwise,
        in order: the final's confident words; the words the partials held in place
        where the final's posteriors were low; the phrase judge's verdict where the
        open decode heard nothing confident, agrees, or heard only a few unclassified
        words (it hears short phrases better); a command the spotter heard where the open
        decode heard nothing confident, or a few words one of which sounds like it.
        Otherwise a person taking the floor (enough close voice, and everything the open
        decode heard reads as a cut) is a redirect where the confident words say so, else
        has the type of everything heard; less is noise.
        """
        hearing, c = barge.hearing, self.classifier
        if not self._addressed(hearing):
            return InterruptionType.NOISE
        tokens = hearing.final if hearing.final is not None else hearing.hypothesis
        kind = c.classify_tokens(tokens)
        held = c.classify_tokens(hearing.stable_before_final)
        if kind is InterruptionType.NOISE and held in CUT_TYPES - {InterruptionType.REDIRECT}:
            kind = held
        verdict = self._verdict(hearing)
        judged_kind = c.classify_tokens(verdict.tokens) if verdict is not None else None
        if verdict is not None and judged_kind is not InterruptionType.NOISE:
            if kind in (InterruptionType.NOISE, judged_kind):
                return judged_kind
            # Where both ears open alike, the one that surely heard more decides: "what
            # about tomorrow" over the judge's "what about what", the judge's "actually
            # never mind" over "actually ... minute". Otherwise a few words the open
            # decode makes a redirect of are the judge's phrase misheard.
            if tokens and tokens[0] == verdict.tokens[0]:
                return judged_kind if len(verdict.tokens) > len(tokens) else kind
            if kind is InterruptionType.REDIRECT and len(tokens) <= SHORT_UTTERANCE_WORDS:
                return judged_kind
            return kind
        heard_all = c.classify_tokens(hearing.final_all)
        short = len(tokens) <= SHORT_UTTERANCE_WORDS
        for phrase, spotted_kind in self._spotted_cuts(hearing):
            if kind is InterruptionType.NOISE and heard_all is not InterruptionType.BACKCHANNEL \
                    and len(hearing.final_all) <= SHORT_UTTERANCE_WORDS:
                return spotted_kind
            # A few words the open decode makes a redirect of, where it heard the spotted
            # command's sounds too ("top half of" for "stop" over a television), are the
            # command and what the room added.
            if kind is InterruptionType.REDIRECT and short and \
                    self._heard_alike(phrase, hearing.final_all):
                return spotted_kind
        if kind in (InterruptionType.NOISE, InterruptionType.REDIRECT):
            if not self._voiced_enough_for_redirect(hearing, finished=True) or \
                    heard_all not in CUT_TYPES:
                return InterruptionType.NOISE
            return kind if kind is InterruptionType.REDIRECT else heard_all
        return kind

    def _verdict(self, hearing: Hearing) -> Judged | None:
        """The phrase judge's verdict that is evidence, if any: on the whole utterance, sure
        enough on its own or less sure where the open decode heard the same sounds in
        other words; else, where the whole utterance got no verdict (it outgrew the
        judge's 2 s, or held no phrase), the last sure one on the utterance so far that
        names a cut, where it reaches the end of what was said ("actually never mind"
        judged while "that one minute" was decoded) or ends with an opener that also stands
        alone, read with the open decode's confident words after it ("no" of "no, I said
        Tuesday"); not "can you repeat" of "can you repeat the address", nor "i mean" of
        "i need a table ...", nor "cool" at the start of a long sentence."""
        judged, s = hearing.judged, self.settings
        if judged is not None and judged.tokens and judged.conf >= s.judge_agree_conf:
            if judged.conf >= s.judge_accept_conf:
                return judged
            heard = hearing.final_all or hearing.hypothesis
            if self._pronunciations is not None and heard and \
                    self._pronunciations.sounds_alike(judged.tokens, heard):
                return judged
        if judged is None or not judged.tokens:
            c = self.classifier
            said_until = hearing.words_end_s if hearing.end_s is None else hearing.end_s
            for interim in reversed(hearing.interims):
                if not interim.tokens or interim.conf < s.judge_accept_conf or \
                        c.classify_tokens(interim.tokens) not in CUT_TYPES:
                    continue
                if interim.end_s is None or said_until is None:
                    continue
                if interim.end_s >= said_until - VERDICT_COVERS_END_S:
                    return interim
                if not c.ends_with_standalone_opener(interim.tokens):
                    return None
                # An opener ("no", "stop") holds its category whatever follows, unless
                # the open decode's confident words after it name another cut.
                later = hearing.confident_after(interim.end_s, c.normalise, s.min_word_conf)
                return Judged(interim.tokens + later, interim.conf, interim.end_s)
        return None

    def _heard_alike(self, phrase: tuple[str, ...], heard: tuple[str, ...]) -> bool:
        """A run of the open decode's words ``heard`` (up to one word longer than the
        phrase) sounds like ``phrase``: the same command in other spelling."""
        if self._pronunciations is None:
            return False
        longest = len(phrase) + 1
        return any(self._pronunciations.sounds_alike(phrase, heard[i:j])
                   for i in range(len(heard))
                   for j in range(i + 1, min(len(heard), i + longest) + 1))

    def _maybe_cut(self, t_seconds: float, actions: list[Action]) -> None:
        barge = self._barge
        if barge is None or self.state not in (State.SPEAKING_DUCKED, State.PAUSED):
            return
        decision = barge.decision
        if decision.kind in CUT_TYPES and decision.safe_to_cut:
            if self._speech_ms(t_seconds) >= self.settings.min_cut_speech_ms:
                self._cut(t_seconds, actions)

    def _let_it_go(self, kind: InterruptionType, t_seconds: float, actions: list[Action]) -> None:
        """Backchannel or noise while speaking: restore the voice, keep talking."""
        handling = "ignored" if kind is InterruptionType.NOISE else "continued"
        if self.state is State.PAUSED:
            assert self._barge is not None and self._utterance is not None
            played = self._barge.pause_at_s or 0.0
            from_s = self._utterance.heard_at(played).resume_from_s
            actions += [Unduck(), Resume(from_s)]
            handling = "resumed"
            self._utterance.played_s, self._utterance.position_t_s = from_s, t_seconds
            self._utterance.playing = True
        elif self.state is State.SPEAKING_DUCKED:
            actions.append(Unduck())
        if self._speaking():
            self.state = State.SPEAKING
        if self._barge is not None:
            text = self._barge.text if self._barge.had_words else ""
            actions.append(LogInterruption(self._record(kind, handling, t_seconds, text)))
            if self.state is State.SPEAKING and self._addressed(self._barge.hearing):
                self._let_go = self._barge
        self._barge = None
        self._final_deadline_s = None

    def _settle_after_cut(self, text: str, t_seconds: float, actions: list[Action],
                          kind: InterruptionType | None = None) -> None:
        """The whole utterance is in (or, given ``kind``, known): record its type and act
        on it."""
        barge = self._barge
        assert barge is not None
        if kind is None:
            kind = self._final_kind(barge)
        self._final_deadline_s = None
        decided = barge.decision.kind
        if kind is InterruptionType.NOISE and decided in CUT_TYPES - {InterruptionType.REDIRECT}:
            # A command cut on its own evidence stands when the whole stretch says only
            # "noise": a television talking on after "stop" keeps the VAD's span open for
            # seconds and drowns the command's level and words.
            kind = decided
        if kind not in CUT_TYPES:
            # The partial cut on words the final took back: finish what was being said.
            record = self._record(kind, "resumed_after_false_cut", t_seconds, text)
            actions.append(LogInterruption(record))
            self._barge = None
            if self.remainder:
                self._speak_remainder(actions)
            else:
                self.state = State.IDLE
            return
        if kind is InterruptionType.CANCELLATION:
            record = self._record(kind, "cancelled", t_seconds, text)
            actions.append(LogInterruption(record))
            self._barge = None
            self._utterance = None
            self._consumes_remainder = True
            ack = self.classifier.message("cancel_ack")
            if ack:
                self._utterance = _Utterance(self._new_id(), sentences=[ack], text_complete=True)
                actions.append(Speak(ack, self._utterance.utterance_id, last=True))
                self.state = State.SPEAKING
            else:
                self.state = State.IDLE
            return
        record = self._record(kind, "cut", t_seconds, text)
        actions.append(LogInterruption(record))
        self._barge = None
        self._consumes_remainder = True
        self._send(text, record, actions)

    def _command_over(self, barge: _Barge, t_seconds: float) -> bool:
        """Whether a cancellation that cut is over while the VAD's span stays open
        (:data:`COMMAND_OVER_S`): the person said "stop" and stopped; what keeps the span
        open is the room. Only a cancellation: it needs no words after it."""
        interims = barge.hearing.interims
        if barge.ended_s is not None or len(interims) < 2 or \
                barge.decision.kind is not InterruptionType.CANCELLATION:
            return False
        last, before = interims[-1], interims[-2]
        if last.end_s is None or before.end_s is None or last.tokens != before.tokens or \
                abs(last.end_s - before.end_s) > SAME_END_S:
            return False
        # The cut was decided on sure evidence; these verdicts only say where the loud part
        # ended, so a reported one (from judge_agree_conf) that still names the command will do.
        return last.conf >= self.settings.judge_agree_conf and \
            self.classifier.classify_tokens(last.tokens) is InterruptionType.CANCELLATION and \
            t_seconds - last.end_s >= COMMAND_OVER_S

    def _settle_command(self, barge: _Barge, t_seconds: float, actions: list[Action]) -> None:
        """Settle a cancellation whose span goes on (:meth:`_command_over`) now, not when the
        room falls quiet; the span's own final is dropped when it comes."""
        text = " ".join(barge.hearing.interims[-1].tokens)
        log.info("command over while the span goes on (background speech): settled now")
        self._span_settled = True
        self._settle_after_cut(text, t_seconds, actions, InterruptionType.CANCELLATION)

    def _speak_remainder(self, actions: list[Action]) -> None:
        text = self._remainder_text or " ".join(self.remainder)
        self.remainder, self._remainder_text = (), ""
        self._utterance = _Utterance(self._new_id(), sentences=[text], text_complete=True)
        self._reply_id = None
        actions.append(Speak(text, self._utterance.utterance_id, last=True))
        self.state = State.SPEAKING
        log.info("resuming the interrupted reply (%d words)", len(text.split()))

    def _user_turn(self, text: str, t_seconds: float, actions: list[Action]) -> None:
        """A finished utterance that is the user's own turn (not talking over the voice).

        "Continue" after a cut plays the rest: heard so by the open decode, or by the
        phrase judge where that counts (a short "go on" the open decode misspelt)."""
        if self._consumes_remainder and self.remainder and self._asks_to_resume(text):
            self._consumes_remainder = False
            self._barge = None
            self._speak_remainder(actions)
            return
        self._consumes_remainder = False
        self.remainder, self._remainder_text = (), ""
        record, self._pending_record = self._pending_record, None
        self._barge = None
        self._listen_deadline_s = None
        self._send(text, record, actions)

    def _asks_to_resume(self, text: str) -> bool:
        if self.classifier.is_resume(text):
            return True
        barge = self._barge
        verdict = self._verdict(barge.hearing) if barge is not None else None
        return verdict is not None and self.classifier.is_resume(" ".join(verdict.tokens))

    # -- event handlers --------------------------------------------------------------

    def _on_SpeechStarted(self, ev: SpeechStarted, actions: list[Action]) -> None:
        if self.muted:
            return
        self._final_deadline_s = None
        self._span_settled = False
        let_go, self._let_go = self._let_go, None
        if self.state is State.SPEAKING and let_go is not None and \
                let_go.ended_s is not None and ev.onset_s - let_go.ended_s <= REJOIN_GAP_S:
            self._barge, let_go.ended_s, let_go.duck_t_s = let_go, None, ev.t_seconds
            let_go.decision = UNDECIDED
            let_go.hearing.resume_stretch()
            actions.append(Duck(self.settings.duck_db))
            self.state = State.SPEAKING_DUCKED
        elif self.state is State.SPEAKING:
            barge = self._barge = _Barge(onset_s=ev.onset_s, duck_t_s=ev.t_seconds)
            utt = self._utterance
            if utt is not None:
                barge.sentence_end_s = utt.sentence_end_after(utt.played_at(ev.t_seconds))
                barge.hearing.own_words = self._own_words(utt, ev.onset_s, ev.t_seconds)
            actions.append(Duck(self.settings.duck_db))
            self.state = State.SPEAKING_DUCKED
        elif self.state is State.IDLE and self.gated and not self._in_follow_up(ev.onset_s):
            # Nobody opened a turn: heard, not answered, unless the wake word comes in it.
            self._unaddressed_onset_s = ev.onset_s
        elif self.state in (State.IDLE, State.LISTENING):
            self._barge = _Barge(onset_s=ev.onset_s)
            self._listen_deadline_s = None
            self.state = State.LISTENING
        elif self.state is State.THINKING:
            self._barge = _Barge(onset_s=ev.onset_s)
        # SPEAKING_DUCKED / PAUSED / INTERRUPTED: the same stretch of speech goes on.
        elif self._barge is not None:
            self._barge.ended_s = None
            self._barge.hearing.continue_stretch()

    def _own_words(self, utt: _Utterance, onset_s: float, t_seconds: float,
                   played: float | None = None) -> frozenset[str]:
        """Tokens of the words the appliance played from ``OWN_WORDS_BEFORE_S`` before
        ``onset_s`` up to ``t_seconds``, when it had played ``played`` seconds of ``utt``
        (by default, what its playback position says then)."""
        rate = utt.rate_hz or 1
        if played is None:
            played = utt.played_at(t_seconds)
        since = played - (t_seconds - onset_s) - OWN_WORDS_BEFORE_S
        return frozenset(
            token for w in utt.words
            if since <= w.end_sample / rate and w.start_sample / rate <= played
            for token in self.classifier.normalise(w.text)
        )

    def _on_SpeechAcoustics(self, ev: SpeechAcoustics, actions: list[Action]) -> None:
        barge = self._barge
        if self.muted or barge is None or barge.ended_s is not None:
            return
        barge.hearing.hear_sound(ev.sound)
        if self.state in (State.SPEAKING_DUCKED, State.PAUSED):
            barge.decision = self._decide(ev.t_seconds)
            self._maybe_cut(ev.t_seconds, actions)

    def _in_follow_up(self, onset_s: float) -> bool:
        until = self._follow_up_until_s
        return until is not None and onset_s <= until

    def _on_SpeechEnded(self, ev: SpeechEnded, actions: list[Action]) -> None:
        self._unaddressed_onset_s = None
        barge = self._barge
        if self.muted or barge is None:
            return
        barge.ended_s = ev.end_s
        barge.hearing.end_s = ev.end_s
        self._final_deadline_s = ev.t_seconds + self.settings.final_timeout_ms / 1000.0
        if self.state not in (State.SPEAKING_DUCKED, State.PAUSED):
            return
        hearing = barge.hearing
        # Nothing recognisable (cough, clap, door, a distant television): the voice comes
        # back now. Voiced speech with no words yet waits for the (late) final instead.
        if not self._addressed(hearing) or (hearing.sound is None and not barge.had_words):
            self._let_it_go(InterruptionType.NOISE, ev.t_seconds, actions)
            # A late final is still heard, in case the ASR lags the VAD.
            late = _Barge(onset_s=barge.onset_s, ended_s=ev.end_s)
            late.hearing = hearing
            self._barge = late

    def _on_PartialTranscript(self, ev: PartialTranscript, actions: list[Action]) -> None:
        barge = self._barge
        if self.muted or barge is None:
            return
        normalise = self.classifier.normalise
        if ev.source == "phrases":
            barge.hearing.hear_judged(ev.text, ev.words, normalise, interim=True,
                                      evidence=self.classifier.through_open_opener)
            if self.state in (State.SPEAKING_DUCKED, State.PAUSED):
                barge.decision = self._decide(ev.t_seconds)
                self._maybe_cut(ev.t_seconds, actions)
            elif self.state is State.INTERRUPTED and self._command_over(barge, ev.t_seconds):
                self._settle_command(barge, ev.t_seconds, actions)
            return
        if ev.source == "spotter":
            # A spotter's report with word times is settled: the Vosk grammar spotter
            # times only its endpoint's result, a keyphrase detection is always timed.
            self._hear_spotted(barge, ev.text, settled=bool(ev.words))
            tokens = normalise(ev.text)
        else:
            barge.hearing.hear_partial(ev.text, ev.words, normalise, ev.words_end_s)
            tokens = barge.hearing.hypothesis
            barge.text = " ".join(tokens)
        barge.had_words = barge.had_words or bool(tokens)
        if self.state in (State.SPEAKING_DUCKED, State.PAUSED):
            barge.decision = self._decide(ev.t_seconds)
            self._maybe_cut(ev.t_seconds, actions)
        elif (
            self.state is State.THINKING
            and tokens
            and not self.classifier.could_be_backchannel(tokens)
        ):
            # Speech before the reply starts: the pending reply is dropped, the turn grows.
            self._merge_text = self._last_user_text
            self._reply_id = None
            actions.append(CancelAgent())
            self.state = State.LISTENING
            log.info("speech while thinking: reply cancelled, turn merged")

    def _hear_spotted(self, barge: _Barge, text: str, settled: bool) -> None:
        """Keep a report of the command spotter; name a cut it withdrew."""
        c = self.classifier
        withdrawn = barge.hearing.hear_spotted(text, c.normalise, settled)
        if not withdrawn:
            return
        kind = c.classify_tokens(withdrawn)
        if kind in CUT_TYPES and all(c.classify_tokens(p) is not kind
                                     for p in barge.hearing.spotted):
            log.info("the command spotter withdrew %s (%s): no evidence",
                     " ".join(withdrawn), kind.value)

    def _on_FinalTranscript(self, ev: FinalTranscript, actions: list[Action]) -> None:
        if self.muted:
            return
        barge = self._barge
        normalise = self.classifier.normalise
        if ev.source != "asr":
            if barge is not None and ev.source == "phrases":
                barge.hearing.hear_judged(ev.text, ev.words, normalise,
                                          evidence=self.classifier.through_open_opener)
            elif barge is not None:
                self._hear_spotted(barge, ev.text, settled=True)
            return
        text = ev.text.strip()
        if self._span_settled and barge is None:
            # The rest of a span whose command was settled while it went on: the room.
            self._span_settled = False
            return
        if barge is not None:
            tokens = barge.hearing.hear_final(text, ev.words, normalise,
                                              self.settings.min_word_conf, ev.words_end_s)
            barge.had_words = barge.had_words or bool(tokens)
            barge.text = text
        if self.state is State.INTERRUPTED and barge is not None:
            self._settle_after_cut(text, ev.t_seconds, actions)
        elif self._speaking() and barge is not None:
            kind = self._final_kind(barge)
            long_enough = self._speech_ms(ev.t_seconds) >= self.settings.min_cut_speech_ms
            if kind in CUT_TYPES and long_enough:
                if self.state is State.SPEAKING:  # a late final after the voice came back
                    actions.append(Duck(self.settings.duck_db))
                    self.state = State.SPEAKING_DUCKED
                barge.decision = Decision(kind, True)
                self._cut(ev.t_seconds, actions)
                self._settle_after_cut(text, ev.t_seconds, actions)
            elif self.state is State.SPEAKING:
                self._barge = None  # late final of noise already let go
            else:
                self._let_it_go(kind if kind not in CUT_TYPES else InterruptionType.NOISE,
                                ev.t_seconds, actions)
        elif self.state is State.THINKING:
            if barge is not None and self.classifier.classify_final(text) in CUT_TYPES:
                self._merge_text = self._last_user_text
                actions.append(CancelAgent())
                self.state = State.LISTENING
                self._merged_turn(text, ev.t_seconds, actions)
            else:
                self._barge = None  # a backchannel or noise while thinking changes nothing
        elif self.state is State.IDLE and self.gated:
            if not self._wake_in_words(text, ev, actions):
                self._ignore(text, actions)
        elif self.state in (State.LISTENING, State.IDLE):
            if self._wake_end_s is not None:
                text = self._without_wake_word(text, ev.words)
                if not self.classifier.normalise(text):
                    # Only the wake word so far: the request is still to come.
                    self._barge = None
                    self._listen_deadline_s = ev.t_seconds + self.settings.listen_timeout_s
                    return
            if self._merge_text:
                self._merged_turn(text, ev.t_seconds, actions)
            elif self.classifier.normalise(text):
                self._user_turn(text, ev.t_seconds, actions)
            else:
                self._barge = None
                if self._listen_deadline_s is None:
                    self.state = State.IDLE

    def _wake_in_words(self, text: str, ev: FinalTranscript, actions: list[Action]) -> bool:
        """Idle words that name the wake phrase open a turn: the words after its last
        mention are the request (none yet: listening for it).

        The detector's models hear the phrase when it opens an utterance and miss it
        inside one ("I was just wondering, Alexa, what time is it?" peaks at 0.02); the
        recognizer, which decodes every idle utterance anyway, hears it there. Its
        transcript comes only once the utterance is over, so this is the slower way in,
        and the appliance's own voice saying the phrase is no wake word here either."""
        phrase = self.wake_tokens
        if not phrase or self.muted:
            return False
        tokens = self.classifier.normalise(text)
        starts = [i for i in range(len(tokens) - len(phrase) + 1)
                  if tokens[i:i + len(phrase)] == phrase]
        if not starts:
            return False
        end_s = self._phrase_end_s(ev.words, len(tokens), starts[-1] + len(phrase))
        if self._said_it_myself(phrase, end_s if end_s is not None else ev.t_seconds,
                                ev.t_seconds):
            self.own_wake_words += 1
            log.info("wake phrase in words not taken: the appliance itself just said it")
            return False
        self.wake_words_in_words += 1
        request = " ".join(tokens[starts[-1] + len(phrase):])
        self._unaddressed_onset_s = None
        log.info("wake phrase heard in the words: %s", "request follows it" if request
                 else "listening")
        if request:
            self._barge = None
            self._user_turn(request, ev.t_seconds, actions)
            return True
        self._barge = None
        self._wake_end_s, self._wake_phrase = end_s if end_s is not None else ev.t_seconds, phrase
        self._listen_deadline_s = ev.t_seconds + self.settings.listen_timeout_s
        actions.append(StartListening())
        self.state = State.LISTENING
        return True

    def _phrase_end_s(self, words: tuple[Word, ...], n_tokens: int, end: int) -> float | None:
        """When the ``end``-th token ended, where the recognizer's words match the tokens
        one for one (they have times); else None."""
        if len(words) != n_tokens or end < 1:
            return None
        return words[end - 1].end_s

    def _ignore(self, text: str, actions: list[Action]) -> None:
        """Words while idle that nobody opened a turn for: counted, never answered."""
        self._barge = None
        self._unaddressed_onset_s = None
        tokens = self.classifier.normalise(text)
        if tokens:
            self.ignored_utterances += 1
            actions.append(SpeechIgnored(len(tokens)))
            log.debug("idle speech without the wake word ignored (%d words)", len(tokens))

    def _without_wake_word(self, text: str, words: tuple[Word, ...]) -> str:
        """The request in a transcript that may hold the wake phrase: the words after its
        last mention; failing that (the recognizer spelt it otherwise), the words that
        began after the phrase ended (see :data:`WAKE_LATENCY_MAX_S`), where the words
        have times; else all of it."""
        tokens = list(self.classifier.normalise(text))
        phrase = list(self._wake_phrase)
        if phrase:
            for i in range(len(tokens) - len(phrase), -1, -1):
                if tokens[i:i + len(phrase)] == phrase:
                    return " ".join(tokens[i + len(phrase):])
        if words and self._wake_end_s is not None:
            phrase_end_s = self._wake_end_s - WAKE_LATENCY_S
            began_after_s = self._wake_end_s - WAKE_LATENCY_MAX_S
            return " ".join(w.text for w in words if w.start_s >= began_after_s
                            and (w.start_s + w.end_s) / 2 >= phrase_end_s)
        return text

    def _merged_turn(self, text: str, t_seconds: float, actions: list[Action]) -> None:
        kind = self.classifier.classify_final(text)
        earlier, self._merge_text = self._merge_text, ""
        if kind is InterruptionType.CANCELLATION:
            actions.append(LogInterruption(self._record(kind, "cancelled", t_seconds, text)))
            self._barge = None
            self.state = State.IDLE
            return
        if kind is InterruptionType.NOISE or not self.classifier.normalise(text):
            kind = InterruptionType.REDIRECT
        record = self._record(kind, "merged", t_seconds, text)
        actions.append(LogInterruption(record))
        self._barge = None
        self._send(f"{earlier} {text}".strip(), record, actions)

    def _on_ButtonPressed(self, ev: ButtonPressed, actions: list[Action]) -> None:
        if self.state is State.INTERRUPTED:
            return  # already cut; the person's words are on their way
        if self._speaking():
            # The press is the onset: the speaker went quiet one fade after it.
            self._cut_and_listen(InterruptionType.BUTTON, ev.t_seconds, ev.t_seconds, actions)
        elif self.state is State.THINKING:
            self._reply_id = None
            self._barge = None
            actions.append(CancelAgent())
            self.state = State.IDLE
        elif self.state is State.IDLE:
            if self.muted:
                self.muted = False
                actions.append(SetMute(False))
            self._listen_deadline_s = ev.t_seconds + self.settings.listen_timeout_s
            actions.append(StartListening())
            self.state = State.LISTENING

    def _cut_and_listen(self, kind: InterruptionType, onset_s: float, t_seconds: float,
                        actions: list[Action]) -> None:
        """Cut at once for the button or the wake word (recorded from ``onset_s``, handled
        as its type's value) and open a turn."""
        barge = self._barge
        if barge is None:
            barge = self._barge = _Barge(onset_s=onset_s)
        barge.decision = Decision(kind, True)
        self._cut(t_seconds, actions)
        onset, barge.onset_s = barge.onset_s, onset_s
        record = self._record(kind, kind.value, t_seconds)
        barge.onset_s = onset
        actions.append(LogInterruption(record))
        self._pending_record = record
        self._consumes_remainder = True
        # The person may already be talking: that speech becomes their turn.
        keep = self._barge if self._barge and self._barge.had_words else None
        self._barge = (
            _Barge(onset_s=keep.onset_s, text=keep.text, had_words=True) if keep else None
        )
        self._listen_deadline_s = t_seconds + self.settings.listen_timeout_s
        actions.append(StartListening())
        self.state = State.LISTENING

    def _on_WakeWord(self, ev: WakeWord, actions: list[Action]) -> None:
        if self.muted:
            return
        phrase = self.classifier.normalise(ev.wake_word)
        if phrase and self._said_it_myself(phrase, ev.end_s, ev.t_seconds):
            self.own_wake_words += 1
            log.info("wake word not taken: the appliance itself just said %r", ev.wake_word)
            return
        self._wake_end_s, self._wake_phrase = ev.end_s, phrase
        if self.state is State.INTERRUPTED:
            return  # already cut; the person's words are on their way
        if self._speaking():
            # An interruption of its own: cut like the button, from the voice's onset.
            onset_s = self._barge.onset_s if self._barge is not None else ev.end_s
            self._cut_and_listen(InterruptionType.WAKE_WORD, onset_s, ev.t_seconds, actions)
            log.info("wake word over the answer: voice cut, listening")
        elif self.state is State.THINKING:
            # As speech while thinking: the pending reply is dropped, the turn grows.
            self._merge_text = self._last_user_text
            self._reply_id = None
            self._barge = None
            actions.append(CancelAgent())
            self._listen_deadline_s = ev.t_seconds + self.settings.listen_timeout_s
            self.state = State.LISTENING
        elif self.state is State.IDLE:
            onset_s = self._unaddressed_onset_s
            self._unaddressed_onset_s = None
            # Speech still going on is the request (with the phrase in front of it).
            self._barge = _Barge(onset_s=onset_s) if onset_s is not None else None
            self._listen_deadline_s = ev.t_seconds + self.settings.listen_timeout_s
            actions.append(StartListening())
            self.state = State.LISTENING
            log.info("wake word heard: listening")
        elif self.state is State.LISTENING and self._barge is None:
            self._listen_deadline_s = ev.t_seconds + self.settings.listen_timeout_s

    def _said_it_myself(self, phrase: tuple[str, ...], end_s: float, t_seconds: float) -> bool:
        """The text guard: every word of the wake phrase is among (or begins) the words the
        appliance played in the ``OWN_WORDS_BEFORE_S`` before the phrase ended, and since."""
        own: set[str] = set()
        if self._utterance is not None:
            own |= self._own_words(self._utterance, end_s, t_seconds)
        if self._finished is not None:
            utt, finished_t = self._finished
            own |= self._own_words(utt, end_s, finished_t, utt.queued_end_s)
        return all(any(o == p or (len(p) >= 4 and o.startswith(p)) for o in own) for p in phrase)

    def _on_ButtonHeld(self, ev: ButtonHeld, actions: list[Action]) -> None:
        self.muted = not self.muted
        actions.append(SetMute(self.muted))
        log.info("microphone %s by long press", "muted" if self.muted else "unmuted")
        if self.muted:
            if self.state is State.PAUSED and self._barge and self._utterance:
                from_s = self._utterance.heard_at(self._barge.pause_at_s or 0.0).resume_from_s
                actions += [Unduck(), Resume(from_s)]
            elif self.state is State.SPEAKING_DUCKED:
                actions.append(Unduck())
            if self.state in (State.SPEAKING_DUCKED, State.PAUSED):
                self.state = State.SPEAKING
            self._barge = None
            self._final_deadline_s = None
            if self.state is State.LISTENING:
                self._listen_deadline_s = None
                self.state = State.IDLE

    def _on_PlaybackPosition(self, ev: PlaybackPosition, actions: list[Action]) -> None:
        utt = self._utterance
        if utt is None or ev.utterance_id != utt.utterance_id:
            return
        if self.state is State.PAUSED:
            return  # the ring is held; keep the pause point
        utt.played_s, utt.position_t_s, utt.playing = ev.played_s, ev.t_seconds, ev.playing
        barge = self._barge
        if self.state is State.SPEAKING_DUCKED and barge is not None:
            if barge.sentence_end_s is None:
                barge.sentence_end_s = utt.sentence_end_after(ev.played_s)
            margin_s = self.settings.pause_margin_ms / 1000.0
            if barge.sentence_end_s is not None and ev.played_s >= barge.sentence_end_s - margin_s:
                # The decision outlasts the sentence: hold the voice rather than talk on.
                barge.pause_at_s = ev.played_s
                actions.append(Pause())
                self.state = State.PAUSED
                log.info("voice paused at a sentence boundary while deciding")
                return
            self._maybe_cut(ev.t_seconds, actions)

    def _on_PlaybackFinished(self, ev: PlaybackFinished, actions: list[Action]) -> None:
        utt = self._utterance
        if utt is None or ev.utterance_id != utt.utterance_id:
            return
        self._finished = (utt, ev.t_seconds)
        if self.state is State.SPEAKING:
            self._utterance = None
            self.state = State.IDLE
        elif self.state is State.SPEAKING_DUCKED:
            # The reply ended while someone was talking: their speech is now their turn.
            actions.append(Unduck())
            self._utterance = None
            self.state = State.LISTENING

    def _on_AgentText(self, ev: AgentText, actions: list[Action]) -> None:
        if ev.utterance_id != self._reply_id:
            return  # a cancelled reply's late text: nothing stale plays
        if self.state is State.THINKING:
            self._utterance = _Utterance(ev.utterance_id)
            if self._barge is not None:
                # Someone is talking but their words did not settle it yet: start ducked.
                self._barge.duck_t_s = ev.t_seconds
                actions.append(Duck(self.settings.duck_db))
                self.state = State.SPEAKING_DUCKED
            else:
                self.state = State.SPEAKING
        elif not self._speaking() or self._utterance is None:
            return
        utt = self._utterance
        utt.text_complete = ev.final
        if ev.text.strip():
            utt.sentences.append(ev.text.strip())
        if ev.text.strip() or ev.final:
            actions.append(Speak(ev.text.strip(), utt.utterance_id, last=ev.final))
        if ev.final and not utt.sentences:
            self._utterance = None
            self.state = State.IDLE

    def _on_AgentFailed(self, ev: AgentFailed, actions: list[Action]) -> None:
        if self.state is not State.THINKING and not self._speaking():
            return
        log.warning("agent failed: %s", ev.reason)
        message = self.classifier.message("agent_failed")
        if self.state is State.THINKING:
            self._utterance = _Utterance(self._new_id())
            self.state = State.SPEAKING
        assert self._utterance is not None
        self._reply_id = None
        self._utterance.text_complete = True
        if message:
            self._utterance.sentences.append(message)
        actions.append(Speak(message, self._utterance.utterance_id, last=True))

    def _on_TimerRang(self, ev: TimerRang, actions: list[Action]) -> None:
        """Say the ring as an utterance of the appliance's own, so talking over it or the
        button is an interruption like any other. Only from idle: the appliance never
        talks over itself or over a person's turn (the bell holds the ring until then)."""
        if self.state is not State.IDLE or not ev.message.strip():
            return
        self._reply_id = None
        self._utterance = _Utterance(self._new_id(), sentences=[ev.message], text_complete=True)
        actions.append(Speak(ev.message, self._utterance.utterance_id, last=True))
        self.state = State.SPEAKING

    def _on_SpeechChunkQueued(self, ev: SpeechChunkQueued, actions: list[Action]) -> None:
        utt = self._utterance
        if utt is None or ev.utterance_id != utt.utterance_id:
            return
        utt.rate_hz = ev.rate_hz
        utt.words.extend(ev.words)
        utt.chunk_ends_s.append(ev.end_s)
        utt.queued_end_s = max(utt.queued_end_s, ev.end_s)
        if utt.position_t_s is None:
            utt.position_t_s, utt.played_s = ev.t_seconds, 0.0

    def _on_Tick(self, ev: Tick, actions: list[Action]) -> None:
        t = ev.t_seconds
        self._maybe_cut(t, actions)
        if self._final_deadline_s is not None and t >= self._final_deadline_s:
            # The recogniser never finalised: go with the last partial.
            self._final_deadline_s = None
            text = self._barge.text if self._barge else ""
            log.warning("no final transcript %.1f s after speech ended; using the partial",
                        self.settings.final_timeout_ms / 1000.0)
            self._on_FinalTranscript(FinalTranscript(text, t), actions)
        if self._listen_deadline_s is not None and t >= self._listen_deadline_s:
            self._listen_deadline_s = None
            if self.state is State.LISTENING and self._barge is None:
                self._pending_record = None
                self.state = State.IDLE
