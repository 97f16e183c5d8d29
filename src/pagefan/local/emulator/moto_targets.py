"""The moto internals the local runtime replaces, and the moto release they were read in.

The corrections (:mod:`~pagefan.local.emulator.moto_fixes`), the runtime's hooks
(:mod:`~pagefan.local.emulator.moto_hooks`), DynamoDB's refusals
(:mod:`~pagefan.local.emulator.dynamodb_limits`) and IAM's resources (:mod:`~pagefan.local.emulator.iam`)
replace private parts of moto, which a release may rename or remove. A replacement assigned to a
name that moto no longer reads does nothing, silently. So every replacement goes through
:func:`replace`, which accepts only a target listed in :data:`TARGETS`, and every installer first
calls :func:`check`, which raises :class:`MotoChanged` naming every target the installed moto
lacks, before anything is replaced.

tests/unit/local/emulator/test_moto_behaviour.py shows moto's own behaviour where each correction
changes it: when a test there fails after an upgrade, moto changed there, and the correction may
be able to go.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import sys
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Any

MOTO_VERSION = "5.2.5"
"""The moto release every target was read in (a test fails when another is installed)."""

_FIXES = "moto_fixes"
_HOOKS = "moto_hooks"
_LIMITS = "dynamodb_limits"
_IAM = "iam"
_QUERY = "dynamodb_query"
_ENGINE = "moto.stepfunctions.parser"
_SFN_STATE = f"{_ENGINE}.asl.component.state"
_SFN_TASK = f"{_SFN_STATE}.exec.state_task"

TARGETS: dict[str, str] = {
    # module:attribute → the module of pagefan.local.emulator that replaces it, and why
    "moto.backends:list_of_moto_modules": f"{_FIXES} B: moto's folder listed once",
    "moto.dynamodb.models:copy": f"{_FIXES} A: a transaction does not copy whole tables",
    "moto.dynamodb.models:DynamoDBBackend.transact_write_items": f"{_FIXES} A, {_LIMITS}: items rolled back, "
    "writes isolated and refused",
    "moto.dynamodb.models:DynamoDBBackend.put_item": f"{_LIMITS}: writes isolated and refused",
    "moto.dynamodb.models:DynamoDBBackend.update_item": f"{_LIMITS}: writes isolated and refused",
    "moto.dynamodb.models:DynamoDBBackend.delete_item": f"{_LIMITS}: writes isolated and refused",
    "moto.dynamodb.models.table:Table.all_items": f"{_LIMITS}: a table listed apart from its writes",
    "moto.dynamodb.models.table:Table.query": f"{_QUERY}: a table query reads only its partition",
    **{
        f"moto.dynamodb.responses:DynamoHandler.{read}": f"{_LIMITS}: reads see whole writes"
        for read in ("get_item", "batch_get_item", "transact_get_items")
    },
    "moto.awslambda.models:LambdaFunction.__init__": f"{_FIXES} 5: LoggingConfig kept",
    "moto.awslambda.models:LambdaFunction.get_configuration": f"{_FIXES} 5: LoggingConfig returned",
    f"{_SFN_STATE}.state:StateData": f"{_FIXES} 1: $$.State.EnteredTime as AWS writes it",
    f"{_SFN_STATE}.choice.comparison.operator.implementations.is_operator:IsTimestamp.string_to_timestamp": (
        f"{_FIXES} 2: RFC 3339 timestamps compared"
    ),
    f"{_ENGINE}.asl.utils.json_path:parse": f"{_FIXES} C: each JSONPath parsed once",
    f"{_ENGINE}.asl.utils.json_path:extract_json": f"{_FIXES} 3: an indexed JSONPath yields the value",
    f"{_ENGINE}.backend.execution_worker:ExecutionWorker._get_evaluation_environment": (
        f"{_FIXES} 6: an early stop is kept"
    ),
    f"{_ENGINE}.backend.execution_worker:ExecutionWorker.stop": f"{_FIXES} 6: an early stop is kept",
    f"{_ENGINE}.asl.component.program.program:Program._eval_body": f"{_FIXES} 6: a kept stop is applied",
    f"{_SFN_TASK}.service.state_task_service_sfn:StateTaskServiceSfn._normalise_parameters": (
        f"{_FIXES} 7: states:startExecution with the API's parameter names"
    ),
    f"{_ENGINE}.asl.eval.environment:Environment.__init__": f"{_FIXES} 8: the history quota",
    f"{_ENGINE}.asl.eval.event.event_manager:EventManager.add_event": f"{_FIXES} 8: the history quota",
    "moto.s3.notifications:_get_s3_event": f"{_HOOKS}: the S3 event record as AWS writes it",
    "moto.s3.notifications:send_event": f"{_HOOKS}: one event for a multipart upload",
    "moto.s3.notifications:_invoke_awslambda": f"{_HOOKS}: S3 notifications invoke functions asynchronously",
    f"{_SFN_TASK}.lambda_eval_utils:_invoke_lambda_function": (
        f"{_HOOKS}, {_IAM}: the engine's Lambda calls run the handler, as the state machine's role"
    ),
    "moto.events.utils:EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE": f"{_HOOKS}: the account sent",
    "moto.events.models:Rule.send_to_targets": f"{_HOOKS}: rules invoke Lambda targets",
    f"{_ENGINE}.backend.execution:BaseExecutionWorkerCommunication.terminated": (
        f"{_HOOKS}: every execution's end is published"
    ),
    "moto.dynamodb.responses:DynamoHandler._authenticate_and_authorize_normal_action": (
        f"{_IAM}: requests authorised on their tables"
    ),
    "moto.stepfunctions.responses:StepFunctionResponse._authenticate_and_authorize_normal_action": (
        f"{_IAM}: requests authorised on their state machines and executions"
    ),
    "moto.events.responses:EventsHandler._authenticate_and_authorize_normal_action": (
        f"{_IAM}: requests authorised on their event buses"
    ),
    f"{_ENGINE}.asl.utils.boto_client:boto_client_for": f"{_IAM}: the engine calls services as the role",
}

_replaced: set[str] = set()


class MotoChanged(RuntimeError):
    """The installed moto lacks internals that the local runtime replaces."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        """``problems``: what is wrong with each target, by target."""
        try:
            installed = importlib.metadata.version("moto")
        except importlib.metadata.PackageNotFoundError:
            installed = "?"
        found = "; ".join(
            f"{target} {problem} ({TARGETS.get(target, 'unlisted')})" for target, problem in problems.items()
        )
        super().__init__(
            f"moto changed: {found}. pagefan.local.emulator replaces these as read in moto {MOTO_VERSION}; "
            f"moto {installed} is installed: re-check the corrections named"
        )
        self.problems = dict(problems)


def check() -> None:
    """Raise :class:`MotoChanged` naming every target the installed moto lacks."""
    problems: dict[str, str] = {}
    for target in TARGETS:
        try:
            _resolve(target)
        except MotoChanged as changed:
            problems.update(changed.problems)
    if problems:
        raise MotoChanged(problems)


def replace(owner: Any, name: str, replacement: Any) -> Any:
    """Replace ``owner.name`` (a target) with ``replacement``; returns what it replaced."""
    target = _target_of(owner, name)
    if target not in TARGETS:
        raise ValueError(f"{target} is not in pagefan.local.emulator.moto_targets.TARGETS: list it there")
    original = _resolve(target)
    setattr(owner, name, replacement)
    _replaced.add(target)
    return original


def replace_imported(module: types.ModuleType, name: str, replacement: Any) -> Any:
    """Replace ``module.name`` and each copy of it that a module of moto's Step Functions engine imported.

    Imports first every engine module whose source names it, so that no copy is loaded later unreplaced.
    """
    engine = importlib.import_module(_ENGINE)
    root = Path(str(engine.__file__)).parent
    for source in sorted(root.rglob("*.py")):
        if name in source.read_text(encoding="utf-8"):
            relative = source.relative_to(root).with_suffix("")
            importlib.import_module(".".join((_ENGINE, *relative.parts)).removesuffix(".__init__"))
    original = replace(module, name, replacement)
    copies = [
        other
        for other_name, other in list(sys.modules.items())
        if other_name.startswith(_ENGINE + ".") and getattr(other, name, None) is original
    ]
    if not copies:
        raise MotoChanged({_target_of(module, name): "is no longer imported by name by any engine module"})
    for other in copies:
        setattr(other, name, replacement)
    return original


def replaced() -> frozenset[str]:
    """The targets replaced so far in this process."""
    return frozenset(_replaced)


def _target_of(owner: Any, name: str) -> str:
    if isinstance(owner, types.ModuleType):
        return f"{owner.__name__}:{name}"
    return f"{owner.__module__}:{owner.__qualname__}.{name}"


def _resolve(target: str) -> Any:
    """The current value of ``target``, which moto itself defines (not one that ``object`` gives)."""
    module_name, path = target.split(":")
    try:
        owner: Any = importlib.import_module(module_name)
    except ImportError as error:
        raise MotoChanged({target: f"is gone ({error})"}) from error
    *parents, name = path.split(".")
    for parent in parents:
        owner = vars(owner).get(parent)
        if not isinstance(owner, type):
            raise MotoChanged({target: "is gone"})
    scopes = owner.__mro__[:-1] if isinstance(owner, type) else (owner,)
    if not any(name in vars(scope) for scope in scopes):
        raise MotoChanged({target: "is gone"})
    return getattr(owner, name)
