"""A network of telescopes sharing one database: one request pool, one claim per sequence.

Each telescope runs its own orchestrator (`pyros start --telescope NAME`) and plans for its
own site and devices; `claim.py` makes sure a sequence is executed by one telescope only.
"""
