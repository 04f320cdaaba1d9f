"""Speech synthesis: Piper streamed sentence by sentence with the span of every word."""
