"""Agents: conversation context, interruption classifier, local rules and LLM agents."""
