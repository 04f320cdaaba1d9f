"""Subcommands of the `bargein` CLI: each module has `register(subparsers)`."""

from __future__ import annotations

from pathlib import Path

from bargein.core.errors import OutputError


def output_dir(path: Path) -> Path:
    """``path`` as a directory to write outputs in, created if needed; one line if not."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputError(f"{path} exists and is not a directory; give a directory with "
                          "--out") from None
    except OSError as exc:
        raise OutputError(f"cannot create {path} ({exc.strerror}); give a writable directory "
                          "with --out") from None
    return path
