"""Lab code: replays, benchmarks, fault scenarios, synthetic data, dataset loaders, model fitting.

Nothing that runs in production imports it; ``eldercare bench …`` and ``eldercare replay …`` call it.

- :mod:`lab.falls` — IMU recording sets, the fall replay and its augmentations, fitting the score,
  the NumPy reference of the fall kernels and their benchmark.
- :mod:`lab.homes` — home event logs, synthetic homes, the home replay and evaluation, the Python
  reference of the home kernel and its benchmark.
- :mod:`lab.bench` — whole-platform benchmarks (end to end, load, scaling, SLA, faults, stream).
- :mod:`lab.faults` — fault scenarios on real processes.
"""
