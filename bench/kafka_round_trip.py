"""Kafka's own round trip, without Parley: aiokafka producer -> broker -> consumer at a constant rate.

The floor under every cross-replica relay (bench/README.md, "Relay across replicas"): one
process sends ``--rate`` small records per second to one partition of ``--topic`` for
``--seconds`` (open loop: record i is due at t0 + i / rate) and reads them back with a
consumer assigned that partition, as a signaling replica reads the fan-out topic. Latency is
the read time minus the due time; the acknowledgement time is Kafka's answer to the produce
request minus the send. CPU per record is the growth of utime + stime of the broker (found by
its listening port) and of this process. Runs once per ``--linger-ms`` value, in turn.

Usage (a stack running): ``.venv/bin/python bench/kafka_round_trip.py --stack-file
.stack/dev/stack.json --linger-ms 0,1``. The records carry the key ``kafka-round-trip``
(signaling's listener counts them as ``other`` and drops them). The last line of stdout is one
JSON object: ``{"benchmark": "kafka_round_trip", "rate", "seconds", "runs": [{"linger_ms",
"received", "ms": {"min", "p50", "p95", "p99", "max", "mean"}, "ack_ms": {...}, "cpu_ms_per_record": {"kafka",
"client"}}]}``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from percentiles import distribution
from procstat import cpu_seconds, load_average, pid_listening_on

REPO = Path(__file__).resolve().parents[1]
KEY = b"kafka-round-trip"


async def one_run(bootstrap: str, topic: str, rate: float, seconds: float, linger_ms: int, kafka_pid: int) -> dict:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks=1, linger_ms=linger_ms)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await producer.start()
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        await consumer.seek_to_end(tp)
        await consumer.position(tp)
        total = int(rate * seconds)
        t0 = time.perf_counter() + 0.1
        latency: dict[int, float] = {}
        acks: list[float] = []

        async def read() -> None:
            deadline = t0 + seconds + 10
            while len(latency) < total and time.perf_counter() < deadline:
                batches = await consumer.getmany(tp, timeout_ms=500)
                now = time.perf_counter()
                for record in batches.get(tp, []):
                    if record.key == KEY:
                        i = int(record.value)
                        latency[i] = (now - (t0 + i / rate)) * 1000

        cpu_before = (cpu_seconds(kafka_pid), cpu_seconds(os.getpid()))
        reader = asyncio.create_task(read())
        for i in range(total):
            if (wait := t0 + i / rate - time.perf_counter()) > 0:
                await asyncio.sleep(wait)
            delivery = await producer.send(topic, str(i).encode(), key=KEY, partition=0)
            sent = time.perf_counter()
            delivery.add_done_callback(lambda _, sent=sent: acks.append((time.perf_counter() - sent) * 1000))
        await reader
        cpu_after = (cpu_seconds(kafka_pid), cpu_seconds(os.getpid()))
    finally:
        await producer.stop()
        await consumer.stop()
    return {
        "linger_ms": linger_ms,
        "received": len(latency),
        "sent": total,
        "ms": distribution([round(ms, 2) for ms in latency.values()]),
        "ack_ms": distribution([round(ms, 2) for ms in acks]),
        "cpu_ms_per_record": {
            "kafka": round((cpu_after[0] - cpu_before[0]) * 1000 / total, 3),
            "client": round((cpu_after[1] - cpu_before[1]) * 1000 / total, 3),
        },
    }


async def bench(args: argparse.Namespace) -> dict:
    stack = json.loads(args.stack_file.read_text())
    bootstrap = stack["kafka_bootstrap_servers"]
    kafka_pid = pid_listening_on(int(bootstrap.rsplit(":", 1)[1]))
    runs = []
    for linger_ms in args.linger_ms:
        run = await one_run(bootstrap, args.topic, args.rate, args.seconds, linger_ms, kafka_pid)
        print(f"[bench] linger {linger_ms} ms: {run['received']}/{run['sent']} received, latency {run['ms']}, "
              f"acknowledgement {run['ack_ms']}, cpu ms/record {run['cpu_ms_per_record']}", file=sys.stderr)
        runs.append(run)
    return {"benchmark": "kafka_round_trip", "rate": args.rate, "seconds": args.seconds, "topic": args.topic,
            "load_average": load_average(), "runs": runs}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/kafka_round_trip.py", description=__doc__.splitlines()[0])
    parser.add_argument("--stack-file", type=Path,
                        default=Path(os.environ.get("PARLEY_STACK_FILE", str(REPO / ".stack/dev/stack.json"))),
                        help="the running stack's stack.json (default the dev stack's)")
    parser.add_argument("--topic", default="parley.signaling.fanout", help="topic (partition 0) to send to and read")
    parser.add_argument("--rate", type=float, default=1000.0, help="records per second (default 1000)")
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds per run (default 10)")
    parser.add_argument("--linger-ms", type=lambda s: [int(x) for x in s.split(",")], default=[0, 1],
                        help="the producer's linger_ms, one run each, comma-separated (default 0,1)")
    args = parser.parse_args(argv)
    summary = asyncio.run(bench(args))
    print(json.dumps(summary), flush=True)
    return 0 if all(run["received"] == run["sent"] for run in summary["runs"]) else 1


if __name__ == "__main__":
    sys.exit(main())
