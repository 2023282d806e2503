"""The alert manager (issue 13): notices in from a folder, VTP brokers and GCN Kafka; parsed,
stored first, judged by strategies kept as data, turned into urgent requests and re-plans.
Partial: no sky tiling of large error boxes (recorded only); the pre-emption and slew are the
majordome's, reached through the injected `on_urgent` / `on_cancel` callbacks (log until wired).
"""
