"""Homes in the lab: event logs, synthetic homes, replay and evaluation, the reference and its benchmark."""
