"""Corrections to moto's Step Functions engine, DynamoDB and Lambda where they differ from AWS.

Each fix is one place where moto would make the real state machine behave differently than on
AWS. They replace moto's internals as read in moto :data:`~pagefan.local.emulator.moto_targets.MOTO_VERSION`,
and fail loudly when one is gone (:mod:`pagefan.local.emulator.moto_targets`);
tests/unit/local/emulator/test_moto_behaviour.py shows each of moto's own behaviours.

1. ``$$.State.EnteredTime`` is ``datetime.isoformat()`` (``...123456+00:00``); AWS gives
   ``2026-01-01T12:00:00.123Z``.
2. Timestamp comparisons in Choice accept only ``%Y-%m-%dT%H:%M:%SZ``; AWS accepts RFC 3339 with
   fractional seconds and offsets.
3. A JSONPath with an index (``$.exported[0].svg_prefix``) yields a one-element list; AWS yields
   the value.
4. DynamoDB writes are not isolated from each other: concurrent requests read and write an item
   without a lock, so two transactions that ADD to one counter can lose an increment (or both
   pass a condition only one should). DynamoDB applies them one after another. Nor does moto
   refuse anything for contention: :mod:`pagefan.local.emulator.dynamodb_limits` isolates the writes and,
   while an account runs, refuses conflicts and throttles as DynamoDB does.
5. Lambda drops a function's ``LoggingConfig``: ``get_function_configuration`` does not give the
   log group the function writes to (`pagefan cost JOB_ID` reads it there, as on AWS).
6. StopExecution right after StartExecution can find the execution's worker before it has built
   its environment, and fails with an internal error (a 500 the SDK retries, then raises). AWS
   stops it: the stop is kept until the program runs, then applied. (A stop that finds the
   environment built but the program not yet started was lost: the execution ran on.)
7. The ``states:startExecution`` integration passes the ASL's parameters (``StateMachineArn``,
   ``Name``, ``Input``: PascalCase, as AWS documents them) to boto3 as they are, which refuses
   them (``KeyError: 'StateMachineArn'``): the Step Functions API names them in camelCase.
8. An execution's history grows without bound; AWS fails an execution at 25,000 history events
   (the 25,000th is ExecutionFailed, unless it is ExecutionSucceeded), with the cause "The execution
   reached the maximum number of history events (25000).". The engine records the same events per
   state as AWS does; the runtime counts them and fails the execution there (``States.Runtime``).

Where moto does needless work per request, the runtime makes it cheaper without changing what
any request returns (``pagefan run`` sends tens of thousands of requests to one process):

A. A DynamoDB transaction deep-copies every table it names before it runs, once per item (a page
   recording copies the whole jobs table twice), so that it can put the copy back if the
   transaction is cancelled: each transaction costs time in proportion to the table, and a
   document's recordings in proportion to its pages squared. It is enough to keep a copy of
   the items the transaction names, and to put those back.
B. Every request lists moto's package folder (``list_of_moto_modules``: ~170 ``isdir`` calls)
   to route it to a service, under the dispatcher's one lock. The folder does not change while
   the process runs: it is listed once.
C. The engine parses a JSONPath each time it evaluates one, and jsonpath_ng builds a new parser
   (its yacc tables) for each parse: ~5 ms for every path of every state of every poll. A parsed
   path is a value that ``find`` does not change, so each path is parsed once.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pagefan.local.emulator import dynamodb_limits, moto_targets
from pagefan.local.emulator.moto_targets import replace, replace_imported

HISTORY_EVENT_LIMIT = 25_000
HISTORY_LIMIT_CAUSE = f"The execution reached the maximum number of history events ({HISTORY_EVENT_LIMIT})."
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
_applied = False


def _aws_timestamp(moment: datetime) -> str:
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_timestamp(text: Any) -> datetime | None:
    """Parse an RFC 3339 timestamp as Step Functions does; None when it is not one."""
    if not isinstance(text, str) or not _TIMESTAMP.match(text):
        return None
    normalised = text[:-1] + "+00:00" if text.endswith("Z") else text
    match = re.match(r"^(.*?\.)(\d+)(.*)$", normalised)
    if match:  # fromisoformat before 3.11 wants exactly 3 or 6 fraction digits
        normalised = match.group(1) + (match.group(2) + "000000")[:6] + match.group(3)
    try:
        return datetime.fromisoformat(normalised)
    except ValueError:
        return None


def apply() -> None:
    """Apply the fixes (idempotent)."""
    global _applied
    if _applied:
        return
    moto_targets.check()
    _applied = True

    _list_moto_modules_once()
    # Inside the write lock that dynamodb_limits adds: the items a transaction names are copied,
    # and put back, while no other write can change them.
    _roll_back_transactions_by_item()
    dynamodb_limits.install()
    _stop_executions_not_yet_started()
    _start_executions_with_api_parameter_names()
    _keep_lambda_logging_config()
    _fail_executions_at_history_limit()

    import functools

    import moto.stepfunctions.parser.asl.component.state.state as state_module
    import moto.stepfunctions.parser.asl.utils.json_path as json_path
    from jsonpath_ng.ext import parse as parse_path
    from moto.stepfunctions.parser.asl.component.state.choice.comparison.operator.implementations import (
        is_operator,
    )

    def state_data(**fields: Any) -> Any:
        entered = parse_timestamp(fields.get("EnteredTime"))
        if entered is not None:
            fields["EnteredTime"] = _aws_timestamp(entered)
        return original_state_data(**fields)

    original_state_data = replace(state_module, "StateData", state_data)
    replace(is_operator.IsTimestamp, "string_to_timestamp", staticmethod(parse_timestamp))

    # C: parsed paths are kept (the engine's own parse too, which original_extract calls).
    parsed = functools.lru_cache(maxsize=1024)(parse_path)
    replace(json_path, "parse", parsed)
    original_extract = json_path.extract_json

    def extract_json(path: str, data: Any) -> Any:
        if any(mark in path for mark in ("?", "*", ":", "..", ",")):
            return original_extract(path, data)
        matches = parsed(path).find(data)
        if len(matches) == 1:
            return matches[0].value
        return original_extract(path, data)

    # extract_json is imported by name into many engine modules: every copy is replaced.
    replace_imported(json_path, "extract_json", extract_json)


def _keep_lambda_logging_config() -> None:
    from moto.awslambda.models import LambdaFunction

    def init(self: Any, account_id: str, spec: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        original_init(self, account_id, spec, *args, **kwargs)
        self.pagefan_logging_config = spec.get("LoggingConfig")

    def get_configuration(self: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        config: dict[str, Any] = original_configuration(self, *args, **kwargs)
        logging_config = getattr(self, "pagefan_logging_config", None)
        if logging_config:
            config["LoggingConfig"] = {"LogFormat": "Text", **logging_config}
        return config

    original_init = replace(LambdaFunction, "__init__", init)
    original_configuration = replace(LambdaFunction, "get_configuration", get_configuration)


def _roll_back_transactions_by_item() -> None:
    import copy
    import functools
    import types

    import moto.dynamodb.models as dynamodb_models
    from moto.dynamodb.exceptions import ResourceNotFoundException
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    # The transaction's own whole-table copy becomes the table itself (its "rollback" then puts
    # back the same object); every other copy in that module is a real one.
    def deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)

    shim = types.ModuleType("copy", "copy, except that a DynamoDB table is not copied")
    shim.__dict__.update({**copy.__dict__, "deepcopy": deepcopy})
    replace(dynamodb_models, "copy", shim)

    original = DynamoDBBackend.transact_write_items

    def saved_item(table: Any, key: dict[str, Any]) -> Callable[[], None] | None:
        """How to put one item back as it is now (absent included); None when the key is incomplete."""
        if table.hash_key_attr not in key:
            return None
        hash_value = DynamoType(key[table.hash_key_attr])
        range_value = None
        if table.range_key_attr is not None:
            if table.range_key_attr not in key:
                return None
            range_value = DynamoType(key[table.range_key_attr])
        had_hash = hash_value in table.items
        current = table.get_item(hash_value, range_value) if had_hash else None
        kept = copy.deepcopy(current)  # an update changes the item object in place

        def restore() -> None:
            if range_value is None:
                if kept is None:
                    table.items.pop(hash_value, None)
                else:
                    table.items[hash_value] = kept
                return
            if kept is not None:
                table.items[hash_value][range_value] = kept
                return
            siblings = table.items.get(hash_value)
            if siblings is not None:
                siblings.pop(range_value, None)
                if not siblings and not had_hash:
                    del table.items[hash_value]

        return restore

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        restores: list[Callable[[], None]] = []
        whole_tables: dict[str, Any] = {}
        for entry in transact_items[:100]:  # moto refuses more, before any write
            for op_type, op in entry.items():
                if op_type == "ConditionCheck" or not isinstance(op, dict):
                    continue  # changes nothing
                try:
                    table = self.get_table(op.get("TableName", ""))
                except ResourceNotFoundException:
                    continue  # the transaction is cancelled before anything is written there
                if table.stream_shard is not None:
                    # Stream records are rolled back with the table: keep moto's whole copy.
                    whole_tables.setdefault(table.name, copy.deepcopy(table))
                    continue
                if op_type == "Put":
                    item = op.get("Item", {})
                    key = {name: item[name] for name in table.table_key_attrs if name in item}
                else:
                    key = op.get("Key", {})
                restore = saved_item(table, key)
                if restore is not None:
                    restores.append(restore)
        try:
            original(self, transact_items)
        except BaseException:
            for restore in reversed(restores):
                restore()
            self.tables.update(whole_tables)
            raise

    functools.update_wrapper(transact_write_items, original)
    replace(DynamoDBBackend, "transact_write_items", transact_write_items)


def _list_moto_modules_once() -> None:
    import functools

    from moto import backends

    listed = tuple(backends.list_of_moto_modules())

    @functools.wraps(backends.list_of_moto_modules)
    def list_of_moto_modules() -> tuple[str, ...]:
        return listed

    # The server's dispatcher calls it through the module (werkzeug_app: backends.list_of_moto_modules()).
    replace(backends, "list_of_moto_modules", list_of_moto_modules)


def _stop_executions_not_yet_started() -> None:
    import threading

    from moto.stepfunctions.parser.asl.component.program.program import Program
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    # A stop is kept until the program runs: on the worker while it has no environment, then on
    # the environment until its first state (before that, set_stop does nothing, and a stop set
    # earlier would break the program's start). One lock orders it against both.
    lock = threading.Lock()

    def evaluation_environment(self: Any) -> Any:
        environment = original_environment(self)
        with lock:
            self.env = environment  # _execution_logic assigns it too: the same object
            pending = self.__dict__.pop("pagefan_pending_stop", None)
            if pending is not None:
                environment.pagefan_pending_stop = pending
        return environment

    def stop(self: Any, stop_date: datetime, error: str | None, cause: str | None) -> None:
        details = {"stop_date": stop_date, "error": error, "cause": cause}
        with lock:
            if self.env is None:
                self.pagefan_pending_stop = details
                return
            if self.env.program_state() is None:  # the program has not started
                self.env.pagefan_pending_stop = details
                return
        self.env.set_stop(**details)

    def eval_body(self: Any, env: Any) -> None:
        if not env.is_frame():
            with lock:
                pending = env.__dict__.pop("pagefan_pending_stop", None)
            if pending is not None:  # the program is running: it ends ABORTED before its first state
                env.set_stop(**pending)
        original_body(self, env)

    original_environment = replace(ExecutionWorker, "_get_evaluation_environment", evaluation_environment)
    replace(ExecutionWorker, "stop", stop)
    original_body = replace(Program, "_eval_body", eval_body)


def _start_executions_with_api_parameter_names() -> None:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_sfn as sfn_service,
    )

    def normalise_parameters(
        self: Any,
        parameters: dict[str, Any],
        boto_service_name: str | None = None,
        service_action_name: str | None = None,
    ) -> None:
        original(self, parameters, boto_service_name, service_action_name)
        # The API's members are camelCase (stateMachineArn, name, input, traceHeader).
        for name in [key for key in parameters if key[:1].isupper()]:
            parameters[name[0].lower() + name[1:]] = parameters.pop(name)

    original = replace(sfn_service.StateTaskServiceSfn, "_normalise_parameters", normalise_parameters)


def _fail_executions_at_history_limit() -> None:
    import threading

    from moto.stepfunctions.parser.api import ExecutionFailedEventDetails, HistoryEventType
    from moto.stepfunctions.parser.asl.eval.environment import Environment
    from moto.stepfunctions.parser.asl.eval.event.event_manager import EventManager

    endings = {
        HistoryEventType.ExecutionSucceeded,
        HistoryEventType.ExecutionFailed,
        HistoryEventType.ExecutionAborted,
        HistoryEventType.ExecutionTimedOut,
    }
    # Orders the count against the events of an execution's parallel branches and iterations.
    lock = threading.Lock()

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        # The execution's own environment: a frame (a Map iteration, a Parallel branch) is built the
        # same way, then takes the execution's manager instead of the one made here.
        self.event_manager.pagefan_execution = self

    def add_event(self: Any, context: Any, event_type: Any, *args: Any, **kwargs: Any) -> int:
        with lock:
            recorded = len(self._history_event_list)
            if recorded < HISTORY_EVENT_LIMIT - 1 or (
                event_type in endings and recorded < HISTORY_EVENT_LIMIT
            ):
                event_id: int = original_add(self, context, event_type, *args, **kwargs)
                return event_id
            execution = getattr(self, "pagefan_execution", None)
            first = not getattr(self, "pagefan_history_full", False)
            self.pagefan_history_full = True
        # The event is not recorded; the execution ends after the state that wanted it, its last
        # event (the 25,000th) ExecutionFailed.
        if first and execution is not None:
            execution.set_error(
                ExecutionFailedEventDetails(error="States.Runtime", cause=HISTORY_LIMIT_CAUSE)
            )
        return recorded

    original_init = replace(Environment, "__init__", init)
    original_add = replace(EventManager, "add_event", add_event)
