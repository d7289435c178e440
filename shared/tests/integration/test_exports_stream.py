"""Export rows streamed from a real PostgreSQL server-side cursor, batch by batch."""

import asyncpg
import pytest
from sqlalchemy import column, func, select, text
from sqlalchemy.exc import DBAPIError

from retailcare_shared.db import Database
from retailcare_shared.exports import CsvEncoder, Table, encoded, streamed

NUMBERS = select(column("n")).select_from(func.generate_series(1, 10).alias("n"))


async def test_rows_arrive_in_batches_of_the_cursor(widget_db: Database) -> None:
    batches = [batch async for batch in streamed(widget_db, NUMBERS, lambda row: [row.n], size=4)]
    assert [[row[0] for row in batch] for batch in batches] == [
        [1, 2, 3, 4],
        [5, 6, 7, 8],
        [9, 10],
    ]


async def test_the_transaction_is_read_only(widget_db: Database) -> None:
    async with widget_db.transaction() as session:
        await session.execute(text("CREATE SEQUENCE IF NOT EXISTS export_probe"))
    writing = select(func.nextval("export_probe"))
    # The server-side cursor's fetch raises the driver's error (SQLAlchemy may not wrap it).
    refused = (DBAPIError, asyncpg.exceptions.ReadOnlySQLTransactionError)
    with pytest.raises(refused, match="read-only transaction"):
        async for _ in streamed(widget_db, writing, lambda row: list(row)):
            pass


async def test_a_table_streams_to_csv_from_the_database(widget_db: Database) -> None:
    rows = streamed(widget_db, NUMBERS, lambda row: [row.n, f"第{row.n}行"], size=3)
    body = b"".join([chunk async for chunk in encoded(Table("t", ["n", "名"], rows), CsvEncoder())])
    lines = body.decode("utf-8-sig").splitlines()
    assert lines[0] == "n,名" and lines[1] == "1,第1行" and lines[-1] == "10,第10行"
    assert len(lines) == 11
