"""ASCOM Alpaca adapters (alpyca) implementing the orchestrator's device ports."""
