"""Step Functions state transitions of a job, from the state machine's ASL and an execution history.

``state_transitions`` walks the ASL along the successful path (a job's polling loop as many times as
it polls); ``execution_counts`` counts what an execution's history shows it entered.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any


def _successors(state: Mapping[str, Any]) -> list[str]:
    """Where a state can go next without an error (Next, Default, each Choice)."""
    targets = [c["Next"] for c in state.get("Choices", []) if "Next" in c]
    targets += [state[k] for k in ("Default", "Next") if k in state]
    return targets


def _reaches_success(states: Mapping[str, Any], start: str) -> bool:
    seen: set[str] = set()
    todo = [start]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        # A Succeed state, or the End of a Parallel branch or Map iteration that did not fail.
        if states[name]["Type"] == "Succeed" or (states[name].get("End") and states[name]["Type"] != "Fail"):
            return True
        todo.extend(_successors(states[name]))
    return False


def _path_transitions(machine: Mapping[str, Any], polls: int) -> int:
    states = machine["States"]
    name: str | None = machine["StartAt"]
    entered: set[str] = set()
    count = 0
    loops = 0
    while name is not None:
        state = states[name]
        count += 1
        entered.add(name)
        kind = state["Type"]
        if kind == "Parallel":
            count += sum(_path_transitions(branch, polls) for branch in state["Branches"])
        if kind == "Map":
            # One iteration: how many items a Map runs depends on the job (its history tells).
            count += _path_transitions(state.get("ItemProcessor") or state["Iterator"], polls)
        if kind == "Choice":
            default = state.get("Default")
            # Back to the poll's Wait: one more poll, while polls remain.
            back_to_wait = default in entered and states[default]["Type"] == "Wait"
            if back_to_wait and loops < polls - 1:
                loops += 1
                name = default
                continue
            if default in entered and not back_to_wait:
                name = default
                continue
            # The Default first: the ordinary way on (another page of a query is the exception).
            candidates = ([default] if default else []) + [c["Next"] for c in state.get("Choices", [])]
            name = next(
                (c for c in candidates if c not in entered and _reaches_success(states, c)),
                None,
            )
            if name is None:
                raise ValueError(f"no way to success from Choice state {state!r}")
            continue
        if kind in ("Succeed", "Fail") or state.get("End"):
            break
        name = state.get("Next")
    return count


def state_transitions(asl: Mapping[str, Any], *, polls: int) -> int:
    """States entered by a successful execution whose polling loop runs ``polls`` times.

    Walks from StartAt: a Choice takes its Default back into the loop while polls remain, else its
    Default or, failing that, the first choice from which a Succeed state (or a branch's End) is
    reachable (one page of progress per poll); a Parallel state adds
    its branches', a Map state one iteration. Retries are not counted. A job's own execution
    history (``execution_counts``) gives the exact figure.
    """
    if polls < 1:
        raise ValueError("a job polls its progress at least once")
    return _path_transitions(asl, polls)


def polls_for(pages_seconds: float, poll_interval_s: int) -> int:
    """Progress reads of a job whose pages take ``pages_seconds``: one at once, then every interval."""
    return 1 + max(0, math.ceil(pages_seconds / poll_interval_s))


def template_inputs(template: Mapping[str, Any], root: Path) -> tuple[dict[str, Any], int]:
    """The state machine's ASL and the default poll interval, from a loaded SAM template."""
    poll = int(template.get("Parameters", {}).get("PollIntervalSeconds", {}).get("Default", 5))
    for resource in template["Resources"].values():
        if resource.get("Type") == "AWS::Serverless::StateMachine":
            uri = resource.get("Properties", {}).get("DefinitionUri")
            if isinstance(uri, str):
                asl: dict[str, Any] = json.loads((root / uri).read_text(encoding="utf-8"))
                return asl, poll
    raise ValueError("the template has no state machine with a local DefinitionUri")


def execution_counts(history: Iterable[Mapping[str, Any]], asl: Mapping[str, Any]) -> tuple[int, int]:
    """State transitions and progress reads (DynamoDB Query tasks) of an execution's history.

    Step Functions bills a transition per state entered, in Parallel branches too.
    """
    readers = {
        name
        for name, state in _all_states(asl).items()
        if str(state.get("Resource", "")).endswith(":dynamodb:query")
    }
    transitions = reads = 0
    for event in history:
        if not str(event.get("type", "")).endswith("StateEntered"):
            continue
        transitions += 1
        if event.get("stateEnteredEventDetails", {}).get("name") in readers:
            reads += 1
    return transitions, reads


def _all_states(machine: Mapping[str, Any]) -> dict[str, Any]:
    states = dict(machine.get("States", {}))
    for state in list(states.values()):
        for branch in state.get("Branches", []):
            states.update(_all_states(branch))
        if "ItemProcessor" in state or "Iterator" in state:
            states.update(_all_states(state.get("ItemProcessor") or state["Iterator"]))
    return states
