"""Kitchen timers ring: the bell polls the local agent's real timers and the real state
machine says the ring, holds it while busy, and takes "stop" over it as a cancellation."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import pytest

from bargein.agent.classifier import InterruptionClassifier
from bargein.agent.conversation import Conversation
from bargein.agent.interruption import InterruptionType
from bargein.agent.local import LocalAgent
from bargein.device import events
from bargein.device import machine as m
from bargein.device.appliance_settings import BargeinSettings
from bargein.device.timer_bell import POLL_S, TimerBell

START = datetime(2026, 11, 25, 10, 0)


class Clock:
    """Wall time the test moves on: the local agent's clock."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class Appliance:
    """The pipeline's part the bell talks to: the machine's state and its actions."""

    def __init__(self) -> None:
        self.machine = m.BargeinMachine(BargeinSettings(), InterruptionClassifier.from_language("en"))
        self.state = "idle"
        self.actions: list[events.Action] = []

    def handle(self, event: events.Event) -> None:
        for action in self.machine.handle(event):
            self.actions.append(action)
            if isinstance(action, events.StatusChanged):
                self.state = action.state

    def spoken(self) -> list[str]:
        return [a.text for a in self.actions if isinstance(a, events.Speak)]


def _set_timer(agent: LocalAgent, request: str) -> str:
    conversation = Conversation()
    conversation.add_user(request)
    return "".join(agent.reply(conversation))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def agent(clock: Clock) -> LocalAgent:
    return LocalAgent(clock=clock)


def test_a_timer_rings_at_its_time_in_the_machines_voice(clock, agent, caplog):
    assert _set_timer(agent, "set a timer for five seconds") == "Timer set for five seconds."
    bell, appliance = TimerBell(agent), Appliance()
    clock.advance(4.9)
    assert bell.tick(appliance, 10.0) is None
    assert appliance.spoken() == []
    clock.advance(0.1)
    with caplog.at_level(logging.INFO, logger="bargein.device.timer_bell"):
        timer = bell.tick(appliance, 10.0 + POLL_S)
    assert timer is not None and timer.duration_s == 5.0
    assert appliance.spoken() == ["Your five second timer is done."]
    assert appliance.state == "speaking"
    lines = [r for r in caplog.records if r.name == "bargein.device.timer_bell"]
    assert len(lines) == 1
    assert "timer 1 rang: five second timer" in lines[0].getMessage()
    assert lines[0].BARGEIN_TIMER_ID == 1 and lines[0].BARGEIN_TIMER_S == 5.0
    assert agent.next_due() is None
    assert bell.tick(appliance, 20.0) is None  # a timer rings once
    assert appliance.spoken() == ["Your five second timer is done."]


def test_a_ring_while_the_appliance_thinks_waits_until_it_is_idle(clock, agent, caplog):
    _set_timer(agent, "set a timer for two seconds")
    bell, appliance = TimerBell(agent), Appliance()
    appliance.handle(events.FinalTranscript("tell me how you work", 1.0))
    assert appliance.state == "thinking"
    clock.advance(3.0)
    with caplog.at_level(logging.INFO, logger="bargein.device.timer_bell"):
        assert bell.tick(appliance, 3.0) is None
    assert "saying it once idle (now thinking)" in caplog.text
    assert bell.waiting == 1 and appliance.spoken() == []

    reply_id = next(a.reply_id for a in appliance.actions if isinstance(a, events.SendToAgent))
    appliance.handle(events.AgentText("I listen all the time.", reply_id, 3.1, final=True))
    assert bell.tick(appliance, 3.5) is None  # the answer is playing
    utterance = appliance.machine.utterance_id
    assert utterance is not None
    appliance.handle(events.PlaybackFinished(utterance, 5.0))
    assert appliance.state == "idle"
    assert bell.tick(appliance, 5.03) is not None
    assert appliance.spoken() == ["I listen all the time.", "Your two second timer is done."]
    assert bell.waiting == 0


def test_two_timers_due_together_ring_one_after_the_other(clock, agent):
    _set_timer(agent, "set a timer for one minute")
    _set_timer(agent, "set a timer for two minutes")
    bell, appliance = TimerBell(agent), Appliance()
    clock.advance(180.0)
    assert bell.tick(appliance, 1.0) is not None
    assert bell.waiting == 1
    assert appliance.spoken() == ["Your one minute timer is done."]
    appliance.handle(events.PlaybackFinished(appliance.machine.utterance_id or -1, 3.0))
    assert bell.tick(appliance, 3.03) is not None
    assert appliance.spoken()[-1] == "Your two minute timer is done."


def test_stop_over_the_ring_is_a_cancellation_of_the_ring(clock, agent):
    _set_timer(agent, "set a timer for five seconds")
    bell, appliance = TimerBell(agent), Appliance()
    clock.advance(5.0)
    bell.tick(appliance, 10.0)
    ring = appliance.machine.utterance_id
    assert ring is not None
    appliance.handle(events.SpeechStarted(10.6, 10.7))
    appliance.handle(events.PartialTranscript("stop", 10.95))
    appliance.handle(events.SpeechEnded(11.0, 11.1))
    appliance.handle(events.FinalTranscript("stop", 11.2))
    assert any(isinstance(a, events.Cut) for a in appliance.actions)
    records = [a.record for a in appliance.actions if isinstance(a, events.LogInterruption)]
    assert len(records) == 1
    record = records[0]
    assert record.type is InterruptionType.CANCELLATION and record.handling == "cancelled"
    assert record.agent_text == "Your five second timer is done."
    assert record.utterance_id == ring
    assert not any(isinstance(a, events.SendToAgent) for a in appliance.actions)


def test_the_machine_says_a_ring_only_when_idle():
    appliance = Appliance()
    appliance.handle(events.SpeechStarted(0.5, 0.6))
    assert appliance.state == "listening"
    appliance.handle(events.TimerRang("Your one minute timer is done.", 0.7))
    assert appliance.spoken() == [] and appliance.state == "listening"
