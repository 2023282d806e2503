"""The PLC gateway: PLC client, weather/site synthesis, Alpaca SafetyMonitor and
ObservingConditions server with discovery. Runs as its own process (`pyros gateway`)."""
