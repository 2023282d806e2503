"""The `[alerts]` section: validated once, listeners made from it, the orchestrator's job."""

from __future__ import annotations

import pytest

from orchestrator.alerts.listeners.folder import FolderListener
from orchestrator.alerts.listeners.kafka import KafkaListener, consumer_config
from orchestrator.alerts.listeners.vtp import VtpListener
from orchestrator.alerts.manager import AlertManager
from orchestrator.alerts.service import ListenerSupervisor, alert_job_specs, make_listeners
from orchestrator.alerts.strategy import load_strategies
from orchestrator.config import default_config_text, parse_config
from orchestrator.errors import ConfigError, InputError
from orchestrator.jobs import job_specs
from tests.conftest import make_runtime
from tests.helpers import wait_for

SECTION = """
[alerts]
vtp_brokers = [{address = "127.0.0.1:8099"}, {address = "127.0.0.1:8098"}]
vtp_ivorn_filters = ["ivo://org.svom"]
[alerts.kafka]
enabled = true
topics = ["gcn.notices.svom.voevent.eclairs"]
bootstrap_servers = "127.0.0.1:9092"
security_protocol = "plaintext"
"""


def test_listeners_follow_the_config(tmp_path, clock):
    text = default_config_text().split("[alerts]")[0] + SECTION
    runtime = make_runtime(tmp_path, clock, f"sqlite:///{tmp_path / 'p.db'}")
    runtime.config = parse_config(text, tmp_path)
    listeners = make_listeners(AlertManager(runtime, strategies=[]))
    kinds = [type(x) for x in listeners]
    assert kinds == [FolderListener, VtpListener, VtpListener, KafkaListener]
    assert listeners[1].port == 8099 and listeners[1].ivorn_filters == ("ivo://org.svom",)
    assert listeners[0].folder == tmp_path / "var" / "voevents"


def test_kafka_secrets_come_from_the_environment_when_not_in_the_file(monkeypatch):
    monkeypatch.setenv("PYROS_GCN_CLIENT_ID", "the-id")
    monkeypatch.setenv("PYROS_GCN_CLIENT_SECRET", "the-secret")
    cfg = parse_config(default_config_text(), ".").alerts.kafka
    config, client_id, secret = consumer_config(cfg)
    assert (client_id, secret) == ("the-id", "the-secret")
    assert "the-secret" not in repr(config) and config["enable.auto.commit"] is False


@pytest.mark.parametrize(
    "toml, key",
    [
        ('[alerts]\nvtp_brokers = [{address = "nowhere"}]\n', "alerts.vtp_brokers.0.address"),
        ("[alerts]\nmax_payload_bytes = 10\n", "alerts.max_payload_bytes"),
        (
            '[alerts.kafka]\nsecurity_protocol = "carrier-pigeon"\n',
            "alerts.kafka.security_protocol",
        ),
        ("[alerts]\nsurprise = 1\n", "alerts.surprise"),
    ],
)
def test_bad_alert_config_names_the_key(toml, key):
    text = default_config_text().split("[alerts]")[0] + toml
    with pytest.raises(ConfigError) as info:
        parse_config(text, ".")
    assert info.value.key == key


def test_a_bad_strategy_file_names_the_file_and_the_field(tmp_path):
    (tmp_path / "a.toml").write_text('name = "a"\npriority = 500\n[match]\n')
    with pytest.raises(InputError) as info:
        load_strategies(tmp_path)
    assert info.value.field == "a.toml: priority"


def test_the_orchestrator_job_starts_the_listeners_and_restarts_a_dead_one(tmp_path, clock):
    runtime = make_runtime(tmp_path, clock, f"sqlite:///{tmp_path / 'p.db'}")
    from orchestrator import db

    db.upgrade(runtime.engine)
    assert "alerts" in [spec.name for spec in job_specs(runtime)]
    (spec,) = alert_job_specs(runtime, on_urgent=lambda s, r: None)
    supervisor: ListenerSupervisor = spec.run
    spec.run()
    try:
        (folder,) = supervisor.listeners
        wait_for(folder.connected.is_set, what="folder listener up")
        folder.stop_event.set()
        folder.thread.join(10)
        folder.stop_event.clear()  # as if its thread had died on its own
        spec.run()
        wait_for(folder.connected.is_set, what="folder listener restarted")
        assert folder.thread.is_alive()
    finally:
        supervisor.stop()
    runtime.engine.dispose()


def test_the_kafka_secret_in_the_file_is_never_shown():
    text = default_config_text().replace(
        "[alerts.kafka]", '[alerts.kafka]\nclient_secret = "s3cret-value"', 1
    )
    cfg = parse_config(text, ".")
    assert "s3cret-value" not in repr(cfg) and "s3cret-value" not in str(cfg.model_dump())
    assert consumer_config(cfg.alerts.kafka)[2] == "s3cret-value"
