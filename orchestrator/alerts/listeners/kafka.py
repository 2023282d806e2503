"""GCN Kafka JSON notices through `gcn-kafka`: `subscribe()` (every partition), manual commit
after storage. Client id and secret come from the config or PYROS_GCN_CLIENT_ID /
PYROS_GCN_CLIENT_SECRET and are never logged.
"""

from __future__ import annotations

import logging
import os
import threading
import time

from orchestrator.alerts.listeners.base import Listener
from orchestrator.alerts.manager import AlertManager, Arrival, Received
from orchestrator.config import KafkaAlertsConfig

log = logging.getLogger(__name__)


def consumer_config(cfg: KafkaAlertsConfig) -> tuple[dict, str | None, str | None]:
    config = {
        "group.id": cfg.group_id,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "security.protocol": cfg.security_protocol,
        "fetch.wait.max.ms": cfg.fetch_wait_max_ms,
    }
    if cfg.bootstrap_servers:
        config["bootstrap.servers"] = cfg.bootstrap_servers
    client_id = cfg.client_id or os.environ.get("PYROS_GCN_CLIENT_ID")
    secret = (
        cfg.client_secret.get_secret_value()
        if cfg.client_secret
        else os.environ.get("PYROS_GCN_CLIENT_SECRET")
    )
    return config, client_id, secret


class KafkaListener(Listener):
    name = "alerts-kafka"

    def __init__(self, manager: AlertManager, cfg: KafkaAlertsConfig, backoff_max_s=60.0):
        super().__init__(manager, backoff_max_s)
        self.cfg = cfg

    def serve(self, stop: threading.Event) -> None:
        import confluent_kafka
        import gcn_kafka

        config, client_id, secret = consumer_config(self.cfg)
        consumer = gcn_kafka.Consumer(config, client_id=client_id, client_secret=secret)
        try:
            consumer.subscribe(list(self.cfg.topics))  # every partition, rebalanced by the group
            log.info("%s: subscribed to %s", self.name, ", ".join(self.cfg.topics))
            while not stop.is_set():
                self.beat()
                message = consumer.poll(0.5)
                if message is None:
                    continue
                error = message.error()
                if error is not None:
                    if error.code() == confluent_kafka.KafkaError._PARTITION_EOF:
                        continue
                    if error.fatal():
                        raise RuntimeError(f"Kafka: {error.str()}")
                    log.debug("%s: %s", self.name, error.str())
                    continue
                self.connected_ok()
                arrival = Arrival(
                    message.value() or b"",
                    "kafka",
                    message.topic(),
                    time.perf_counter(),
                    time.time(),
                )

                def commit(received: Received, message=message) -> None:  # stored first
                    consumer.commit(message=message, asynchronous=False)

                self.manager.handle(arrival, commit)
        finally:
            consumer.close()
