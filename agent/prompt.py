"""The chat-completions ``messages`` for a conversation, with interruptions as heard.

This is the equivalent of truncating the assistant item to what was played:

- an interrupted assistant turn is sent as the words the user heard followed by the
  marker ``[interrupted by the user]``; the unplayed remainder is never sent;
- when the last user turn interrupted the assistant, one extra paragraph is appended
  to the (single, first) system message saying what kind of interruption it was and
  how to answer it, so chat templates that allow only one leading system message
  still work;
- the user's interrupting words are sent verbatim as the last user message.
"""

from __future__ import annotations

from bargein.agent.conversation import Conversation, Interruption
from bargein.agent.interruption import InterruptionType

INTERRUPTED_MARKER = "[interrupted by the user]"
NOTHING_HEARD = "[interrupted by the user before any of this answer was heard]"

_GUIDANCE = {
    InterruptionType.CANCELLATION: "They want you to stop. Acknowledge in a few words and "
    "do not continue the previous answer.",
    InterruptionType.CORRECTION: "They are correcting you. Take their correction into "
    "your next answer instead of repeating the old one.",
    InterruptionType.REDIRECT: "They changed the request. Answer what they ask now.",
    InterruptionType.CLARIFICATION: "They did not catch it. Say the last thing they heard "
    "again, more simply and slowly.",
    InterruptionType.BUTTON: "They pressed the stop button. Say nothing more than a very "
    "short acknowledgement.",
    InterruptionType.WAKE_WORD: "They said the wake word over your answer to ask something "
    "new. Answer what they ask now.",
}


def interruption_note(interruption: Interruption) -> str:
    """The system paragraph describing the interruption the next answer responds to."""
    guidance = _GUIDANCE.get(interruption.type, "Answer what they said.")
    heard = interruption.heard_text.strip()
    where = (
        f'after hearing only: "{heard}"'
        if heard
        else "before hearing any of it"
    )
    return (
        f"The user interrupted your last answer ({interruption.type.value}) {where} "
        f"({interruption.progress_pct:.0f}% of it played); they did not hear the rest. "
        f"{guidance}"
    )


def chat_messages(conversation: Conversation, system_prompt: str) -> list[dict[str, str]]:
    """The ``messages`` array of a chat-completions request for this conversation."""
    system = system_prompt
    pending = conversation.pending_interruption
    if pending is not None and pending.type not in (
        InterruptionType.BACKCHANNEL,
        InterruptionType.NOISE,
    ):
        system = f"{system_prompt}\n\n{interruption_note(pending)}"
    messages = [{"role": "system", "content": system}]
    for turn in conversation.turns:
        if turn.role == "assistant" and turn.interrupted:
            content = f"{turn.text} {INTERRUPTED_MARKER}" if turn.text else NOTHING_HEARD
        else:
            content = turn.text
        messages.append({"role": turn.role, "content": content})
    return messages
