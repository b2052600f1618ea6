"""Device firmware simulators speaking protocol v1 and Zigbee2MQTT over MQTT: homes at city scale.

- :mod:`firmware_sim.mqtt`: a small MQTT 3.1.1 client (will, back-off, QoS 1 outbox), thousands per loop
- :mod:`firmware_sim.clock`: simulated time (faster than real, jumps) and one scheduler per process
- :mod:`firmware_sim.kinds`, :mod:`firmware_sim.signals`: device kinds as data, accelerometer signals
- :mod:`firmware_sim.home`: a resident's routine and the home's devices; incidents
- :mod:`firmware_sim.fleet`: many homes, their connections, :func:`~firmware_sim.fleet.seed_registry`
- :mod:`firmware_sim.scenarios`: inject incidents and match the platform's alerts to them
- :mod:`firmware_sim.run`: ``eldercare sim`` and the load generator process of ``eldercare bench load``
"""

from firmware_sim.device import SimulatedDevice

__all__ = ["SimulatedDevice"]
