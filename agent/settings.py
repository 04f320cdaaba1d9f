"""Config table ``[agent]``: who answers."""

from __future__ import annotations

from dataclasses import dataclass

from bargein.core.settings import setting


@dataclass(frozen=True)
class AgentSettings:
    """The agent that answers: local rules (offline), an OpenAI-compatible LLM or Home Assistant."""

    kind: str = setting(
        "local",
        "local = the offline rules agent; llm = an OpenAI-compatible chat-completions "
        "endpoint; homeassistant = Home Assistant's conversation API (lights, switches...); "
        "llm and homeassistant fall back to local on failure",
        choices=("local", "llm", "homeassistant"),
    )
    llm_url: str = setting(
        "http://127.0.0.1:11434/v1",
        "Base URL of the chat-completions API (OpenAI, Ollama, llama.cpp server, vLLM)",
    )
    model: str = setting("llama3.2", "Model name sent to the LLM endpoint")
    system_prompt: str = setting(
        "You are a helpful voice assistant in a room. Answer briefly, in plain spoken "
        "sentences, without lists or markdown.",
        "System prompt for the LLM",
    )
    api_key_env: str = setting(
        "BARGEIN_API_KEY",
        "Environment variable holding the API key when no systemd credential "
        "`agent-api-key` is loaded",
    )
    connect_timeout_s: float = setting(3.0, "Connect timeout", unit="s", min=0.1, max=60.0)
    first_token_timeout_s: float = setting(
        8.0, "Longest wait for the first token, retries included; then the local agent answers",
        unit="s", min=0.1, max=120.0
    )
    token_gap_timeout_s: float = setting(
        5.0, "Longest silence between tokens once streaming", unit="s", min=0.1, max=120.0
    )
    retries: int = setting(
        2, "Retries before the first token (with back-off, within the first-token budget)",
        min=0, max=10,
    )
    retry_backoff_s: float = setting(
        0.25,
        "First back-off before a retry; doubles each retry, never past the first-token budget",
        unit="s",
        min=0.0,
        max=10.0,
    )
    max_answer_chars: int = setting(
        4000, "Longest answer spoken (about four minutes of speech); the answer ends there "
        "and the rest is dropped", unit="characters", min=100, max=1_000_000,
    )
    max_answer_s: float = setting(
        90.0, "Longest an answer may keep streaming from its request; then it ends where it "
        "is (a model trickling tokens cannot keep the appliance busy)", unit="s",
        min=1.0, max=3600.0,
    )
    max_tokens: int = setting(
        400, "Most tokens the LLM may generate for one answer (0 = the server's default)",
        min=0, max=32768,
    )
    ha_url: str = setting(
        "http://homeassistant.local:8123",
        "Base URL of Home Assistant (kind = homeassistant); the turn is POSTed to "
        "<ha_url>/api/conversation/process",
    )
    ha_token_env: str = setting(
        "BARGEIN_HA_TOKEN",
        "Environment variable holding Home Assistant's long-lived access token when no "
        "systemd credential `ha-token` is loaded",
    )
    ha_language: str = setting(
        "",
        "Language sent with each turn (like en or ko); empty = Home Assistant's own "
        "configured language",
    )
    ha_agent_id: str = setting(
        "",
        "Which of Home Assistant's conversation agents answers (agent_id, like "
        "conversation.openai_conversation for one backed by an LLM, as ha_heard_context = "
        "prefix needs); empty = Home Assistant's default agent",
    )
    ha_timeout_s: float = setting(
        8.0, "Longest wait for Home Assistant's answer; then the local agent answers",
        unit="s", min=0.1, max=120.0,
    )
    ha_heard_context: str = setting(
        "none",
        "After an interruption, how the words the user heard reach Home Assistant, whose "
        "API takes only the text: none = the user's words alone (Home Assistant's built-in "
        "sentence matcher needs them bare); prefix = a short sentence before them saying "
        "what was heard (for a conversation agent backed by an LLM)",
        choices=("none", "prefix"),
    )
