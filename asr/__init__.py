"""Speech recognition: Vosk streaming recognizer with word timings, model discovery."""
