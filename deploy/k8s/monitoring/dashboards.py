"""Parley's Grafana dashboards as code (grafana-foundation-sdk), written to dashboards/*.json.

Four dashboards: an overview (RED per service), signaling (sockets, rooms, relays, fan-out lag,
replicas), meetings and chat, Kafka and the outboxes. kustomization.yaml delivers each JSON as
a ConfigMap labelled ``grafana_dashboard: "1"`` for Grafana's dashboard sidecar.

Every query uses only metrics listed in docs/metrics.md (``up`` aside) or series recorded by
prometheusrule.yaml, and no Grafana variable but the data source, so each runs unchanged
against any Prometheus: tests/infra/test_k8s_monitoring.py runs every one against the test
stack's Prometheus after a call and requires data.

Usage: ``.venv/bin/python deploy/k8s/monitoring/dashboards.py`` writes the files;
``--check`` exits 1 (naming them) when a committed file differs from what this code makes.
``./taskw dashboards`` runs the first.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from grafana_foundation_sdk.builders import dashboard, prometheus, stat, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import DataSourceRef, GridPos

OUT = Path(__file__).resolve().parent / "dashboards"
#: The services with a ServiceMonitor (servicemonitors.yaml): every Parley service but web.
SERVICES = "auth|meetings|chat|signaling|turn-config"
DATASOURCE = DataSourceRef(type_val="prometheus", uid="${datasource}")


@dataclass(frozen=True)
class Query:
    """One panel target: a PromQL expression and its legend (``{{label}}`` templates)."""

    expr: str
    legend: str = ""


@dataclass(frozen=True)
class Chart:
    """A panel: ``kind`` is ``timeseries`` or ``stat``; ``unit`` a Grafana unit id."""

    title: str
    description: str
    queries: tuple[Query, ...]
    unit: str = "short"
    kind: str = "timeseries"
    width: int = 12


def _panel(chart: Chart, panel_id: int, x: int, y: int):
    builder = stat.Panel() if chart.kind == "stat" else timeseries.Panel()
    builder = (
        builder.id(panel_id)
        .title(chart.title)
        .description(chart.description)
        .datasource(DATASOURCE)
        .unit(chart.unit)
        .grid_pos(GridPos(h=8, w=chart.width, x=x, y=y))
    )
    for ref, query in zip("ABCDEFGH", chart.queries, strict=False):
        builder = builder.with_target(
            prometheus.Dataquery().expr(query.expr).legend_format(query.legend or "__auto").ref_id(ref)
        )
    return builder


def build(uid: str, title: str, description: str, rows: list[tuple[str, list[Chart]]]) -> dict:
    """A dashboard as Grafana's JSON model (a dict): ``rows`` of (row title, charts), the
    charts laid out left to right, 24 columns wide."""
    board = (
        dashboard.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(["parley"])
        .time("now-1h", "now")
        .refresh("30s")
        .timezone("browser")
        .with_variable(dashboard.DatasourceVariable("datasource").label("Data source").type("prometheus"))
    )
    y, panel_id = 0, 0
    for row_title, charts in rows:
        panel_id += 1
        board = board.with_row(dashboard.Row(row_title).id(panel_id).grid_pos(GridPos(h=1, w=24, x=0, y=y)))
        y += 1
        x = 0
        for chart in charts:
            if x + chart.width > 24:
                x, y = 0, y + 8
            panel_id += 1
            board = board.with_panel(_panel(chart, panel_id, x, y))
            x += chart.width
        y += 8
    return json.loads(json.dumps(board.build(), cls=JSONEncoder))


def overview() -> dict:
    by_service = "{{service}}"
    return build(
        "parley-overview",
        "Parley / Overview",
        "RED per service: request rate, 5xx ratio, latency; instances, store, tokens, TURN.",
        [
            ("Requests, errors, duration (HTTP; socket.io traffic is on the signaling dashboard)", [
                Chart("Requests per second", "HTTP requests served, per service (recorded).",
                      (Query("service:parley_http_requests:rate5m", by_service),), "reqps", width=8),
                Chart("5xx ratio", "Share of HTTP requests answered 5xx (alert ParleyHighErrorRatio above 5 %).",
                      (Query("service:parley_http_error_ratio:rate5m", by_service),), "percentunit", width=8),
                Chart("p99 latency", "99th percentile of HTTP request duration (alert ParleyHighLatencyP99 above 1 s).",
                      (Query("service:parley_http_request_duration_seconds:p99_5m", by_service),), "s", width=8),
                Chart("p50 latency", "Median HTTP request duration per service.",
                      (Query("histogram_quantile(0.5, sum by (service, le) "
                             "(rate(parley_http_request_duration_seconds_bucket[5m])))", by_service),), "s"),
                Chart("Requests by status", "HTTP requests per second by service and status code.",
                      (Query("sum by (service, status) (rate(parley_http_requests_total[5m]))",
                             "{{service}} {{status}}"),), "reqps"),
            ]),
            ("Instances and dependencies", [
                Chart("Instances up", "Scraped instances answering /metrics (alerts ParleyServiceDown, ParleyInstanceDown).",
                      (Query(f'sum by (service) (up{{service=~"{SERVICES}"}})', by_service),), width=8),
                Chart("Store available", "1 while the service's MongoDB answers (lowest instance).",
                      (Query("min by (service) (parley_store_available)", by_service),), width=8),
                Chart("503 store unavailable", "Requests answered 503 because the database could not be reached.",
                      (Query("sum by (service) (rate(parley_store_unavailable_responses_total[5m]))", by_service),),
                      "reqps", width=8),
                Chart("Access tokens refused", "Refused access tokens by reason (unknown_key, invalid: forged or junk).",
                      (Query("sum by (reason) (rate(parley_tokens_refused_total[5m]))", "{{reason}}"),), "reqps", width=8),
                Chart("Logins", "auth logins by result.",
                      (Query("sum by (result) (rate(parley_auth_logins_total[5m]))", "{{result}}"),), "ops", width=8),
                Chart("TURN credentials", "TURN credentials issued, and credential requests failing with 5xx.",
                      (Query("sum(rate(parley_turn_credentials_issued_total[5m]))", "issued"),
                       Query('sum(rate(parley_http_requests_total{service="turn-config",'
                             'route="/api/turn/credentials",status=~"5.."}[5m])) or vector(0)', "5xx")),
                      "ops", width=8),
            ]),
            ("Processes", [
                Chart("CPU per instance", "CPU seconds per second of each service process.",
                      (Query(f'sum by (service, instance) (rate(process_cpu_seconds_total{{service=~"{SERVICES}"}}[5m]))',
                             "{{instance}}"),), "percentunit"),
                Chart("Resident memory per instance", "Resident set size of each service process.",
                      (Query(f'sum by (service, instance) (process_resident_memory_bytes{{service=~"{SERVICES}"}})',
                             "{{instance}}"),), "bytes"),
            ]),
        ],
    )


def signaling() -> dict:
    return build(
        "parley-signaling",
        "Parley / Signaling",
        "Sockets, rooms, relayed messages, the cross-replica fan-out and its lag, replicas.",
        [
            ("Sockets and rooms", [
                Chart("Connected sockets", "Sockets per replica and in total (alert ParleySignalingSocketsNearCapacity "
                      "above 1800 per pod; the HPA's target is 2000).",
                      (Query("sum by (instance) (parley_signaling_connected_sockets)", "{{instance}}"),
                       Query("parley:signaling_connected_sockets:sum", "total"))),
                Chart("Rooms", "Meeting rooms with at least one socket (the room directory; every replica sees all).",
                      (Query("max(parley_signaling_rooms)", "rooms"),), width=6),
                Chart("Replicas", "Signaling replicas answering /metrics, and those that hear the fan-out bus.",
                      (Query('count(up{service="signaling"} == 1)', "up"),
                       Query("sum(parley_signaling_fanout_bus_up)", "hearing the bus")), kind="stat", width=6),
                Chart("Sockets in rooms", "Room directory entries: this replica's own sockets and the others'.",
                      (Query("sum by (instance, scope) (parley_signaling_directory_entries)", "{{instance}} {{scope}}"),)),
                Chart("Connections", "Connection attempts by result (too_many_sockets: a user at "
                      "PARLEY_SIGNALING_MAX_SOCKETS_PER_USER on a replica).",
                      (Query("sum by (result) (rate(parley_signaling_connections_total[5m]))", "{{result}}"),), "ops"),
                Chart("Disconnecting sockets", "Sockets whose disconnect is still being handled (their leave, "
                      "peer-left and events not all sent): a mass close's backlog; above zero for long, the replica is "
                      "behind.",
                      (Query("sum by (instance) (parley_signaling_disconnecting_sockets)", "{{instance}}"),)),
                Chart("Held participants", "Resumable participants whose socket dropped, held for "
                      "PARLEY_SIGNALING_RESUME_SECONDS (rises during a rollout while clients move to other pods).",
                      (Query("sum by (instance) (parley_signaling_held_participants)", "{{instance}}"),)),
            ]),
            ("Broken and hostile clients", [
                Chart("Refused input", "Client input refused before any handler, by reason (docs/signaling.md, "
                      "\"Refused input\"); official clients send none.",
                      (Query("sum by (reason) (rate(parley_signaling_rejected_inputs_total[5m]))", "{{reason}}"),),
                      "ops", width=8),
                Chart("Slow consumers dropped", "Sockets dropped because more than PARLEY_SIGNALING_MAX_QUEUED_BYTES "
                      "waited for their client to read.",
                      (Query("sum by (instance) (rate(parley_signaling_slow_consumers_total[5m]))", "{{instance}}"),),
                      "ops", width=8),
                Chart("Sessions closed unconnected", "Engine.IO sessions closed without a socket.io connection "
                      "within PARLEY_SIGNALING_CONNECT_TIMEOUT_SECONDS.",
                      (Query("sum by (instance) (rate(parley_signaling_unconnected_sessions_closed_total[5m]))",
                             "{{instance}}"),), "ops", width=8),
            ]),
            ("Events and relays", [
                Chart("Client events", "Client events handled, by event.",
                      (Query("sum by (event) (rate(parley_signaling_events_total[5m]))", "{{event}}"),), "ops"),
                Chart("Client event results", "Client events by result: ok or an error code of docs/signaling.md.",
                      (Query("sum by (result) (rate(parley_signaling_events_total[5m]))", "{{result}}"),), "ops"),
                Chart("Relayed messages", "offer, answer and ice-candidate relayed to another peer.",
                      (Query('sum by (event) (rate(parley_signaling_events_total{event=~"offer|answer|ice-candidate"}[5m]))',
                             "{{event}}"),), "ops"),
                Chart("p99 event acknowledgement", "99th percentile from receiving a client event to its acknowledgement "
                      "(a join includes the meetings call and the Kafka round trip; alert ParleySignalingSlowJoins).",
                      (Query("event:parley_signaling_event_duration_seconds:p99_5m", "{{event}}"),), "s"),
            ]),
            ("Fan-out between replicas", [
                Chart("Fan-out messages", "Records on parley.signaling.fanout sent and received, by kind.",
                      (Query("sum by (direction, kind) (rate(parley_signaling_fanout_messages_total[5m]))",
                             "{{direction}} {{kind}}"),), "ops", width=8),
                Chart("Fan-out lag", "Records each replica is behind on the fan-out topic.",
                      (Query('max by (instance) (parley_kafka_consumer_lag_records{service="signaling",'
                             'topic="parley.signaling.fanout"})', "{{instance}}"),), width=8),
                Chart("Fan-out delay", "From a fan-out record's send on any replica until each replica's listener takes "
                      "it (producer batching, Kafka, the fetch): the Kafka part of a cross-replica relay.",
                      (Query("histogram_quantile(0.99, sum by (le) (rate(parley_signaling_fanout_delay_seconds_bucket[5m])))",
                             "p99"),
                       Query("histogram_quantile(0.5, sum by (le) (rate(parley_signaling_fanout_delay_seconds_bucket[5m])))",
                             "p50")), "s", width=8),
                Chart("Replicas dropped, restored sockets", "Other replicas dropped from the directory (by reason) "
                      "and sockets restored after a replica was wrongly presumed dead, last hour.",
                      (Query("sum(increase(parley_signaling_replicas_dropped_total[1h])) or vector(0)", "dropped"),
                       Query("sum(increase(parley_signaling_restored_entries_total[1h]))", "restored")), width=8),
                Chart("Replica link", "Relays straight between replicas (docs/signaling.md, \"Replica link\"), by "
                      "result: sent, received, held for Kafka records sent before them, resent through Kafka after "
                      "a link broke, duplicate copies skipped, malformed.",
                      (Query("sum by (result) (rate(parley_signaling_link_relays_total[5m]))", "{{result}}"),),
                      "ops", width=16),
            ]),
        ],
    )


def meetings_and_chat() -> dict:
    return build(
        "parley-meetings-chat",
        "Parley / Meetings and chat",
        "Meetings created, joined and ended, rosters, summaries; chat posts, refusals, notes; membership.",
        [
            ("Meetings", [
                Chart("Meetings", "Meetings created, users joining and meetings ended.",
                      (Query("sum(rate(parley_meetings_created_total[5m]))", "created"),
                       Query("sum(rate(parley_meetings_joins_total[5m]))", "joins"),
                       Query("sum(rate(parley_meetings_ended_total[5m]))", "ended")), "ops", width=8),
                Chart("Roster events", "Records of parley.participants by type and outcome.",
                      (Query("sum by (type, outcome) (rate(parley_meetings_roster_events_total[5m]))",
                             "{{type}} {{outcome}}"),), "ops", width=8),
                Chart("Summary reads", "GET /api/meetings/{id}: answered from a replica's cache (hit) or the store.",
                      (Query("sum by (result) (rate(parley_meetings_summary_reads_total[5m]))", "{{result}}"),),
                      "ops", width=8),
                Chart("Meetings requests", "meetings' HTTP requests by route.",
                      (Query('sum by (route) (rate(parley_http_requests_total{service="meetings"}[5m]))', "{{route}}"),),
                      "reqps"),
                Chart("Meetings p99 by route", "99th percentile of meetings' HTTP request duration by route.",
                      (Query('histogram_quantile(0.99, sum by (route, le) '
                             '(rate(parley_http_request_duration_seconds_bucket{service="meetings"}[5m])))', "{{route}}"),),
                      "s"),
            ]),
            ("Chat", [
                Chart("Chat messages and notes", "Messages stored, private notes saved.",
                      (Query("sum(rate(parley_chat_messages_posted_total[5m]))", "messages"),
                       Query("sum(rate(parley_chat_notes_saved_total[5m]))", "notes")), "ops", width=8),
                Chart("Post refusals", "Posts refused after validation, by reason.",
                      (Query("sum by (reason) (rate(parley_chat_post_refusals_total[5m]))", "{{reason}}"),), "ops", width=8),
                Chart("Chat requests", "chat's HTTP requests by route.",
                      (Query('sum by (route) (rate(parley_http_requests_total{service="chat"}[5m]))', "{{route}}"),),
                      "reqps", width=8),
            ]),
            ("Membership (chat and signaling)", [
                Chart("Membership lookups", "Who answered membership questions: the projection, meetings over HTTP, "
                      "meetings refusing, or nobody.",
                      (Query("sum by (service, source) (rate(parley_membership_lookups_total[5m]))",
                             "{{service}} {{source}}"),), "ops", width=8),
                Chart("Projection size", "Meetings in each process's membership projection.",
                      (Query("max by (service) (parley_membership_projection_meetings)", "{{service}}"),), width=8),
                Chart("Projection warm", "1 once the projection applied every record present at start-up (lowest instance).",
                      (Query("min by (service) (parley_membership_projection_warm)", "{{service}}"),), width=8),
            ]),
        ],
    )


def kafka_and_outbox() -> dict:
    return build(
        "parley-kafka-outbox",
        "Parley / Kafka and outbox",
        "Consumer lag, the outbox relays (published, failures, backlog), events consumed and published.",
        [
            ("Outbox relays (auth, meetings, chat)", [
                Chart("Outbox backlog", "Events stored but not yet on Kafka, as each service's relay last saw them "
                      "(alert ParleyOutboxBacklog when never 0 for 10 minutes).",
                      (Query("service:parley_outbox_backlog_events:max", "{{service}}"),), width=8),
                Chart("Published", "Events the relays published and Kafka acknowledged.",
                      (Query("service:parley_outbox_published:rate5m", "{{service}}"),), "ops", width=8),
                Chart("Relay failures", "Relay attempts that failed (Kafka or the store; alert ParleyOutboxRelayFailing).",
                      (Query("sum by (service) (rate(parley_outbox_relay_failures_total[5m]))", "{{service}}"),),
                      "ops", width=8),
            ]),
            ("Consumers", [
                Chart("Consumer lag", "Records behind the end of each topic, worst instance (alert ParleyKafkaConsumerLag "
                      "above 1000).",
                      (Query("service_topic:parley_kafka_consumer_lag_records:max", "{{service}} {{topic}}"),)),
                Chart("Signaling: events consumed", "meeting.ended and chat.message.posted consumed by signaling, by result.",
                      (Query("sum by (type, result) (rate(parley_signaling_consumed_events_total[5m]))",
                             "{{type}} {{result}}"),), "ops"),
            ]),
            ("Published without an outbox (signaling)", [
                Chart("participant.* events", "Published to parley.participants by signaling: failed and dropped are lost.",
                      (Query("sum by (type, result) (rate(parley_signaling_participant_events_total[5m]))",
                             "{{type}} {{result}}"),), "ops", width=8),
                Chart("Fan-out bus", "Replicas hearing their own heartbeats on the fan-out topic (0 on all: Kafka away).",
                      (Query("min(parley_signaling_fanout_bus_up)", "lowest"),
                       Query("sum(parley_signaling_fanout_bus_up)", "replicas hearing")), width=8),
                Chart("Fan-out undelivered", "Fan-out messages Kafka did not acknowledge.",
                      (Query("sum(rate(parley_signaling_fanout_undelivered_total[5m]))", "undelivered"),), "ops", width=8),
            ]),
        ],
    )


#: file name (dashboards/<name>.json) -> its dashboard
DASHBOARDS = {
    "parley-overview": overview,
    "parley-signaling": signaling,
    "parley-meetings-chat": meetings_and_chat,
    "parley-kafka-outbox": kafka_and_outbox,
}


def render() -> dict[str, str]:
    """Every dashboard's JSON text by file name."""
    return {f"{name}.json": json.dumps(make(), indent=2, sort_keys=True) + "\n" for name, make in DASHBOARDS.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a committed file is out of date")
    args = parser.parse_args(argv)
    stale = []
    for name, text in render().items():
        path = OUT / name
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
        else:
            OUT.mkdir(exist_ok=True)
            path.write_text(text)
            print(f"wrote {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")
    if stale:
        print(f"out of date: {', '.join(stale)}; run ./taskw dashboards", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
