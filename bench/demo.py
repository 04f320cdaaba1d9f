"""The demo conversation: every kind of moment, in the virtual room, through the whole pipeline.

A question; the answer gets an "uh-huh" (it talks on); a cough (it talks on); a
"stop" (it cuts); a "continue" (it plays the rest); a correction over the rest (it
cuts and takes it in). Each comes while the appliance is talking: the answer to
"how do you work" lasts about 40 s. The local agent answers; recognition is
pocketsphinx's bundled English model unless an English Vosk model is installed (said
plainly in the output).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bargein.agent.interruption import InterruptionType
from bargein.bench.scenario import AgentSpec, Expectation, RoomSpec, Scenario, UserClip
from bargein.core.frames import write_wav

DEMO_QUESTION = "how do you work"


def write_cough(path: Path) -> Path:
    """A 250 ms cough-like noise burst (band-limited noise, fast attack, decay) as a WAV."""
    rng = np.random.default_rng(7)
    rate = 16_000
    n = rate // 4
    noise = rng.standard_normal(n)
    smooth = np.convolve(noise, np.ones(6) / 6, mode="same")  # take the hiss off the top
    t = np.arange(n) / rate
    envelope = np.minimum(1.0, t / 0.012) * np.exp(-t / 0.07)
    write_wav(path, (0.5 * smooth * envelope).astype(np.float32), rate)
    return path


def demo_scenario(workdir: Path) -> Scenario:
    """The scripted conversation (times in seconds after the first answer starts)."""
    said = [
        (2.2, "uh-huh", "uh huh", -22.0),
        (5.0, "", None, -24.0),  # a cough (noise clip)
        (8.5, "stop", None, -20.0),
        (11.5, "continue", None, -20.0),
        (17.0, "no, I meant the button", None, -20.0),
    ]
    cough = write_cough(workdir / "cough.wav")
    users = []
    for index, (at_s, text, say, level_db) in enumerate(said):
        if text:
            users.append(UserClip(index, text=text, transcript=text, say=say, level_db=level_db,
                                  at_s=at_s))
        else:
            users.append(UserClip(index, audio=cough, transcript="", level_db=level_db, at_s=at_s))
    return Scenario(
        name="demo",
        path=Path("demo"),
        description="A conversation with a backchannel, a cough, a stop, a continue and a correction",
        agent=AgentSpec(text=""),
        room=RoomSpec(echo_gain_db=-14.0, echo_delay_ms=8.0, reverb_ms=120.0, noise_db=-62.0),
        users=tuple(users),
        buttons=(),
        expect=Expectation("cut", InterruptionType.CORRECTION),
        duration_s=30.0,
    )
