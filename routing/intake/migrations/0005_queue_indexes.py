"""Indexes for the case workers' queues on PostgreSQL (nothing else changes).

- The queue order, "most severe first, unknown severity last, then oldest" with the id as
  tie-breaker, for one department and for all: pages are read straight off these
  indexes (index-only scans), however deep. The DESC index of 0004 sorts NULLs first,
  which PostgreSQL cannot use for DESC NULLS LAST.
- "Behöver granskning" in its order: lowest confidence first, unrouted (NULL) on top.
- Trigram indexes for the free-text search (Django's icontains is UPPER(col) LIKE
  UPPER('%word%')), when the pg_trgm extension can be installed.

SQLite cannot index NULLS LAST and has no trigrams; there this migration does nothing. The
indexes are built CONCURRENTLY so that a live table stays writable, which needs a
migration outside a transaction. They are not in Report.Meta because Django's index
declarations cannot say NULLS LAST on SQLite or name an operator class portably.
"""

import logging

from django.db import DatabaseError, migrations

log = logging.getLogger(__name__)

ORDER_INDEXES = {
    "intake_report_queue_order_idx": (
        "(department_id, severity_score DESC NULLS LAST, received_at, id)"
    ),
    "intake_report_queue_all_order_idx": "(severity_score DESC NULLS LAST, received_at, id)",
    "intake_report_review_order_idx": ("(routing_confidence ASC NULLS FIRST, received_at, id)"),
}
TRIGRAM_INDEXES = {
    "intake_report_text_trgm_idx": "USING gin (UPPER(text) gin_trgm_ops)",
    "intake_report_subject_trgm_idx": "USING gin (UPPER(subject) gin_trgm_ops)",
}


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, definition in ORDER_INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON intake_report {definition}"
        )
    try:
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except DatabaseError as error:
        # Search still works without it (a scan instead of an index); say so and go on.
        log.warning("pg_trgm not installed (%s); text search will not use an index", error)
        return
    for name, definition in TRIGRAM_INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON intake_report {definition}"
        )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in [*ORDER_INDEXES, *TRIGRAM_INDEXES]:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("intake", "0004_report_labels_and_assignee"),
    ]

    operations = [
        migrations.RunPython(create_indexes, drop_indexes, atomic=False),
    ]
