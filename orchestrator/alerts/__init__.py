"""The alert manager: notices in from a folder, VTP brokers and GCN Kafka; parsed, stored
first, judged by strategies kept as data, turned into urgent requests and re-plans. The
pre-emption and the slew are the majordome's, reached through the `on_urgent` / `on_cancel`
callbacks that `orchestrator.jobs` wires to it.
Partial: no sky tiling of large error boxes (recorded only); LVK sky maps are not fetched.
"""
