"""The planner (seed SCHED, §5.2): turns sequences into the night's schedule with astroplan.

`night` (twilights, the shared grid), `visibility` (vectorised constraints), `scheduler` (greedy
placement), `search`/`improve`/`dispatch` (local search after it), `io` (the offline JSON of
`pyros plan`), `service` (re-planning from the database), `check` (astroplan's own constraints
re-checking a schedule), `bound` (CP-SAT's proven optimum, for the benchmark).
"""
