"""Real Tansu and SecantusDB processes: start, answer, round-trip data, restart and stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from pymongo import MongoClient
from pymongo.client_session import ClientSession

from rolepulse.devservices import LocalServices
from rolepulse.devservices.probes import kafka_api_versions, mongo_ping
from rolepulse.devservices.process import pid_alive
from rolepulse.settings import KafkaSettings, MongoSettings

Doc = dict[str, object]


def test_start_ping_and_stop_kills_both_processes(tmp_path: Path) -> None:
    services = LocalServices.start(run_dir=tmp_path)
    pids = [services.kafka.pid, services.mongo.pid]
    try:
        host, port = services.kafka_bootstrap.split(":")
        kafka_api_versions(host, int(port))
        mongo_ping(services.mongo_uri)
        assert (tmp_path / "tansu.pid").exists()
        assert (tmp_path / "secantusdb.pid").exists()
        assert all(pid_alive(pid) for pid in pids)
    finally:
        services.stop()
    assert not any(pid_alive(pid) for pid in pids)
    assert not list(tmp_path.glob("*.pid"))
    assert tmp_path.exists(), "a caller-supplied run dir is left in place"


def test_another_process_stops_services_from_their_pid_files(tmp_path: Path) -> None:
    services = LocalServices.start(run_dir=tmp_path)
    pids = [services.kafka.pid, services.mongo.pid]
    try:
        stopper = "import sys, pathlib, rolepulse.devservices as d; "
        stopper += "print(sorted(d.stop_stale(pathlib.Path(sys.argv[1]))))"
        result = subprocess.run(
            [sys.executable, "-c", stopper, str(tmp_path)],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        assert result.stdout.strip() == "['secantusdb', 'tansu']"
        # The other process cannot reap our children; they linger only as zombies.
        assert not any(pid_alive(pid) for pid in pids)
    finally:
        services.stop()


def test_restart_keeps_the_endpoints_and_replaces_the_processes(tmp_path: Path) -> None:
    with LocalServices.start(run_dir=tmp_path) as services:
        bootstrap, uri = services.kafka_bootstrap, services.mongo_uri
        old = [services.kafka.pid, services.mongo.pid]
        services.restart_kafka()
        services.restart_mongo()
        assert (services.kafka_bootstrap, services.mongo_uri) == (bootstrap, uri)
        assert [services.kafka.pid, services.mongo.pid] != old
        assert not any(pid_alive(pid) for pid in old)
        mongo_ping(services.mongo_uri)


def test_an_acknowledged_write_survives_a_sigkill_of_the_database(tmp_path: Path) -> None:
    # Without --sync-on-commit the journal record of the last commits was still in the
    # process when it died: the last 3 of these 30 upserts were gone after the restart.
    with LocalServices.start(run_dir=tmp_path, mongo_storage=str(tmp_path / "db")) as services:
        client: MongoClient[Doc] = MongoClient(services.mongo_uri)
        try:
            names = [f"c{i}" for i in range(30)]
            for name in names:
                client.durable[name].replace_one({"_id": "m"}, {"at": 1}, upsert=True)
            os.kill(services.mongo.pid, signal.SIGKILL)
            deadline = time.monotonic() + 10
            while services.mongo.exit_code is None and time.monotonic() < deadline:
                time.sleep(0.05)
            services.restart_mongo()
            lost = [n for n in names if client.durable[n].find_one({"_id": "m"}) is None]
        finally:
            client.close()
    assert lost == []


async def test_kafka_round_trip(kafka_settings: KafkaSettings) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_settings.bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(kafka_settings.topic, 1, 1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=kafka_settings.bootstrap_servers)
    await producer.start()
    try:
        await producer.send_and_wait(kafka_settings.topic, b"hello", key=b"k1")
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        kafka_settings.topic,
        bootstrap_servers=kafka_settings.bootstrap_servers,
        group_id=kafka_settings.group_id,
        auto_offset_reset="earliest",
        session_timeout_ms=kafka_settings.session_timeout_ms,
        heartbeat_interval_ms=kafka_settings.heartbeat_interval_ms,
    )
    await consumer.start()
    try:
        batches = await consumer.getmany(timeout_ms=15_000, max_records=1)
    finally:
        await consumer.stop()
    records = [record for batch in batches.values() for record in batch]
    assert [(r.key, r.value) for r in records] == [(b"k1", b"hello")]


def test_mongo_transaction_commits_and_aborts(mongo_settings: MongoSettings) -> None:
    client: MongoClient[Doc] = MongoClient(mongo_settings.uri)
    db = client[mongo_settings.database]
    db.create_collection("a")
    db.create_collection("b")

    def write_both(session: ClientSession) -> None:
        db.a.insert_one({"_id": 1}, session=session)
        db.b.insert_one({"_id": 1}, session=session)

    try:
        with client.start_session() as session:
            session.with_transaction(write_both)
            with session.start_transaction():
                db.a.insert_one({"_id": 2}, session=session)
                session.abort_transaction()
        assert list(db.a.find()) == [{"_id": 1}]
        assert list(db.b.find()) == [{"_id": 1}]
    finally:
        client.close()


def test_mongo_settings_give_each_test_a_fresh_database(mongo_settings: MongoSettings) -> None:
    client: MongoClient[Doc] = MongoClient(mongo_settings.uri)
    try:
        assert mongo_settings.database not in client.list_database_names()
        client[mongo_settings.database].probe.insert_one({"x": 1})
        assert mongo_settings.database in client.list_database_names()
    finally:
        client.close()


def test_concurrent_installs_build_one_venv(tmp_path: Path) -> None:
    # Two processes race to install Tansu into an empty home; the lock makes one wait for
    # the other, and both end up with the same, completely installed binary.
    installer = (
        "import sys, pathlib; from rolepulse.devservices import install as i; "
        "print(i.ensure_installed(i.TANSU, pathlib.Path(sys.argv[1]), print))"
    )
    env = {k: v for k, v in os.environ.items() if k != "ROLEPULSE_TANSU_BIN"}
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", installer, str(tmp_path)],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(2)
    ]
    outputs = [racer.communicate(timeout=600)[0].splitlines() for racer in racers]
    assert [racer.returncode for racer in racers] == [0, 0]
    assert outputs[0][-1] == outputs[1][-1]
    assert Path(outputs[0][-1]).is_file()
    installs = [line for output in outputs for line in output if line.startswith("installing")]
    assert len(installs) == 1
