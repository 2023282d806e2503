"""Simulators that stand in for hardware and the outside world in tests and demos."""
