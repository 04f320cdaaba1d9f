"""The appliance: barge-in state machine, daemon wiring, button, config, CLI, event log."""
