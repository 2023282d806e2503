"""The three alert sources, each a thread of the orchestrator process (see `start_listeners`)."""
