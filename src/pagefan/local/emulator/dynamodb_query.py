"""moto's ``Query`` of a table, reading only the partition it names.

moto answers a ``Query`` on a table by listing every item of the table (sorted by both keys, in
Python comparisons of its attribute objects), keeping those of the queried partition, sorting them
again by the sort key, then walking them from the first for each page of a paginated query to
find where the last page stopped, and copying every item of the page before filtering it. Counting
a 10,000-page job (``Select: COUNT``, in 1 MB pages) cost about a second, all of it holding the
interpreter, and the state machine's poll and `pagefan run`'s progress count repeat it every few
seconds: the runtime spent its time counting instead of serving the pages being counted.

This replacement returns exactly what moto's does (the same items, order, ``ScannedCount``, 1 MB
pages and ``LastEvaluatedKey``; tests/unit/local/emulator/test_dynamodb_query.py compares the two)
for a table query, the only kind pagefan makes: it reads the one partition, sorts it once by the
sort key's value (what moto's comparisons compare), finds the page's start by bisection, and copies
only the items the filter keeps. Index queries, the legacy ``QueryFilter`` and tables without a
sort key go to moto's own code unchanged.

The partition is listed under the writers' lock (a put beside the listing would change the
dictionary being read), and each item is then read under it, whole (an ``UpdateItem`` changes the
stored item in place); writes go on between two items, as DynamoDB's reads do not stall its writes.
"""

from __future__ import annotations

import bisect
import copy
import functools
import threading
from typing import Any

from pagefan.local.emulator.moto_targets import replace

_installed = False


def install(lock: threading.RLock) -> None:
    """Replace moto's ``Table.query`` once; ``lock`` is the one every DynamoDB write holds."""
    global _installed
    if _installed:
        return
    from moto.dynamodb.models.table import RESULT_SIZE_LIMIT, Table

    original = Table.query

    @functools.wraps(original)
    def query(
        self: Any,
        hash_key: Any,
        range_comparison: str | None,
        range_objs: list[Any],
        limit: int | None,
        exclusive_start_key: dict[str, Any] | None,
        scan_index_forward: bool,
        projection_expressions: list[list[str]] | None,
        index_name: str | None = None,
        consistent_read: bool = False,
        filter_expression: Any = None,
        hash_key_conditions: Any = None,
        range_key_conditions: list[tuple[str, str, list[Any]]] | None = None,
        **filter_kwargs: Any,
    ) -> tuple[list[Any], int, dict[str, Any] | None]:
        range_key = self.range_key_attr
        if (
            index_name
            or filter_kwargs
            or not range_key
            or hash_key is None
            or len(range_key_conditions or []) > 1
            or not _starts_in(exclusive_start_key, self.hash_key_attr, hash_key, range_key)
        ):
            return original(  # type: ignore[no-any-return]
                self,
                hash_key,
                range_comparison,
                range_objs,
                limit,
                exclusive_start_key,
                scan_index_forward,
                projection_expressions,
                index_name,
                consistent_read,
                filter_expression,
                hash_key_conditions,
                range_key_conditions,
                **filter_kwargs,
            )
        with lock:
            partition = list(self.items[hash_key].values()) if hash_key in self.items else []
        ordered = _from_start(partition, exclusive_start_key, range_key, scan_index_forward)

        # moto's paging, item by item. Each item is read under the lock, whole: an UpdateItem changes
        # a stored item in place (the job item sorts among the page items), and DynamoDB returns an
        # item as one write left it. moto copies every item of the page, then filters the copies;
        # the filter only reads, so only the items it keeps are copied.
        results: list[Any] = []
        last_kept = None
        scanned_count = page_size = 0
        last_evaluated_key = None
        for item in ordered:
            with lock:
                item_size = item.size()
                if scanned_count == limit or page_size + item_size > RESULT_SIZE_LIMIT:
                    last_evaluated_key = self._get_last_evaluated_key(last_kept, None)
                    break
                if range_comparison and not item.range_key.compare(range_comparison, range_objs):
                    continue
                last_kept = item
                scanned_count += 1
                page_size += item_size
                if filter_expression is None or filter_expression.expr(item):
                    results.append(copy.deepcopy(item))
        if projection_expressions:
            results = [item.project(projection_expressions) for item in results]
        return results, scanned_count, last_evaluated_key

    replace(Table, "query", query)
    _installed = True


def _starts_in(
    exclusive_start_key: dict[str, Any] | None, hash_attr: str, hash_key: Any, range_key: str
) -> bool:
    """Whether a page starts from nothing or from a key of the queried partition."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    if exclusive_start_key is None:
        return True
    if hash_attr not in exclusive_start_key or range_key not in exclusive_start_key:
        return False
    return bool(DynamoType(exclusive_start_key[hash_attr]) == hash_key)


def _from_start(
    partition: list[Any], exclusive_start_key: dict[str, Any] | None, range_key: str, forward: bool
) -> list[Any]:
    """The partition's items in query order, from just after ``exclusive_start_key``."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    values = [item.range_key.cast_value for item in partition]
    order = sorted(range(len(partition)), key=values.__getitem__)
    values = [values[index] for index in order]
    ordered = [partition[index] for index in order]
    if exclusive_start_key is not None:
        start = DynamoType(exclusive_start_key[range_key]).cast_value
        if forward:
            ordered = ordered[bisect.bisect_right(values, start) :]
        else:
            ordered = ordered[: bisect.bisect_left(values, start)]
    if not forward:
        ordered.reverse()
    return ordered
