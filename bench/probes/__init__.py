"""The ``bargein perf`` probes, one per module: every module here has
``figures(quick: bool) -> dict[str, float]`` (flat keys that name their unit), and
``bargein perf --only NAME`` runs the probes whose module name contains NAME."""
