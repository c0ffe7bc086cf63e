"""A stack's own files (deploy/local): its Kafka cluster id is one Kafka accepts, and
`status`/`down` read the port base the stack was started with, and `up` refuses to "check" a
running stack of the same name at another base (it would wait for ports nobody serves)."""

from __future__ import annotations

import uuid

import pytest

import credentials
from layout import Stack

#: base64url of a first byte 0xF8 starts with "-" (index 62)
DASH_FIRST = uuid.UUID(bytes=bytes([0xF8]) + bytes(15))
ORDINARY = uuid.UUID(bytes=bytes([0x10]) + bytes(15))


def test_a_cluster_id_never_starts_with_a_dash(monkeypatch) -> None:
    drawn = iter([DASH_FIRST, ORDINARY])
    monkeypatch.setattr(credentials.uuid, "uuid4", lambda: next(drawn))
    cid = credentials.new_kafka_cluster_id()
    assert cid == "EAAAAAAAAAAAAAAAAAAAAA" and not cid.startswith("-")


def test_a_stack_keeps_its_cluster_id_and_replaces_one_kafka_refuses(tmp_path) -> None:
    stack = Stack(name="t", base=48000, root=tmp_path)
    credentials.ensure(stack)
    first = credentials.kafka_cluster_id(stack)
    credentials.ensure(stack)
    assert credentials.kafka_cluster_id(stack) == first  # kept: Kafka's storage is formatted with it

    credentials.kafka_cluster_id_file(stack).write_text("-AAAAAAAAAAAAAAAAAAAAA")
    credentials.ensure(stack)
    replaced = credentials.kafka_cluster_id(stack)
    assert not replaced.startswith("-") and len(replaced) == 22


def test_status_and_down_find_the_port_base_the_stack_was_started_with(tmp_path) -> None:
    import render
    import stack as stack_cli
    from components import select

    started = Stack(name="t", base=41000, root=tmp_path)
    credentials.ensure(started)
    render.write_stack_file(started, select(started, "infra"))
    # a Stack named without a base gets the default; the stack file says what `up` used
    assert stack_cli.recorded_base(Stack(name="t", base=48000, root=tmp_path)) == 41000
    assert stack_cli.recorded_base(Stack(name="never-started", base=48000, root=tmp_path)) is None


def test_up_refuses_a_running_stack_of_the_same_name_at_another_base(tmp_path, monkeypatch, capsys) -> None:
    import render
    import stack as stack_cli
    from components import select

    started = Stack(name="t", base=41000, root=tmp_path)
    credentials.ensure(started)
    render.write_stack_file(started, select(started, "infra"))
    monkeypatch.setattr(stack_cli.sv, "supervisord_pid", lambda stack: 4242)  # "t" runs
    monkeypatch.setattr(stack_cli, "wait_healthy", lambda *a: pytest.fail("waited for the wrong ports"))
    args = stack_cli.argparse.Namespace(only=None, fresh=True, stall_timeout=1.0, timeout=1.0)

    assert stack_cli.cmd_up(Stack(name="t", base=48000, root=tmp_path), args) == 2
    assert "already running on port base 41000, not 48000" in capsys.readouterr().out
