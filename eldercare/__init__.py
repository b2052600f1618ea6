"""eldercare: composition root (settings, CLI, embedded services, benchmarks).

The data flow lives in the sibling packages: devices → gateway → stream → alerting → api.
"""

__version__ = "0.1.0"
