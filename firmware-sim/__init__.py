"""Device firmware simulators speaking protocol v1 over MQTT (SOS button, sensors, homes)."""

from firmware_sim.device import SimulatedDevice

__all__ = ["SimulatedDevice"]
