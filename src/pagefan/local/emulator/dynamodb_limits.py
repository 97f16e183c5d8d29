"""DynamoDB's refusals, which moto never makes: transaction conflicts and partition throughput.

moto applies every write at once and never refuses one for contention, so a design that writes
one item from many Lambda instances passes locally and fails on AWS. This module makes the
emulated account refuse what DynamoDB refuses (figures from DynamoDB's documentation):

* **Transaction conflicts.** A transaction holds each item it names from prepare to commit
  (``transaction_window_s``). Another transaction that names a held item is cancelled
  (``TransactionCanceledException``, reason ``TransactionConflict`` at that item's index, ``None``
  elsewhere); a single ``PutItem``/``UpdateItem``/``DeleteItem`` on a held item fails with
  ``TransactionConflictException``. Nothing is queued: DynamoDB does not queue either.
* **Partition throughput.** Each partition key takes at most 1,000 write request units a second
  (``partition_write_units_per_s``): an item's size rounded up to 1 KB per write, twice for each
  item of a transaction (prepare and commit). Over it, a single write fails with
  ``ProvisionedThroughputExceededException`` and a transaction is cancelled with a
  ``ThrottlingError`` reason. A refused write consumes nothing.

Writes stay isolated as DynamoDB's are: moto is not thread-safe, so every write runs under one
lock; a transaction checks and marks its items under that lock, waits out its window without it,
then commits under it. Conditions are evaluated at commit, which is exact because nothing else can
write a held item in between. Item reads (``GetItem``, ``BatchGetItem``, ``TransactGetItems``) run
under the same lock: moto applies an ``UpdateItem``'s actions to the stored item one by one, so a
read beside it could see ``SET a = :x, b = :y`` half done (``a`` new, ``b`` old), which DynamoDB
never shows. A table ``Query`` (:mod:`~pagefan.local.emulator.dynamodb_query`) lists its partition
and reads each item under the lock, one at a time: writes go on between two items, as DynamoDB's
reads do not stall its writes. A ``Scan`` or an index query (moto's own code, which pagefan does
not use) takes the lock only to list the table: a put beside a listing would fail the read with
"dictionary changed size during iteration" (a 500, which moto's Step Functions engine then turns
into a failed execution).

Each refusal is counted in the account's :class:`~pagefan.local.emulator.contention.Contention`, under the
partition key's value (the jobs table's partition key is the job id). moto's write methods are
targets of :mod:`pagefan.local.emulator.moto_targets`: installing fails loudly when one is gone.
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pagefan.local.emulator import dynamodb_query, moto_targets
from pagefan.local.emulator.contention import Contention, Pressure
from pagefan.local.emulator.moto_targets import replace

_DEFAULT_WINDOW_S = 0.005


@dataclass(frozen=True)
class DynamoDbLimits:
    """What the emulated DynamoDB refuses; the defaults are AWS's."""

    transaction_window_s: float = _DEFAULT_WINDOW_S
    """How long a transaction holds its items between prepare and commit (DynamoDB: milliseconds)."""
    partition_write_units_per_s: float = 1000.0
    """Write request units one partition key serves a second (DynamoDB: 1,000 per partition)."""
    conflicts: bool = True
    """Refuse writes that overlap a transaction, as DynamoDB does."""
    throttling: bool = True
    """Refuse writes over a partition's throughput, as DynamoDB does."""


_ItemKey = tuple[str, str, str]
"""(table, partition key value, sort key value) as moto's typed values print."""


@dataclass
class _Bucket:
    """A token bucket: ``rate`` units a second, at most one second's worth saved up."""

    rate: float
    tokens: float
    updated: float

    def available(self, now: float) -> float:
        """The units that can be taken now (the bucket refilled up to ``now``)."""
        self.tokens = min(self.rate, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        return self.tokens


@dataclass
class DynamoDbEmulation:
    """The refusals of one emulated account's DynamoDB, applied to moto's backend by :func:`install`."""

    limits: DynamoDbLimits = field(default_factory=DynamoDbLimits)
    contention: Contention = field(default_factory=Contention)
    clock: Callable[[], float] = time.monotonic
    _held: dict[_ItemKey, int] = field(default_factory=dict)
    _buckets: dict[tuple[str, str], _Bucket] = field(default_factory=dict)
    _next_transaction: int = 0
    _commits: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._commits.set()

    @contextlib.contextmanager
    def commits_paused(self) -> Iterator[None]:
        """Hold every prepared transaction before its commit until the block ends.

        For tests that need two transactions to overlap whatever the machine's speed: inside the
        block a transaction that has prepared keeps its items held, deterministically.
        """
        self._commits.clear()
        try:
            yield
        finally:
            self._commits.set()

    def held_items(self) -> int:
        """How many items transactions hold right now."""
        with _LOCK:
            return len(self._held)

    # --- checks, called with _LOCK held ---------------------------------------------------------

    def _bucket(self, table: str, partition: str) -> _Bucket:
        rate = self.limits.partition_write_units_per_s
        return self._buckets.setdefault((table, partition), _Bucket(rate, rate, self.clock()))

    def _can_take(self, table: str, partition: str, units: float) -> bool:
        return not self.limits.throttling or self._bucket(table, partition).available(self.clock()) >= units

    def _take(self, table: str, partition: str, units: float) -> None:
        if self.limits.throttling:
            self._bucket(table, partition).tokens -= units

    def _throttled(self, table: str, partition: str, units: float) -> bool:
        if not self._can_take(table, partition, units):
            return True
        self._take(table, partition, units)
        return False

    def check_single_write(self, table: Any, key: dict[str, Any], size: int) -> None:
        """Refuse a single write as DynamoDB would: held by a transaction, or over throughput."""
        item_key, partition = _item_key(table, key)
        if self.limits.conflicts and item_key in self._held:
            self.contention.add(Pressure.TRANSACTION_CONFLICTS, partition)
            raise _transaction_conflict()
        if self._throttled(table.name, partition, _write_units(size)):
            self.contention.add(Pressure.THROTTLED_WRITES, partition)
            raise _throughput_exceeded()

    def prepare(self, items: list[tuple[Any, dict[str, Any], int]]) -> int:
        """Check a transaction's items and hold them; its id, to release them at commit.

        Raises the cancellation DynamoDB would give: a conflict at each held item's index, else a
        throttling reason at each item whose partition is over its throughput.
        """
        keys = [_item_key(table, key) for table, key, _ in items]
        if self.limits.conflicts:
            conflicting = [index for index, (item_key, _) in enumerate(keys) if item_key in self._held]
            if conflicting:
                for index in conflicting:
                    self.contention.add(Pressure.TRANSACTION_CONFLICTS, keys[index][1])
                raise _cancelled(len(items), conflicting, "TransactionConflict")
        # Each item is written twice (prepare and commit); a partition's items are taken together,
        # and a refused transaction takes nothing.
        units: dict[tuple[str, str], int] = {}
        for (table, _, size), (_, partition) in zip(items, keys, strict=True):
            units[(table.name, partition)] = units.get((table.name, partition), 0) + 2 * _write_units(size)
        over = {where for where, needed in units.items() if not self._can_take(*where, needed)}
        throttled = [
            index
            for index, ((table, _, _), (_, partition)) in enumerate(zip(items, keys, strict=True))
            if (table.name, partition) in over
        ]
        if throttled:
            for index in throttled:
                self.contention.add(Pressure.THROTTLED_WRITES, keys[index][1])
            raise _cancelled(len(items), throttled, "ThrottlingError")
        for where, needed in units.items():
            self._take(*where, needed)
        self._next_transaction += 1
        for item_key, _ in keys:
            self._held[item_key] = self._next_transaction
        return self._next_transaction

    def release(self, transaction: int) -> None:
        """Let go of a transaction's items (committed or not)."""
        for item_key in [k for k, owner in self._held.items() if owner == transaction]:
            del self._held[item_key]

    def wait_for_commit(self) -> None:
        """The window between prepare and commit, outside the lock."""
        time.sleep(self.limits.transaction_window_s)
        self._commits.wait()


# moto's backend is process-wide, so is its lock; the emulation in force is the running account's.
_LOCK = threading.RLock()
_inside_transaction = threading.local()
_current: list[DynamoDbEmulation] = []
_installed = False


def attach(emulation: DynamoDbEmulation) -> None:
    """Make ``emulation`` the refusals in force (one account runs in a process at a time)."""
    _current[:] = [emulation]


def detach() -> None:
    """Stop refusing: writes are only isolated, as before an account starts."""
    _current.clear()


def install() -> None:
    """Wrap moto's DynamoDB writes once: isolated always, refused while an emulation is attached."""
    global _installed
    if _installed:
        return
    from moto.dynamodb.models import DynamoDBBackend

    moto_targets.check()
    _wrap_single_write(DynamoDBBackend, "put_item", _put_key_and_size)
    _wrap_single_write(DynamoDBBackend, "update_item", _existing_key_and_size)
    _wrap_single_write(DynamoDBBackend, "delete_item", _existing_key_and_size)
    original_transaction = DynamoDBBackend.transact_write_items

    @functools.wraps(original_transaction)
    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        emulation = _current[0] if _current else None
        if emulation is None:
            with _LOCK:
                return _run_inside_transaction(original_transaction, self, transact_items)
        with _LOCK:
            items = _transaction_items(self, transact_items)
            transaction = emulation.prepare(items) if items is not None else None
        try:
            if transaction is not None:
                emulation.wait_for_commit()
            with _LOCK:
                return _run_inside_transaction(original_transaction, self, transact_items)
        finally:
            if transaction is not None:
                with _LOCK:
                    emulation.release(transaction)

    replace(DynamoDBBackend, "transact_write_items", transact_write_items)
    _isolate_reads()
    dynamodb_query.install(_LOCK)
    _installed = True


_READS = ("get_item", "batch_get_item", "transact_get_items")
"""The item reads, wrapped where moto also turns the items into the response."""


def _isolate_reads() -> None:
    from moto.dynamodb.models.table import Table
    from moto.dynamodb.responses import DynamoHandler

    all_items = Table.all_items

    def listed(self: Any) -> Any:
        with _LOCK:
            return all_items(self)

    replace(Table, "all_items", functools.wraps(all_items)(listed))

    for name in _READS:
        original = getattr(DynamoHandler, name)

        def read(self: Any, *args: Any, _original: Callable[..., Any] = original, **kwargs: Any) -> Any:
            with _LOCK:
                return _original(self, *args, **kwargs)

        replace(DynamoHandler, name, functools.wraps(original)(read))


def _run_inside_transaction(original: Callable[..., None], backend: Any, items: list[dict[str, Any]]) -> None:
    # moto's transaction writes through put_item/update_item/delete_item: those are its own items.
    _inside_transaction.active = True
    try:
        original(backend, items)
    finally:
        _inside_transaction.active = False


KeyAndSize = Callable[[Any, tuple[Any, ...], dict[str, Any]], tuple[Any, dict[str, Any], int] | None]


def _wrap_single_write(backend_class: Any, name: str, key_and_size: KeyAndSize) -> None:
    original = getattr(backend_class, name)

    @functools.wraps(original)
    def write(self: Any, *args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            emulation = _current[0] if _current else None
            if emulation is not None and not getattr(_inside_transaction, "active", False):
                found = key_and_size(self, args, kwargs)
                if found is not None:
                    emulation.check_single_write(*found)
            return original(self, *args, **kwargs)

    replace(backend_class, name, write)


def _argument(args: tuple[Any, ...], kwargs: dict[str, Any], index: int, name: str) -> Any:
    return args[index] if len(args) > index else kwargs.get(name)


def _table(backend: Any, name: str) -> Any | None:
    from moto.dynamodb.exceptions import ResourceNotFoundException

    try:
        return backend.get_table(name)
    except ResourceNotFoundException:
        return None  # moto refuses the write itself


def _put_key_and_size(
    backend: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[Any, dict[str, Any], int] | None:
    table = _table(backend, _argument(args, kwargs, 0, "table_name"))
    attrs = _argument(args, kwargs, 1, "item_attrs") or {}
    if table is None or table.hash_key_attr not in attrs:
        return None
    key = {name: attrs[name] for name in table.table_key_attrs if name in attrs}
    return table, key, _size(attrs)


def _existing_key_and_size(
    backend: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[Any, dict[str, Any], int] | None:
    table = _table(backend, _argument(args, kwargs, 0, "table_name"))
    key = _argument(args, kwargs, 1, "key") or {}
    if table is None or table.hash_key_attr not in key:
        return None
    return table, key, _current_size(table, key)


def _transaction_items(
    backend: Any, transact_items: list[dict[str, Any]]
) -> list[tuple[Any, dict[str, Any], int]] | None:
    """(table, key, size) of each item a transaction names; None when moto will refuse it anyway."""
    items = []
    for entry in transact_items:
        if len(entry) != 1:
            return None
        ((op_type, op),) = entry.items()
        table = _table(backend, op.get("TableName", "")) if isinstance(op, dict) else None
        if table is None:
            return None
        if op_type == "Put":
            attrs = op.get("Item", {})
            key = {name: attrs[name] for name in table.table_key_attrs if name in attrs}
            size = _size(attrs)
        else:
            key = op.get("Key", {})
            size = _current_size(table, key)
        if table.hash_key_attr not in key:
            return None
        items.append((table, key, size))
    return items


def _item_key(table: Any, key: dict[str, Any]) -> tuple[_ItemKey, str]:
    """The item's identity and its partition key's value (a job id, in the jobs table)."""
    hash_value = key[table.hash_key_attr]
    partition = str(next(iter(hash_value.values()))) if isinstance(hash_value, dict) else str(hash_value)
    sort_value = key.get(table.range_key_attr, "") if table.range_key_attr else ""
    return (
        table.name,
        json.dumps(hash_value, sort_keys=True),
        json.dumps(sort_value, sort_keys=True),
    ), partition


def _size(attrs: dict[str, Any]) -> int:
    # Close enough to DynamoDB's item size (names plus values) for units rounded up to 1 KB.
    return len(json.dumps(attrs, separators=(",", ":")).encode())


def _current_size(table: Any, key: dict[str, Any]) -> int:
    from moto.dynamodb.models.dynamo_type import DynamoType

    try:
        hash_value = DynamoType(key[table.hash_key_attr])
        range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr in key else None
        item = table.get_item(hash_value, range_value)
    except Exception:  # an incomplete key: moto refuses the write itself
        return 0
    return _size(item.to_json()["Attributes"]) if item is not None else 0


def _write_units(size: int) -> int:
    return max(1, math.ceil(size / 1024))


def _transaction_conflict() -> Exception:
    from moto.dynamodb.exceptions import ERROR_TYPE_PREFIX, DynamodbException

    error: Exception = DynamodbException(
        ERROR_TYPE_PREFIX + "TransactionConflictException",
        "Transaction is ongoing for the item",
    )
    return error


def _throughput_exceeded() -> Exception:
    from moto.dynamodb.exceptions import ERROR_TYPE_PREFIX, DynamodbException

    error: Exception = DynamodbException(
        ERROR_TYPE_PREFIX + "ProvisionedThroughputExceededException",
        "The level of configured provisioned throughput for the table was exceeded. "
        "Consider increasing your provisioning level with the UpdateTable API.",
    )
    return error


def _cancelled(count: int, indexes: list[int], code: str) -> Exception:
    from moto.dynamodb.exceptions import TransactionCanceledException

    messages = {
        "TransactionConflict": "Transaction is ongoing for the item",
        "ThrottlingError": "Throughput exceeds the current capacity of your table or index.",
    }
    error: Exception = TransactionCanceledException(
        [(code, messages[code], None) if index in indexes else (None, None, None) for index in range(count)]
    )
    return error
