"""The orchestrator's device layer: ports (interfaces), errors, the guard and the registry.

Adapters live outside (`alpaca_devices`, `indi_bridge`) and are loaded by name from the
configuration; nothing here imports alpyca or PyIndi.
"""
