"""Benchmark: GET issafe throughput and latency, our gateway vs the alpaca-simulators package.

Both servers run as their own processes on loopback and get the same load in the same run:
8 concurrent clients (threads, keep-alive HTTP/1.1), a bounded number of requests each.
Same conditions on both sides: no per-request log (our waitress server logs none; uvicorn's
access log is turned off, and the shipped one, access log on, is reported on its own line),
alpaca-simulators reads the YAML that `pyros devices simulate` writes (simulators/alpaca_sim.py).
Targets: our requests/s >= the third-party SafetyMonitor's, our p99 <= 10 ms.
Run: .venv/bin/python bench/bench_alpaca_throughput.py [requests_per_client]
"""

from __future__ import annotations

import http.client
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _gateway_support import free_port, get_json, start_gateway, stop, wait_http  # noqa: E402

from orchestrator.config import default_config_text, parse_config  # noqa: E402
from simulators.alpaca_sim import prepare, simulator_argv  # noqa: E402
from simulators.plc_simulator import PlcSimulator  # noqa: E402

CLIENTS = 8
CLIENT_ID = 77


def load(port: int, requests_per_client: int) -> tuple[float, list[float]]:
    """Run the load; return (requests per second, every latency in ms)."""
    path = f"/api/v1/safetymonitor/0/issafe?ClientID={CLIENT_ID}&ClientTransactionID=1"
    latencies: list[list[float]] = [[] for _ in range(CLIENTS)]
    barrier = threading.Barrier(CLIENTS + 1)

    def client(index: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        barrier.wait()
        for _ in range(requests_per_client):
            start = time.perf_counter()
            conn.request("GET", path)
            response = conn.getresponse()
            body = response.read()
            latencies[index].append((time.perf_counter() - start) * 1000)
            if response.status != 200 or b'"Value"' not in body:
                raise RuntimeError(f"bad answer {response.status}: {body[:80]!r}")
        conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    flat = [x for per_client in latencies for x in per_client]
    return len(flat) / elapsed, flat


def start_third_party(folder: Path, access_log: bool) -> tuple[subprocess.Popen, int]:
    """alpaca-simulators on the YAML of `pyros devices simulate`; its own console script
    (uvicorn access log on) or the same app under uvicorn with the access log off."""
    port = free_port()
    site = parse_config(default_config_text(), folder).site
    yaml_path = prepare(folder / "alpaca-sim", site)  # absolute path, written here
    if access_log:
        argv = simulator_argv(yaml_path, "127.0.0.1", port)
    else:  # the console script's own settings, minus the per-request log
        argv = [sys.executable, "-m", "uvicorn", "alpaca_simulators.main:app", "--host"]
        argv += ["127.0.0.1", "--port", str(port), "--timeout-keep-alive", "300"]
        argv += ["--no-access-log"]
    env = {**os.environ, "ASTRA_SIMULATORS_CONFIG": str(yaml_path)}
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    wait_http(port)
    return proc, port


def report(name: str, rate: float, latencies: list[float]) -> tuple[float, float]:
    q = statistics.quantiles(latencies, n=100)
    p50, p99 = statistics.median(latencies), q[98]
    print(f"  {name:<38} {rate:8.0f} req/s   p50 {p50:5.2f} ms   p99 {p99:6.2f} ms")
    return rate, p99


def main(requests_per_client: int = 1000) -> None:
    servers = (
        ("PyROS gateway (waitress, 4 threads)", None),
        ("alpaca-simulators (uvicorn, no log)", False),
        ("alpaca-simulators as shipped (log)", True),
    )
    results = {}
    with tempfile.TemporaryDirectory() as folder, PlcSimulator() as sim:
        for name, access_log in servers:  # one server at a time: none competes for the CPU
            if access_log is None:
                proc, port = start_gateway(Path(folder), sim.port)
                get_json(
                    port,
                    "/api/v1/safetymonitor/0/connected",
                    "PUT",
                    f"Connected=true&ClientID={CLIENT_ID}",
                )
            else:
                proc, port = start_third_party(Path(folder), access_log)
            try:
                load(port, 50)  # warm-up
                results[name] = load(port, requests_per_client)
            finally:
                stop(proc)
    load_avg = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"GET issafe, {CLIENTS} concurrent keep-alive clients x {requests_per_client} requests,"
        f" loopback, load average {load_avg}; no per-request log unless said:"
    )
    rates = {name: report(name, *r) for name, r in results.items()}
    our_rate, our_p99 = rates[servers[0][0]]
    their_rate, _ = rates[servers[1][0]]
    verdict = "MET" if our_rate >= their_rate and our_p99 <= 10 else "NOT MET"
    print(f"  target: >= alpaca-simulators (no log) throughput and p99 <= 10 ms: {verdict}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
