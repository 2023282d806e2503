"""PyROS orchestrator: the domain model, configuration, clock, jobs and CLI.

Every other package depends on this one; it depends on none of them (ports inward).
"""
