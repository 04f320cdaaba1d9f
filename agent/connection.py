"""Aborting an HTTP request from another thread: shut its socket down.

httpx has no thread-safe cancel; the agents keep the socket its trace hook reports
(httpcore's network stream) and shut it down, which wakes a blocked read at once.
"""

from __future__ import annotations

import socket
from typing import Any


def shutdown_network_stream(network_stream: Any) -> None:
    """Shut down the socket under an httpcore network stream; nothing if there is none yet
    or it is already closed."""
    if network_stream is None:
        return
    sock = network_stream.get_extra_info("socket")
    if sock is None:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        return  # already closed by the peer or by us
