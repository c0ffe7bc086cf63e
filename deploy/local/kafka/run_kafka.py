"""Start the local Kafka (KRaft, combined broker + controller), formatting its storage first.

    python run_kafka.py <server.properties> <log4j2.xml> <cluster-id-file>

Formats ``log.dirs`` with ``kafka.tools.StorageTool format --standalone`` when it holds no
``meta.properties`` yet, then replaces itself with ``java ... kafka.Kafka server.properties``
so that supervisord supervises the JVM directly. Classpath: the jars that
``deploy/local/install.py kafka`` copied from Maven Central into the cache.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from layout import kafka_libs  # noqa: E402

HEAP = ["-Xms256m", "-Xmx512m"]
# The collector and the JIT are the ones Kafka's own scripts choose (kafka-run-class.sh,
# KAFKA_JVM_PERFORMANCE_OPTS): the serial collector's young pauses took 26-34 ms each, the
# tail of every cross-replica relay, and C1 alone (-XX:TieredStopAtLevel=1) cost 0.35-0.37 ms
# of broker CPU per relayed message against 0.22-0.25 ms once C2 has compiled the hot paths
# (bench/README.md, "Relay across replicas").
JVM = [
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:InitiatingHeapOccupancyPercent=35",
    "-XX:+ExplicitGCInvokesConcurrent",
    "-Djava.awt.headless=true",
]


def log_dirs(properties: Path) -> Path:
    for line in properties.read_text().splitlines():
        if line.startswith("log.dirs="):
            return Path(line.split("=", 1)[1].strip())
    raise SystemExit(f"{properties}: no log.dirs")


def main() -> None:
    properties, log4j, cluster_id_file = (Path(a) for a in sys.argv[1:4])
    libs = kafka_libs()
    if not (libs / ".complete").exists():
        raise SystemExit(f"Kafka jars missing in {libs}: run ./taskw install")
    java = [
        "java",
        *HEAP,
        *JVM,
        f"-Dlog4j2.configurationFile={log4j}",
        "-cp",
        f"{libs}/*",
    ]
    data = log_dirs(properties)
    if not (data / "meta.properties").exists():
        data.mkdir(parents=True, exist_ok=True)
        cluster_id = cluster_id_file.read_text().strip()
        print(f"run_kafka: formatting {data} (cluster id {cluster_id})", flush=True)
        subprocess.run(
            [*java, "kafka.tools.StorageTool", "format", "--standalone",
             "-t", cluster_id, "-c", str(properties)],
            check=True,
        )
    os.execvp("java", [*java, "kafka.Kafka", str(properties)])


if __name__ == "__main__":
    main()
