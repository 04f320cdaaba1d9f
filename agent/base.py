"""What every agent is: a conversation in, a cancellable stream of text out."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from bargein.agent.conversation import Conversation


class ReplyStream:
    """The text of one reply, piece by piece, that can be cancelled from any thread.

    Iterate it (in one thread) to get text pieces as they are produced. ``cancel()``
    may be called from any other thread: it closes the underlying source at once
    (``on_cancel``) and, once it has returned, the iterator yields nothing more. A
    piece handed out before ``cancel()`` returned may still be in the consumer's hands;
    anything produced after is dropped.

    Attributes the appliance reads after (or during) the reply:

    - ``agent``: which agent produced the text (``"local"``, ``"llm"``);
    - ``fallback_reason``: why the primary agent did not answer, if it did not;
    - ``end_reason``: why a stream ended early after it had started (stall, reset...),
      ``None`` when it ended normally;
    - ``length_scale``: a pace hint for synthesis (above 1.0 = slower, for repeats);
    - ``text``: everything handed out so far.
    """

    def __init__(
        self,
        pieces: Iterator[str],
        *,
        agent: str,
        on_cancel: Callable[[], None] | None = None,
        length_scale: float = 1.0,
    ) -> None:
        self._pieces = pieces
        self._on_cancel = on_cancel
        self._lock = threading.Lock()
        self._cancelled = False
        self._parts: list[str] = []
        self.agent = agent
        self.fallback_reason: str | None = None
        self.end_reason: str | None = None
        self.length_scale = length_scale

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    @property
    def text(self) -> str:
        return "".join(self._parts)

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        if self._cancelled:
            self._close_source()
            raise StopIteration
        piece = next(self._pieces)  # StopIteration ends the stream
        with self._lock:
            cancelled = self._cancelled
            if not cancelled:
                self._parts.append(piece)
                return piece
        self._close_source()
        raise StopIteration

    def _close_source(self) -> None:
        """In the consumer's thread: let a generator source run its cleanup now."""
        close = getattr(self._pieces, "close", None)
        if close is not None:
            close()

    def cancel(self) -> None:
        """Stop the reply now: close the source; nothing more will be yielded."""
        with self._lock:
            if self._cancelled:
                return
            self._cancelled = True
        if self._on_cancel is not None:
            self._on_cancel()


class Agent(Protocol):
    """Anything that answers a conversation with a reply stream."""

    name: str

    def reply(self, conversation: Conversation) -> ReplyStream:
        """Start answering the conversation's last user turn."""
        ...
