"""The majordome: the night's conductor (state table, safety reaction, commands, automation).

`service.MajordomeService` runs it inside the orchestrator process; `core.Majordome.preempt()`
is the alerts' hook. Devices are driven only through the ports.
"""
