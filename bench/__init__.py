"""Everything that measures, scores or demonstrates the appliance: scenarios in the virtual
room, the simulator, baselines, scoring, reports and timelines, the demo, the oracle, and the
``bargein perf`` probes (:mod:`bargein.bench.probes`). The appliance never imports it."""
