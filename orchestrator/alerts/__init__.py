"""The alert manager (issue 13): notices in from a folder, VTP brokers and GCN Kafka; parsed,
stored first, judged by strategies kept as data, turned into urgent requests and re-plans.
"""
