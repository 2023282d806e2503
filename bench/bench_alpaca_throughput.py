"""Benchmark: GET issafe throughput and latency, our gateway vs the alpaca-simulators package.

Both servers run as their own processes on loopback and get the same load in the same run:
8 concurrent clients (threads, keep-alive HTTP/1.1), a bounded number of requests each.
Targets: our requests/s >= the third-party SafetyMonitor's, our p99 <= 10 ms.
Run: .venv/bin/python bench/bench_alpaca_throughput.py [requests_per_client]
"""

from __future__ import annotations

import http.client
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _gateway_support import free_port, get_json, start_gateway, stop, wait_http  # noqa: E402

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


def start_third_party(folder: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    exe = shutil.which("alpaca-simulators") or str(
        Path(sys.executable).parent / "alpaca-simulators"
    )
    config = (folder / "alpaca_simulators.yaml").resolve()  # absolute: see PLATFORM.md
    proc = subprocess.Popen(
        [exe, "--host", "127.0.0.1", "--port", str(port), "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_http(port)
    return proc, port


def report(name: str, rate: float, latencies: list[float]) -> tuple[float, float]:
    q = statistics.quantiles(latencies, n=100)
    p50, p99 = statistics.median(latencies), q[98]
    print(f"  {name:<34} {rate:8.0f} req/s   p50 {p50:5.2f} ms   p99 {p99:6.2f} ms")
    return rate, p99


def main(requests_per_client: int = 1000) -> None:
    with tempfile.TemporaryDirectory() as folder, PlcSimulator() as sim:
        ours, our_port = start_gateway(Path(folder), sim.port)
        theirs, their_port = start_third_party(Path(folder))
        try:
            get_json(
                our_port,
                "/api/v1/safetymonitor/0/connected",
                "PUT",
                f"Connected=true&ClientID={CLIENT_ID}",
            )
            results = {}
            for name, port in (
                ("alpaca-simulators SafetyMonitor", their_port),
                ("PyROS gateway SafetyMonitor", our_port),
            ):
                load(port, 50)  # warm-up
                results[name] = load(port, requests_per_client)
        finally:
            stop(ours)
            stop(theirs)
    print(f"GET issafe, {CLIENTS} concurrent clients x {requests_per_client} requests, loopback:")
    (their_rate, _), (our_rate, our_p99) = (report(n, *r) for n, r in results.items())
    verdict = "MET" if our_rate >= their_rate and our_p99 <= 10 else "NOT MET"
    print(f"  target: >= third-party throughput and p99 <= 10 ms: {verdict}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
