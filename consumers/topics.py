"""Create the topics the pipeline needs when they are missing (local runs and tests)."""

from __future__ import annotations

import contextlib

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from rolepulse.connections import kafka_client_kwargs, start_kafka_client
from rolepulse.settings import KafkaSettings


async def ensure_topics(kafka: KafkaSettings, replication_factor: int = 1) -> None:
    admin = AIOKafkaAdminClient(**kafka_client_kwargs(kafka))
    try:
        await start_kafka_client(admin, kafka)
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(kafka.topic, kafka.partitions, replication_factor),
            NewTopic(kafka.dlq_topic, 1, replication_factor),
        ]
        missing = [t for t in wanted if t.name not in existing]
        if missing:
            # Another process may create it between our list and create: that is fine.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(missing)
    finally:
        await admin.close()
