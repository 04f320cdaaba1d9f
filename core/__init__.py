"""Shared basics every other package may use: the error family, the settings field helper,
audio frames and WAV files, spoken numbers, the version. It imports no other bargein package."""
