"""A real HTTP server on 127.0.0.1 speaking Home Assistant's REST conversation API.

Home Assistant's shapes (developers.home-assistant.io, "Conversation API"; REST API):

- ``GET /api/`` with ``Authorization: Bearer <token>`` answers
  ``{"message": "API running."}``; a wrong or missing token gets HTTP 401 and the
  plain-text body ``401: Unauthorized``;
- ``POST /api/conversation/process`` takes ``{"text", "language"?, "conversation_id"?}``
  and answers ``{"response": {"response_type", "language", "data", "speech":
  {"plain": {"speech", "extra_data"}}, "card": {}}, "conversation_id"}`` where
  ``response_type`` is ``action_done``, ``query_answer`` or ``error`` (then
  ``data.code`` says why, e.g. ``no_intent_match``, ``no_valid_targets``).

The house: a few lights by area (kitchen, living room, bedroom), whose state the
intents change and report. Sentences understood, like Home Assistant's built-in
English ones: "turn on/off the <area> light(s)", "turn the <area> light on/off",
"is the <area> light on/off", "which lights are on", and one long answer as an
owner's own intent (``intent_script``) or an LLM-backed agent gives: "how is the house"
or "what's happening at home" (every light, then doors, heating and appliances; about
25 s spoken). "Please", "can you" and "could you" in front are skipped, as Home
Assistant's skip words are. Anything else is
``no_intent_match``; an unknown area is ``no_valid_targets``. A conversation id is
made for a request without one and echoed back for a request with one.

Each request takes the next mode from ``plan(...)`` (the last one repeats):
``normal``; ``slow`` (waits ``delay_s`` before answering; the intent still runs, as
in Home Assistant); ``401`` / ``500`` / any status (that status; 500 with Home
Assistant's JSON error body); ``malformed`` (a 200 whose body is not JSON); ``no_speech`` (the intent runs,
the speech is empty, as with a custom intent that sets none); ``reset``
(the connection is reset before any response). Every request is recorded.

Run it alone for a manual check: ``python -m bargein.bench.ha_server --port 8123
--token TOKEN``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from bargein.bench.http_test_server import (
    QuietHandler,
    ScriptedServer,
    TrackingHTTPServer,
    take_mode,
)

DEFAULT_TOKEN = "test-ha-token"
DEFAULT_LIGHTS = {"kitchen": True, "living room": False, "bedroom": False}


@dataclass
class HaRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None
    mode: str


@dataclass
class _State:
    token: str = DEFAULT_TOKEN
    modes: list[str] = field(default_factory=lambda: ["normal"])
    delay_s: float = 2.0
    lights_on: dict[str, bool] = field(default_factory=lambda: dict(DEFAULT_LIGHTS))
    requests: list[HaRequest] = field(default_factory=list)


_TURN = re.compile(
    r"^turn (?:(?P<s1>on|off) (?:the )?(?P<a1>[a-z ]+?) lights?"
    r"|(?:the )?(?P<a2>[a-z ]+?) lights? (?P<s2>on|off))$"
)
_ASK = re.compile(r"^(?:is|are) (?:the )?(?P<area>[a-z ]+?) lights? (?P<state>on|off)$")
_WHICH = re.compile(r"^(?:which|what) lights are on$")
_REPORT = re.compile(r"^(?:how is|how s|what s happening (?:in|at)) (?:the )?(?:house|home)$")
_REPORT_REST = (
    "The front door is locked and the back door is closed. The thermostat in the hall is "
    "set to twenty one degrees, and it is nineteen degrees outside. The washing machine "
    "finished its cycle forty minutes ago, so the laundry is ready to hang up. Nobody has "
    "rung the doorbell since this morning. The dishwasher is half full."
)


def _normalise(text: str) -> str:
    return " ".join(re.sub(r"[^a-z ]", " ", text.lower()).split())


_SKIP = re.compile(r"^(?:(?:please|can you|could you|would you) )+|(?: please)+$")
"""Home Assistant's skip words around a sentence ("please", "can you", ...; its English
``_common.yaml``)."""


def handle_sentence(lights_on: dict[str, bool], text: str) -> tuple[str, str, dict[str, Any]]:
    """(response_type, speech, data) for one sentence, changing ``lights_on`` as asked."""
    sentence = _SKIP.sub("", _normalise(text))
    if match := _TURN.match(sentence):
        area = match["a1"] or match["a2"]
        on = (match["s1"] or match["s2"]) == "on"
        if area not in lights_on:
            return "error", f"Sorry, I am not aware of any area called {area}", {
                "code": "no_valid_targets"}
        lights_on[area] = on
        entity = {"type": "entity", "name": f"{area.title()} Light",
                  "id": f"light.{area.replace(' ', '_')}"}
        return "action_done", f"Turned {'on' if on else 'off'} the {area} light", {
            "targets": [{"type": "area", "name": area.title(), "id": area.replace(" ", "_")},
                        {"type": "domain", "name": "light", "id": "light"}],
            "success": [entity], "failed": []}
    if match := _ASK.match(sentence):
        area = match["area"]
        if area not in lights_on:
            return "error", f"Sorry, I am not aware of any area called {area}", {
                "code": "no_valid_targets"}
        asked_on = match["state"] == "on"
        yes = lights_on[area] == asked_on
        return "query_answer", f"{'Yes' if yes else 'No'}, the {area} light is " \
            f"{'on' if lights_on[area] else 'off'}", {"targets": [], "success": [], "failed": []}
    if _WHICH.match(sentence):
        on = [area for area, state in lights_on.items() if state]
        speech = (f"The {' and the '.join(on)} light{'s are' if len(on) > 1 else ' is'} on"
                  if on else "No lights are on")
        return "query_answer", speech, {"targets": [], "success": [], "failed": []}
    if _REPORT.match(sentence):
        lights = ". ".join(f"The {area} light is {'on' if state else 'off'}"
                           for area, state in lights_on.items())
        return "query_answer", f"Here is the house. {lights}. {_REPORT_REST}", {
            "targets": [], "success": [], "failed": []}
    return "error", "Sorry, I couldn't understand that", {"code": "no_intent_match"}


class _Server(TrackingHTTPServer):
    def __init__(self, state: _State, port: int = 0) -> None:
        self.state = state
        super().__init__(_Handler, port)


class _Handler(QuietHandler):
    server: _Server

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        mode = self._record(None)
        if self._misbehave(mode):
            return
        if self.path != "/api/":
            self._send(404, b"404: Not Found", "text/plain")
        elif self._authorised():
            self._json(200, {"message": "API running."})

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        mode = self._record(body if isinstance(body, dict) else None)
        if self._misbehave(mode):
            return
        if self.path != "/api/conversation/process":
            self._send(404, b"404: Not Found", "text/plain")
            return
        if not self._authorised():
            return
        if not isinstance(body, dict) or not isinstance(body.get("text"), str):
            self._json(400, {"message": "Message format incorrect: required key 'text'"})
            return
        state = self.server.state
        with self.server.lock:
            response_type, speech, data = handle_sentence(state.lights_on, body["text"])
        if mode == "slow" and self.wait_for_close(state.delay_s):
            return
        if mode == "no_speech":
            speech = ""
        conversation_id = body.get("conversation_id") or uuid.uuid4().hex.upper()[:26]
        self._json(200, {
            "response": {
                "speech": {"plain": {"speech": speech, "extra_data": None}},
                "card": {},
                "language": body.get("language") or "en",
                "response_type": response_type,
                "data": data,
            },
            "conversation_id": conversation_id,
            "continue_conversation": False,
        })

    # --- helpers ---------------------------------------------------------------------

    def _record(self, body: dict[str, Any] | None) -> str:
        state = self.server.state
        with self.server.lock:
            mode = take_mode(state)
            state.requests.append(
                HaRequest(self.command, self.path, dict(self.headers.items()), body, mode)
            )
        return mode

    def _misbehave(self, mode: str) -> bool:
        if mode.isdigit():
            status = int(mode)
            if status == 401:
                self._send(401, b"401: Unauthorized", "text/plain")
            else:
                self._json(status, {"message": f"Test server says {status}"})
            return True
        if mode == "reset":
            self.reset_connection()
            return True
        if mode == "malformed":
            self._send(200, b"<html>not json</html>", "application/json")
            return True
        return False

    def _authorised(self) -> bool:
        if self.headers.get("Authorization", "") == f"Bearer {self.server.state.token}":
            return True
        self._send(401, b"401: Unauthorized", "text/plain")
        return False

    def _json(self, status: int, obj: dict[str, Any]) -> None:
        self._send(status, json.dumps(obj).encode(), "application/json")

    def _send(self, status: int, data: bytes, content_type: str) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()
        except OSError:
            self.close_connection = True  # the client went away


class HaTestServer(ScriptedServer[HaRequest]):
    """Start with :meth:`start`, stop with :meth:`stop` (joins every thread or fails)."""

    def __init__(self, token: str = DEFAULT_TOKEN, port: int = 0) -> None:
        state = _State(token=token)
        super().__init__(_Server(state, port), state, "home assistant test server")

    @property
    def url(self) -> str:
        return self.base_url

    @property
    def token(self) -> str:
        return self.state.token

    def light_on(self, area: str) -> bool:
        with self._server.lock:
            return self.state.lights_on[area]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="a Home Assistant conversation API to test "
                                     "against (lights in the kitchen, living room, bedroom)")
    parser.add_argument("--port", type=int, default=8123)
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    parser.add_argument("--mode", action="append", help="plan these modes (repeatable)")
    args = parser.parse_args(argv)
    server = HaTestServer(args.token, args.port)
    if args.mode:
        server.plan(*args.mode)
    server.start()
    print(f"home assistant test server at {server.url} (Ctrl-C stops)", flush=True)
    try:
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C stops it
            while True:
                time.sleep(3600)
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
