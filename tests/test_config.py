"""The config loader: defaults, the example file, and one clear line per mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from bargein.core.errors import ConfigError
from bargein.device.cli import main
from bargein.device.config import Config, load_config, render_example

REPO = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_defaults_when_no_file(monkeypatch, tmp_path):
    monkeypatch.delenv("BARGEIN_CONFIG", raising=False)
    monkeypatch.setattr("bargein.device.config.DEFAULT_CONFIG_PATH", tmp_path / "absent.toml")
    assert load_config() == Config()


def test_example_file_is_in_sync_and_loads():
    example = REPO / "systemd" / "config.example.toml"
    assert example.read_text() == render_example(), "run: bargein config --example > systemd/config.example.toml"
    assert load_config(example) == Config()


def test_values_are_read(tmp_path):
    cfg = load_config(write(tmp_path, '[vad]\nmin_speech_ms = 120\n[bargein]\nduck_db = -12\n'))
    assert cfg.vad.min_speech_ms == 120
    assert cfg.bargein.duck_db == -12.0 and isinstance(cfg.bargein.duck_db, float)


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("[vad]\nmin_speech = 100\n", ["[vad] min_speech", "unknown key", "min_speech_ms"]),
        ("[vadd]\n", ["[vadd]", "unknown table", "[vad]"]),
        ('[vad]\nmin_speech_ms = "100"\n', ["[vad] min_speech_ms", "expected an integer"]),
        ("[button]\nenabled = 1\n", ["[button] enabled", "true or false"]),
        ("[vad]\naggressiveness = 7\n", ["[vad] aggressiveness", "out of range", "0 to 3"]),
        ("[audio]\nframe_ms = 25\n", ["[audio] frame_ms", "one of 10, 20, 30"]),
        ("[agent]\nkind = 'cloud'\n", ["[agent] kind", "'local', 'llm'"]),
        ("[vad\n", ["not valid TOML"]),
        ("[bargein]\nlanguage = 'fr'\n", ["[bargein] language", "no phrase pack", "en, ko"]),
        ("[appliance]\nlanguage = 'ko'\n", ["[appliance]", "[bargein] language"]),
    ],
)
def test_mistakes_are_one_clear_line(tmp_path, text, fragments):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert "\n" not in message
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message


def test_a_language_with_a_pack_is_accepted(tmp_path):
    assert load_config(write(tmp_path, '[bargein]\nlanguage = "ko"\n')).bargein.language == "ko"


def test_missing_explicit_file_names_the_fix(tmp_path):
    with pytest.raises(ConfigError, match="config.example.toml"):
        load_config(tmp_path / "nope.toml")


def test_cli_reports_config_error(tmp_path, capsys):
    path = write(tmp_path, "[vad]\nbogus = 1\n")
    assert main(["config", "--config", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bogus" in err


def test_cli_version(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.startswith("bargein ")
