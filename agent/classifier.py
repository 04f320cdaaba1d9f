"""Telling interruptions apart from their words: backchannel, cancellation, correction, ...

The phrases live in a per-language TOML file shipped with the package
(``bargein/agent/phrases_<lang>.toml``); this module only knows how to match them.
Two questions are asked of it while someone talks over the appliance:

- :meth:`InterruptionClassifier.classify_partial` on the growing transcript: is the
  type already clear, and is it safe to cut the voice now? It never says "cut" while
  the words could still turn into a backchannel ("yeah" may become "yeah yeah" or
  "yeah, but..."), and it cuts on the first decisive word ("stop", "no", "wait").
- :meth:`InterruptionClassifier.classify_final` on the whole utterance: the type that
  is recorded and acted on. The last decisive marker wins, so "actually, never mind"
  is a cancellation although "actually" already cut the voice as a correction.
"""

from __future__ import annotations

import importlib.resources
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bargein.agent.interruption import InterruptionType
from bargein.core.errors import ConfigError
from bargein.core.numbers import cardinal_in, speaks

Tokens = tuple[str, ...]


# Order matters only for ties (a phrase listed in two categories): earlier wins.
_CUT_CATEGORIES = (
    InterruptionType.CANCELLATION,
    InterruptionType.CLARIFICATION,
    InterruptionType.CORRECTION,
    InterruptionType.REDIRECT,
)

_STRIP = re.compile(r"[^\w\s']+")  # punctuation other than the apostrophe
_STRETCH = re.compile(r"(\w)\1{2,}")  # "mmmm" -> "mm"
_DIGITS = re.compile(r"[0-9]+")
_LANGUAGE_CODE = re.compile(r"[a-z]{2,3}")

# Every table and key a phrase pack may hold: anything else is a typo, refused on load.
_PACK_KEYS: dict[str, frozenset[str]] = {
    "spellings": frozenset(),  # any keys: the variants
    "tokens": frozenset({"strip_endings"}),
    "lead_ins": frozenset({"words", "closers"}),
    "backchannel": frozenset({"phrases"}),
    **{kind.value: frozenset({"phrases", "prefixes"}) for kind in _CUT_CATEGORIES},
    "resume": frozenset({"phrases"}),
    "messages": frozenset(),  # any keys: the sentences
    "function_words": frozenset({"words"}),
    "limits": frozenset({"min_redirect_words_final"}),
    "model": frozenset({"vosk", "fetch"}),
    "agent": frozenset({"local_answers"}),
    "spotter": frozenset({"phrases"}),
}
_PACK_TOP_KEYS = frozenset({"language", "numbers"})


@dataclass(frozen=True)
class Decision:
    """What the words so far say.

    ``kind`` is None while undecided; for a cut type it is provisional (the final
    transcript settles it). ``safe_to_cut`` is True once stopping the voice cannot be
    a mistake in the sense of the words: they can no longer become a backchannel.
    """

    kind: InterruptionType | None
    safe_to_cut: bool = False

    @property
    def undecided(self) -> bool:
        return self.kind is None


UNDECIDED = Decision(None, False)


def _phrase_list(table: dict[str, Any], key: str, where: str) -> tuple[Tokens, ...]:
    raw = table.get(key, [])
    if not isinstance(raw, list) or not all(isinstance(p, str) for p in raw):
        raise ConfigError(f"{where}: {key} must be a list of strings; fix the phrase file")
    return tuple(tuple(p.split()) for p in raw if p.split())


def _word_list(table: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    return tuple(w for phrase in _phrase_list(table, key, where) for w in phrase)


def _check_layout(data: dict[str, Any], where: str) -> None:
    """Unknown tables and keys are typos: refused with one line naming them."""
    for name, value in data.items():
        if name in _PACK_TOP_KEYS:
            if not isinstance(value, str):
                raise ConfigError(f"{where}: {name} must be a string; fix the phrase file")
            continue
        if name not in _PACK_KEYS:
            known = ", ".join(sorted([*_PACK_KEYS, *_PACK_TOP_KEYS]))
            raise ConfigError(f"{where}: [{name}] is not part of a phrase pack; "
                              f"tables and keys are {known}")
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: [{name}] must be a table; fix the phrase file")
        allowed = _PACK_KEYS[name]
        for key, item in value.items():
            if allowed and key not in allowed:
                raise ConfigError(f"{where}: [{name}] {key} is not a key of [{name}]; "
                                  f"keys are {', '.join(sorted(allowed))}")
            if not allowed and not isinstance(item, str):
                raise ConfigError(f"{where}: [{name}] {key} must be a string; fix the phrase file")


@dataclass(frozen=True)
class ModelNeed:
    """The Vosk model a language needs: its directory name under the state dir's
    ``models/`` (what ``[asr] model`` defaults to) and how to get it (one line)."""

    vosk: str = ""
    fetch: str = ""


@dataclass(frozen=True)
class PhraseBook:
    """One language's phrase file, already split into canonical tokens."""

    language: str
    spellings: dict[str, Tokens]
    lead_ins: frozenset[str]
    backchannels: tuple[Tokens, ...]
    phrases: dict[InterruptionType, frozenset[Tokens]]
    prefixes: dict[InterruptionType, tuple[Tokens, ...]]
    resume: frozenset[Tokens]
    messages: dict[str, str]
    min_redirect_words_final: int
    function_words: frozenset[str] = frozenset()
    """Words that carry no content ("the", "is"): what :meth:`InterruptionClassifier.
    replaces_said_words` looks past."""
    closers: tuple[Tokens, ...] = ()
    """Courtesy words that close an utterance without changing it ("quiet, please")."""
    numbers: str = ""
    """num2words's code for the language: digits in a transcript are spelled in it
    ("2" -> "two"); empty leaves them as they are."""
    strip_endings: tuple[str, ...] = ()
    """Word endings dropped from a longer word before matching (Korean's polite "요":
    "멈춰요" -> "멈춰"), so a pack lists each phrase once."""
    model: ModelNeed = ModelNeed()
    """The recognition model the language needs."""
    local_answers: str = ""
    """The language the local agent answers in (its canned answers), when not this one."""
    spotter: tuple[str, ...] = ()
    """The command spotter's grammar for this language (``[spotter] phrases``); empty:
    ``[asr] command_phrases`` (English) stands."""

    def phrase_texts(self) -> tuple[str, ...]:
        """Every phrase of the book once, as words: backchannels, each cut category's
        phrases and prefixes, and the resume phrases (what a phrase judge listens for)."""
        groups = [self.backchannels, tuple(self.resume)]
        for kind in _CUT_CATEGORIES:
            groups += [tuple(self.phrases[kind]), self.prefixes[kind]]
        return tuple(dict.fromkeys(" ".join(p) for group in groups for p in sorted(group)))

    @classmethod
    def load(cls, language: str) -> PhraseBook:
        """Read ``phrases_<language>.toml`` from the ``bargein.agent`` package, checked:
        a mistake raises :class:`ConfigError`, one line naming the file and the key."""
        return _load_pack(language)

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "phrases") -> PhraseBook:
        _check_layout(data, where)
        numbers = str(data.get("numbers", ""))
        if numbers and not speaks(numbers):
            raise ConfigError(f"{where}: numbers = {numbers!r} is not a language num2words "
                              "spells; use its code (en, ko, de, ...) or leave it out")
        spellings = {
            key.lower(): tuple(str(value).split())
            for key, value in data.get("spellings", {}).items()
        }
        phrases: dict[InterruptionType, frozenset[Tokens]] = {}
        prefixes: dict[InterruptionType, tuple[Tokens, ...]] = {}
        for kind in _CUT_CATEGORIES:
            table = data.get(kind.value, {})
            phrases[kind] = frozenset(_phrase_list(table, "phrases", f"{where} [{kind.value}]"))
            prefixes[kind] = _phrase_list(table, "prefixes", f"{where} [{kind.value}]")
        backchannels = _phrase_list(
            data.get("backchannel", {}), "phrases", f"{where} [backchannel]"
        )
        if not backchannels:
            raise ConfigError(f"{where}: [backchannel] phrases is empty; list at least one")
        limits = data.get("limits", {})
        model = data.get("model", {})
        book = cls(
            language=str(data.get("language", "")),
            spellings=spellings,
            lead_ins=frozenset(data.get("lead_ins", {}).get("words", [])),
            backchannels=backchannels,
            phrases=phrases,
            prefixes=prefixes,
            resume=frozenset(_phrase_list(data.get("resume", {}), "phrases", f"{where} [resume]")),
            messages={str(k): str(v) for k, v in data.get("messages", {}).items()},
            min_redirect_words_final=int(limits.get("min_redirect_words_final", 2)),
            function_words=frozenset(
                str(w).lower() for w in data.get("function_words", {}).get("words", [])),
            closers=_phrase_list(data.get("lead_ins", {}), "closers", f"{where} [lead_ins]"),
            numbers=numbers,
            strip_endings=_word_list(data.get("tokens", {}), "strip_endings", f"{where} [tokens]"),
            model=ModelNeed(vosk=str(model.get("vosk", "")), fetch=str(model.get("fetch", ""))),
            local_answers=str(data.get("agent", {}).get("local_answers", "")),
            spotter=tuple(" ".join(p) for p in _phrase_list(
                data.get("spotter", {}), "phrases", f"{where} [spotter]")),
        )
        book.check(where)
        return book

    def check(self, where: str) -> None:
        """Every phrase already in the pack's canonical form (what :meth:`InterruptionClassifier.
        normalise` makes of it), and no phrase both a backchannel and a cut: either would
        never match as written."""
        ear = InterruptionClassifier(self)
        groups: list[tuple[str, tuple[Tokens, ...]]] = [
            ("backchannel", self.backchannels), ("resume", tuple(sorted(self.resume))),
            ("spotter", tuple(tuple(p.split()) for p in self.spotter))]
        for kind in _CUT_CATEGORIES:
            groups += [(kind.value, tuple(sorted(self.phrases[kind]))),
                       (kind.value, self.prefixes[kind])]
        for table, phrases in groups:
            for phrase in phrases:
                canonical = ear.normalise(" ".join(phrase))
                if canonical != phrase:
                    raise ConfigError(
                        f"{where}: [{table}] {' '.join(phrase)!r} is read as "
                        f"{' '.join(canonical)!r} (spellings, endings, numbers); write that")
        backchannels = set(self.backchannels)
        for kind in _CUT_CATEGORIES:
            both = sorted(" ".join(p) for p in self.phrases[kind] if p in backchannels)
            if both:
                raise ConfigError(f"{where}: [{kind.value}] {both[0]!r} is also a backchannel; "
                                  "keep it in one of the two")


def available_languages() -> tuple[str, ...]:
    """The languages whose phrase pack ships in the package."""
    names = (r.name for r in importlib.resources.files("bargein.agent").iterdir())
    return tuple(sorted(n[len("phrases_"):-len(".toml")] for n in names
                        if n.startswith("phrases_") and n.endswith(".toml")))


def _load_pack(language: str) -> PhraseBook:
    name = f"phrases_{language}.toml"
    if not _LANGUAGE_CODE.fullmatch(language):
        raise ConfigError(f"language {language!r} is not a language code; set [bargein] "
                          f"language to one of {', '.join(available_languages())}")
    resource = importlib.resources.files("bargein.agent").joinpath(name)
    if not resource.is_file():
        raise ConfigError(
            f"no phrase pack for language {language!r} ({name}); set [bargein] language to "
            f"one of {', '.join(available_languages())}, or add the pack (README: "
            "\"How a third language is added\")"
        )
    try:
        data = tomllib.loads(resource.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{name} is not valid TOML ({exc}); fix the phrase file") from exc
    if data.get("language") != language:
        raise ConfigError(f"{name}: language = {data.get('language')!r} does not match the "
                          f"file name; write language = {language!r}")
    return PhraseBook.from_dict(data, where=name)


class InterruptionClassifier:
    """Classifies what someone said over the appliance, from a phrase book.

    ``redirect_after_words``/``redirect_after_ms``: speech that matches no phrase but
    keeps going this long is a redirect (a new request), so the voice is cut.
    """

    def __init__(
        self,
        phrases: PhraseBook,
        *,
        redirect_after_words: int = 4,
        redirect_after_ms: float = 1500.0,
    ) -> None:
        self.phrases = phrases
        self.redirect_after_words = redirect_after_words
        self.redirect_after_ms = redirect_after_ms

    @classmethod
    def from_language(
        cls, language: str, *, redirect_after_words: int = 4, redirect_after_ms: float = 1500.0
    ) -> InterruptionClassifier:
        return cls(
            PhraseBook.load(language),
            redirect_after_words=redirect_after_words,
            redirect_after_ms=redirect_after_ms,
        )

    # -- tokens ---------------------------------------------------------------------

    def normalise(self, text: str) -> Tokens:
        """Canonical tokens: case, punctuation, hyphens and ASR spellings folded."""
        text = text.lower().replace("-", " ").replace("\u2019", "'")
        text = _STRETCH.sub(r"\1\1", _STRIP.sub(" ", text))
        if self.phrases.numbers:
            text = _DIGITS.sub(lambda m: " " + cardinal_in(int(m.group()), self.phrases.numbers)
                               .replace("-", " ").replace(",", "") + " ", text)
        spellings = self.phrases.spellings
        tokens: list[str] = []
        for raw in text.split():
            word = raw.strip("'")
            if not word:
                continue
            if word not in spellings:
                for ending in self.phrases.strip_endings:
                    if len(word) > len(ending) and word.endswith(ending):
                        word = word[: -len(ending)]
                        break
            tokens.extend(spellings.get(word, (word,)))
        return tuple(tokens)

    # -- backchannels -----------------------------------------------------------------

    def is_backchannel(self, tokens: Sequence[str]) -> bool:
        """The tokens are one or more whole backchannel phrases ("yeah yeah", "okay right")."""
        return bool(tokens) and self._backchannel_run(tuple(tokens), complete=True)

    def could_be_backchannel(self, tokens: Sequence[str]) -> bool:
        """The tokens could still grow into a backchannel run ("uh" -> "uh huh")."""
        return self._backchannel_run(tuple(tokens), complete=False)

    def opens_with_backchannel(self, tokens: Sequence[str]) -> bool:
        """More words follow a backchannel phrase that opens the tokens ("yes wrong",
        "okay stop"): the listener's "yes" may go on as "yes right"."""
        tokens = tuple(tokens)
        return any(len(tokens) > len(p) and tokens[:len(p)] == p
                   for p in self.phrases.backchannels)

    def _backchannel_run(self, tokens: Tokens, complete: bool) -> bool:
        reachable = {0}
        for start in range(len(tokens) + 1):
            if start not in reachable:
                continue
            if start == len(tokens):
                return True
            rest = tokens[start:]
            for phrase in self.phrases.backchannels:
                if rest[: len(phrase)] == phrase:
                    reachable.add(start + len(phrase))
                elif not complete and len(rest) < len(phrase) and phrase[: len(rest)] == rest:
                    return True
        return False

    def is_resume(self, text: str) -> bool:
        """The whole utterance asks to hear the rest ("continue", "yes please")."""
        tokens = self.normalise(text)
        resume = self.phrases.resume
        return any(t in resume or self._strip_lead_ins(t, keep_last=True) in resume
                   for t in (tokens, self._strip_closers(tokens)))

    # -- cut categories ---------------------------------------------------------------

    def _strip_closers(self, tokens: Tokens) -> Tokens:
        """Drop courtesy words that close a longer utterance ("cancel, thanks")."""
        changed = True
        while changed:
            changed = False
            for closer in self.phrases.closers:
                if len(tokens) > len(closer) and tokens[-len(closer):] == closer:
                    tokens = tokens[:-len(closer)]
                    changed = True
        return tokens

    def _strip_lead_ins(self, tokens: Tokens, keep_last: bool = False) -> Tokens:
        """Drop fillers and backchannel phrases that open a longer utterance."""
        changed = True
        while changed and tokens:
            changed = False
            if tokens[0] in self.phrases.lead_ins and (len(tokens) > 1 or not keep_last):
                tokens = tokens[1:]
                changed = True
                continue
            for phrase in self.phrases.backchannels:
                if len(tokens) > len(phrase) and tokens[: len(phrase)] == phrase:
                    tokens = tokens[len(phrase):]
                    changed = True
                    break
        return tokens

    def _match(self, tokens: Tokens) -> tuple[InterruptionType | None, int]:
        """The cut category the tokens open with, and how many tokens decided it.

        An exact phrase takes the whole utterance; otherwise the longest prefix wins.
        """
        for kind in _CUT_CATEGORIES:
            if tokens in self.phrases.phrases[kind]:
                return kind, len(tokens)
        best: tuple[InterruptionType | None, int] = (None, 0)
        for kind in _CUT_CATEGORIES:
            for prefix in self.phrases.prefixes[kind]:
                if len(prefix) > best[1] and tokens[: len(prefix)] == prefix:
                    best = (kind, len(prefix))
        return best

    def _markers(self, tokens: Tokens) -> tuple[Tokens, list[tuple[InterruptionType, int, int]]]:
        """The decisive markers in a row that open an utterance ("actually" then "never
        mind"), each after lead-ins, as (category, start, end) in the tokens without their
        closers, which come back too. Words that open no marker end the row."""
        tokens = self._strip_closers(tokens)
        row: list[tuple[InterruptionType, int, int]] = []
        at = 0
        while at < len(tokens):
            start = len(tokens) - len(self._strip_lead_ins(tokens[at:]))
            kind, used = self._match(tokens[start:])
            if kind is None:
                break
            row.append((kind, start, start + used))
            at = start + used
        return tokens, row

    def _settle(self, tokens: Tokens) -> InterruptionType | None:
        """The cut category of a whole utterance: the last decisive marker wins."""
        _, row = self._markers(tokens)
        return row[-1][0] if row else None

    def _in_progress(self, tokens: Tokens) -> bool:
        """The tokens are a strict prefix of a phrase or prefix ("never" of "never mind")."""
        n = len(tokens)
        for kind in _CUT_CATEGORIES:
            for phrase in (*self.phrases.phrases[kind], *self.phrases.prefixes[kind]):
                if len(phrase) > n and phrase[:n] == tokens:
                    return True
        return False

    # -- the two questions ------------------------------------------------------------

    def classify_partial(self, tokens: Sequence[str], speech_ms: float = 0.0) -> Decision:
        """Decide on a growing transcript, as early as the words allow.

        ``speech_ms`` is how long the person has been talking (from the VAD onset); it
        only feeds the redirect rule. The caller enforces ``min_cut_speech_ms``.
        """
        tokens = tuple(tokens)
        if not tokens or self.could_be_backchannel(tokens):
            return UNDECIDED
        body = self._strip_closers(self._strip_lead_ins(tokens))
        if not body:
            return UNDECIDED
        kind, _used = self._match(body)
        if kind is not None:
            return Decision(kind, True)
        if self._in_progress(body):
            return UNDECIDED
        if len(body) >= self.redirect_after_words or speech_ms >= self.redirect_after_ms:
            return Decision(InterruptionType.REDIRECT, True)
        return UNDECIDED

    def classify_final(self, text: str) -> InterruptionType:
        """The settled type of a finished utterance."""
        return self.classify_tokens(self.normalise(text))

    def classify_tokens(self, tokens: Sequence[str]) -> InterruptionType:
        """The settled type of a finished utterance, from its canonical tokens."""
        tokens = self._strip_closers(tuple(tokens))
        if not tokens:
            return InterruptionType.NOISE
        if self.is_backchannel(tokens):
            return InterruptionType.BACKCHANNEL
        kind = self._settle(tokens)
        if kind is not None:
            return kind
        body = self._strip_lead_ins(tokens)
        if len(body) >= self.phrases.min_redirect_words_final:
            return InterruptionType.REDIRECT
        return InterruptionType.NOISE

    def ends_with_standalone_opener(self, tokens: Sequence[str]) -> bool:
        """Whether the tokens' deciding marker ends them and is both a whole phrase and a
        prefix of its category: a word like "no" or "stop" that is decisive on its own
        and holds its category whatever follows (so a verdict on "no" speaks for "no, I
        said Tuesday"). An opener that never stands alone ("i mean", "can you") is how
        many sentences start, and sounds like more ("i need a table ..."); a phrase that
        is no prefix ("can you repeat", "stop that") speaks only for itself."""
        tokens = tuple(tokens)
        _, row = self._markers(tokens)
        if not row or row[-1][2] != len(tokens):
            return False
        kind, start, end = row[-1]
        marker = tokens[start:end]
        return marker in self.phrases.prefixes[kind] and marker in self.phrases.phrases[kind]

    def through_open_opener(self, tokens: Sequence[str]) -> Tokens:
        """The tokens up to the end of their first opener of an open category (one with
        openers but no whole phrases: the redirect's "what about", "can you"), whose
        words after it are open content. A phrase-biased ear (the phrase judge) forces
        that content onto phrase words ("what about stop that right" for "what about
        Saturday"), so what it heard after such an opener is no evidence."""
        tokens = tuple(tokens)
        _, row = self._markers(tokens)
        for kind, _start, end in row:
            if not self.phrases.phrases[kind]:
                return tokens[:end]
        return tokens

    def replaces_said_words(self, tokens: Sequence[str], said: frozenset[str]) -> bool:
        """Whether a few words repeat some of what the appliance was just saying and change
        the rest ("front left" over "the rear left speaker ..."): a correction without a
        "no". Function words count for neither; a pack without them never says so."""
        content = [t for t in tokens if t not in self.phrases.function_words]
        if not self.phrases.function_words or not content:
            return False
        kept = sum(1 for t in content if t in said)
        return 0 < kept < len(content)

    def message(self, key: str) -> str:
        """A sentence the appliance says itself (may be empty: say nothing)."""
        return self.phrases.messages.get(key, "")
