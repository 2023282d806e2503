"""INDI adapters (pyindi-client) implementing the orchestrator's device ports."""
