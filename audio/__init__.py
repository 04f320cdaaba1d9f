"""Audio: capture, VAD, echo control, playback ring buffer and the device backends."""
