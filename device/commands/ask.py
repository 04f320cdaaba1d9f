"""``bargein ask "TEXT"``: ask the configured agent and print the reply as it streams."""

from __future__ import annotations

import argparse
import dataclasses
import sys

from bargein.agent.conversation import Conversation
from bargein.agent.factory import build_agent
from bargein.agent.sentences import SentenceSplitter
from bargein.device.config import load_config


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "ask",
        help="ask the agent a question and print the reply sentence by sentence",
        description="Check the agent without talking to the device: the reply prints as it "
        "streams, one sentence per line, then which agent answered (and why, on a fallback).",
    )
    p.add_argument("text", help="what the user says")
    p.add_argument("--agent", choices=("local", "llm", "homeassistant"), help="override [agent] kind")
    p.add_argument("--llm-url", help="override [agent] llm_url")
    p.add_argument("--model", help="override [agent] model")
    p.add_argument("--ha-url", help="override [agent] ha_url")
    p.add_argument("--config", help="config file (default /etc/bargein/config.toml)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = load_config(args.config).agent
    overrides = {
        key: value
        for key, value in (("kind", args.agent), ("llm_url", args.llm_url), ("model", args.model),
                             ("ha_url", args.ha_url))
        if value is not None
    }
    settings = dataclasses.replace(settings, **overrides)
    agent, _ = build_agent(settings)
    conversation = Conversation()
    conversation.add_user(args.text)
    stream = agent.reply(conversation)
    splitter = SentenceSplitter()
    try:
        for piece in stream:
            for sentence in splitter.feed(piece):
                print(sentence, flush=True)
        for sentence in splitter.flush():
            print(sentence, flush=True)
    finally:
        close = getattr(agent, "close", None)
        if close is not None:
            close()
    who = f"[answered by: {stream.agent}"
    if stream.fallback_reason:
        who += f", because: {stream.fallback_reason}"
    if stream.end_reason:
        who += f"; the answer ended early: {stream.end_reason}"
    print(who + "]", file=sys.stdout, flush=True)
    return 0
