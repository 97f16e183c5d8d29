"""The `pagefan` options that follow the SAM CLI's, checked without starting an emulated account.

The emulated account is replaced by a recorder that keeps what the command would start it with
and refuses to start, so each test takes well under a second. Runs through an account are in
tests/integration/test_cli.py.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from pagefan.local.cli import main, stack_commands
from pagefan.local.cli.options import spread_multiple_values

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
SAMPLE = ROOT / "samples" / "sample.pdf"


class AccountNotStarted(Exception):
    """Raised where the command would start its emulated account."""


@pytest.fixture
def accounts(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """What each emulated account the command makes is made with; none starts."""
    made: list[dict[str, Any]] = []

    class Recorder:
        def __init__(self, template_path: Path, **options: Any) -> None:
            made.append({"template": template_path, **options})

        def __enter__(self) -> None:
            raise AccountNotStarted

        def __exit__(self, *exc: object) -> None:
            return None

    monkeypatch.setattr("pagefan.local.emulator.account.EmulatedAccount", Recorder)
    monkeypatch.setattr("pagefan.local.emulator.invocation.EmulatedAccount", Recorder)
    yield made


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the project's template (and sample) in an empty folder, the working directory."""
    shutil.copy(TEMPLATE, tmp_path / "template.yaml")
    (tmp_path / "samples").mkdir()
    shutil.copy(SAMPLE, tmp_path / "samples" / "sample.pdf")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def pagefan(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), input=stdin)


def one_error_line(result: Result) -> str:
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith("Error: ")
    return line


# --- --parameter-overrides ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("JobDeadlineSeconds=10", "parameter JobDeadlineSeconds='10' is below its MinValue 60"),
        ("MaxPages=many", "parameter MaxPages='many' is not a number"),
        ("LogRetentionDays=2", "parameter LogRetentionDays='2' is not one of [1, 3, 5,"),
        ("AlarmEmail=nobody", "parameter AlarmEmail='nobody' is not matching ^([^@\\s]+@[^@\\s]+)?$"),
        (
            "JobDeadline=100",
            "parameter JobDeadline is not declared by the template; did you mean JobDeadlineSeconds?",
        ),
        (
            "SubnetIds=subnet-1",
            "template rule SubnetsAndSecurityGroupsTogether (SubnetIds, SecurityGroupIds): "
            "SubnetIds and SecurityGroupIds are set together",
        ),
        ("JobDeadlineSeconds", "'JobDeadlineSeconds' is not Name=Value"),
    ],
)
@pytest.mark.parametrize(
    "command",
    [["run", str(SAMPLE)], ["invoke", "Splitter", "-e", str(ROOT / "events" / "splitter.json")], ["serve"]],
    ids=["run", "invoke", "serve"],
)
def test_a_bad_override_is_one_line_naming_it_before_any_account_starts(
    accounts: list[dict[str, Any]], command: list[str], override: str, expected: str
) -> None:
    result = pagefan(*command, "-t", str(TEMPLATE), "--parameter-overrides", override)

    assert one_error_line(result).startswith(f"Error: --parameter-overrides: {expected}")
    assert accounts == []


def test_overrides_take_both_of_sams_forms_several_after_one_flag(
    project: Path, accounts: list[dict[str, Any]]
) -> None:
    # GIVEN both forms, several values after one flag and two in one quoted argument, then the FILE
    result = pagefan(
        "run",
        "--parameter-overrides",
        "PollIntervalSeconds=2",
        "ParameterKey=SubnetIds,ParameterValue=subnet-1,subnet-2",
        "SecurityGroupIds=sg-1 AlarmEmail='ops@example.com'",
        str(SAMPLE),
    )

    # THEN the account is made with every value, and the PDF is still the file to run
    assert isinstance(result.exception, AccountNotStarted), result.stderr
    [account] = accounts
    assert account["parameters"] == {
        "PollIntervalSeconds": "2",
        "SubnetIds": "subnet-1,subnet-2",
        "SecurityGroupIds": "sg-1",
        "AlarmEmail": "ops@example.com",
    }


def test_the_flag_is_spread_until_a_value_without_equals_or_an_option() -> None:
    assert spread_multiple_values(["--parameter-overrides", "A=1", "B=2", "doc.pdf", "--json"]) == [
        "--parameter-overrides",
        "A=1",
        "--parameter-overrides",
        "B=2",
        "doc.pdf",
        "--json",
    ]
    assert spread_multiple_values(["--parameter-overrides=A=1", "B=2", "--", "C=3"]) == [
        "--parameter-overrides=A=1",
        "--parameter-overrides",
        "B=2",
        "--",
        "C=3",
    ]


def test_parameter_overrides_are_refused_on_a_deployed_stack(accounts: list[dict[str, Any]]) -> None:
    result = pagefan("run", "--stack-name", "pagefan", "--parameter-overrides", "MaxPages=10", str(SAMPLE))

    assert "works only on local runs" in one_error_line(result)


# --- samconfig.toml -------------------------------------------------------------------------------------

SAMCONFIG = """version = 0.1
[default.global.parameters]
stack_name = "global-stack"
parameter_overrides = "MaxPages=7"

[default.deploy.parameters]
stack_name = "deploy-stack"
region = "eu-west-1"
parameter_overrides = ["MaxPages=9 PollIntervalSeconds=3", "JobTtlDays=2"]

[staging.global.parameters]
stack_name = "staging-stack"
region = "ap-southeast-2"
profile = "staging"
parameter_overrides = "JobDeadlineSeconds=5"
"""


def test_samconfigs_deploy_parameters_apply_and_the_command_line_wins(
    project: Path, accounts: list[dict[str, Any]]
) -> None:
    # GIVEN samconfig.toml beside the template, with deploy and global parameters
    (project / "samconfig.toml").write_text(SAMCONFIG)

    # WHEN the template runs without overrides, then with one on the command line
    from_config = pagefan("run", str(SAMPLE))
    from_command_line = pagefan("run", "--parameter-overrides", "MaxPages=11", str(SAMPLE))

    # THEN the deploy table's overrides apply (over the global one), and the command line's replace them
    assert isinstance(from_config.exception, AccountNotStarted), from_config.stderr
    assert isinstance(from_command_line.exception, AccountNotStarted), from_command_line.stderr
    assert [account["parameters"] for account in accounts] == [
        {"MaxPages": "9", "PollIntervalSeconds": "3", "JobTtlDays": "2"},
        {"MaxPages": "11"},
    ]


def test_a_bad_override_in_samconfig_names_the_file(project: Path, accounts: list[dict[str, Any]]) -> None:
    (project / "samconfig.toml").write_text(SAMCONFIG)

    result = pagefan("serve", "--config-env", "staging")

    line = one_error_line(result)
    assert line == (
        f"Error: parameter_overrides of {project / 'samconfig.toml'}: "
        "parameter JobDeadlineSeconds='5' is below its MinValue 60"
    )
    assert accounts == []


class SessionRecorder:
    """boto3.Session as the stack commands make it: what it was made with; no stack anywhere."""

    made: list[dict[str, Any]] = []

    def __init__(self, **options: Any) -> None:
        self.made.append(options)

    def client(self, service: str, **_options: Any) -> Any:
        class NoStacks:
            def describe_stacks(self, StackName: str) -> dict[str, Any]:
                raise RuntimeError(f"no stack {StackName} here")

        return NoStacks()


@pytest.fixture
def sessions(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    import boto3

    SessionRecorder.made = []
    monkeypatch.setattr(boto3, "Session", SessionRecorder)
    return SessionRecorder.made


@pytest.mark.parametrize("command", [["status"], ["retry"], ["logs"], ["cost"]])
def test_stack_commands_take_the_stack_region_and_profile_from_samconfig_unless_told(
    project: Path, sessions: list[dict[str, Any]], command: list[str]
) -> None:
    (project / "samconfig.toml").write_text(SAMCONFIG)
    job_id = "0" * 32

    default = pagefan(*command, job_id)
    staging = pagefan(*command, job_id, "--config-env", "staging")
    told = pagefan(
        *command, job_id, "--config-env", "staging", "--stack-name", "mine", "--region", "us-west-2",
        "--profile", "me",
    )  # fmt: skip

    assert "cannot read stack deploy-stack: no stack deploy-stack here" in one_error_line(default)
    assert "cannot read stack staging-stack" in one_error_line(staging)
    assert "cannot read stack mine" in one_error_line(told)
    assert sessions == [
        {"region_name": "eu-west-1", "profile_name": None},
        {"region_name": "ap-southeast-2", "profile_name": "staging"},
        {"region_name": "us-west-2", "profile_name": "me"},
    ]


def test_without_samconfig_the_stack_is_pagefan_with_aws_own_region(
    tmp_path: Path, sessions: list[dict[str, Any]]
) -> None:
    empty = tmp_path / "empty.toml"
    empty.write_text("version = 0.1\n")

    result = pagefan("status", "0" * 32, "--config-file", str(empty))

    assert "cannot read stack pagefan:" in one_error_line(result)
    assert sessions == [{"region_name": None, "profile_name": None}]


def test_a_config_file_or_environment_named_but_missing_is_a_usage_error(
    tmp_path: Path, sessions: list[dict[str, Any]]
) -> None:
    missing = pagefan("status", "0" * 32, "--config-file", str(tmp_path / "nowhere.toml"))
    (tmp_path / "samconfig.toml").write_text(SAMCONFIG)
    no_env = pagefan(
        "status", "0" * 32, "--config-file", str(tmp_path / "samconfig.toml"), "--config-env", "prod"
    )

    assert one_error_line(missing) == f"Error: config file {tmp_path / 'nowhere.toml'}: no such file"
    assert "has no environment 'prod' (it has: default, staging)" in one_error_line(no_env)
    assert sessions == []


def test_an_unknown_profile_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))

    result = pagefan("status", "0" * 32, "--profile", "nobody")

    assert one_error_line(result) == "Error: The config profile (nobody) could not be found"


def test_region_and_profile_need_a_stack_to_reach(accounts: list[dict[str, Any]]) -> None:
    result = pagefan("run", "--region", "eu-west-1", str(SAMPLE))

    assert "give --stack-name too" in one_error_line(result)


# --- invoke: -e -, --env-vars ---------------------------------------------------------------------------


def test_invoke_reads_the_event_from_standard_input(accounts: list[dict[str, Any]]) -> None:
    bad = pagefan("invoke", "Splitter", "-e", "-", "-t", str(TEMPLATE), stdin="{not json")
    good = pagefan("invoke", "JobMetrics", "-e", "-", "-t", str(TEMPLATE), stdin='{"source": "pagefan"}')

    assert one_error_line(bad) == (
        "Error: the event on standard input is not JSON: Expecting property name enclosed in double "
        "quotes at line 1 column 2"
    )
    assert isinstance(good.exception, AccountNotStarted), good.stderr
    assert len(accounts) == 1


def test_env_vars_change_only_the_variables_the_template_gives(
    tmp_path: Path, accounts: list[dict[str, Any]]
) -> None:
    env_vars = tmp_path / "env.json"
    env_vars.write_text(
        json.dumps(
            {
                "Parameters": {"POWERTOOLS_LOG_LEVEL": "DEBUG", "NOWHERE": "x"},
                "Splitter": {"POWERTOOLS_LOG_LEVEL": "WARNING", "MAX_PAGES": 3, "EXTRA": True},
            }
        )
    )
    event = str(ROOT / "events" / "splitter.json")

    result = pagefan("invoke", "Splitter", "-e", event, "-t", str(TEMPLATE), "--env-vars", str(env_vars))

    assert isinstance(result.exception, AccountNotStarted), result.stderr
    overrides = accounts[0]["function_overrides"]
    assert overrides["Splitter"] == {"environment": {"POWERTOOLS_LOG_LEVEL": "WARNING", "MAX_PAGES": "3"}}
    assert overrides["PageWorker"] == {"environment": {"POWERTOOLS_LOG_LEVEL": "DEBUG"}}
    assert result.stderr.splitlines() == [
        "--env-vars: EXTRA is not an environment variable of Splitter in the template: ignored",
        "--env-vars: NOWHERE is an environment variable of no function in the template: ignored",
    ]


def test_env_vars_naming_no_function_of_the_template_is_a_usage_error(
    tmp_path: Path, accounts: list[dict[str, Any]]
) -> None:
    env_vars = tmp_path / "env.json"
    env_vars.write_text(json.dumps({"Spliter": {"MAX_PAGES": "3"}}))
    event = str(ROOT / "events" / "splitter.json")

    result = pagefan("invoke", "Splitter", "-e", event, "-t", str(TEMPLATE), "--env-vars", str(env_vars))

    assert f"--env-vars {env_vars} names Spliter, not functions of the template" in one_error_line(result)
    assert accounts == []


# --- the rest ---------------------------------------------------------------------------------------------


def test_version_comes_from_the_package_metadata() -> None:
    from importlib.metadata import version

    result = pagefan("--version")

    assert result.exit_code == 0 and result.stdout == f"pagefan {version('pagefan')}\n"


@pytest.mark.parametrize(
    ("job_status", "exit_code"), [("COMPLETED", 0), ("FAILED", 1), ("RUNNING", 3), ("SPLITTING", 3)]
)
@pytest.mark.parametrize("as_json", [False, True])
def test_status_exit_code_says_how_the_job_stands(
    monkeypatch: pytest.MonkeyPatch, job_status: str, exit_code: int, as_json: bool
) -> None:
    class Client:
        def status(self, job_id: str) -> dict[str, Any]:
            return {
                "job_id": job_id,
                "status": job_status,
                "source": "s3://raw/doc.pdf",
                "pages_total": 2,
                "pages_done": 1,
                "pages_failed": 0,
                "failed_pages": [],
                "error": None,
                "outputs": {},
                "timings": {"created_at": "t0", "updated_at": "t1", "deadline": "t2"},
            }

    monkeypatch.setattr(stack_commands, "stack_client", lambda *_args: (Client(), "pagefan"))

    result = pagefan("status", "0" * 32, *(["--json"] if as_json else []))

    assert result.exit_code == exit_code, result.stderr
    assert job_status in result.stdout


@pytest.mark.slow  # starts an emulated account up to its port check
def test_serve_on_a_port_in_use_is_a_usage_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        result = pagefan("serve", "--port", str(port))

    assert one_error_line(result).startswith(f"Error: --port: port {port} on 127.0.0.1 is unavailable")


def test_every_command_names_its_options_as_sam_does() -> None:
    stack_commands = ("status", "retry", "logs", "cost")
    for command in ("run", "invoke", "serve", "cost", "events"):
        assert "-t, --template" in pagefan(command, "--help").stdout, command
    for command in (*stack_commands, "run", "serve"):
        usage = pagefan(command, "--help").stdout
        assert "--stack-name" in usage and "--region" in usage and "--config-env" in usage, command
        assert "--stack " not in usage, command
    for command in (*stack_commands, "run"):
        assert "--profile" in pagefan(command, "--help").stdout, command
    for command in ("run", "invoke", "serve"):
        usage = pagefan(command, "--help").stdout
        assert "--parameter-overrides" in usage and "--debug" in usage, command
    status_help = " ".join(pagefan("status", "--help").stdout.split())
    assert "0 when the job COMPLETED, 1 when it FAILED, 3 while it is still running" in status_help


def test_events_checks_the_sample_events_and_writes_them(project: Path) -> None:
    shutil.copytree(ROOT / "events", project / "events")
    (project / "events" / "combiner.json").write_text("{}\n")

    stale = pagefan("events")
    written = pagefan("events", "--write")
    fresh = pagefan("events")

    assert stale.exit_code == 1 and "events/combiner.json: out of date" in stale.stdout
    assert "events/splitter.json: up to date" in stale.stdout
    assert written.exit_code == 0 and "wrote events/combiner.json" in written.stdout
    assert fresh.exit_code == 0 and "out of date" not in fresh.stdout
    assert (project / "events" / "combiner.json").read_text() == (
        ROOT / "events" / "combiner.json"
    ).read_text()


@pytest.mark.parametrize(
    "arguments",
    [[], ["template.yaml"], ["nowhere.yaml", "out.yaml"], [str(TEMPLATE), "out.yaml", "NoEquals"]],
)
def test_template_variants_with_bad_arguments_prints_its_usage(tmp_path: Path, arguments: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pagefan.local.emulator.template_variants", *arguments],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )

    assert result.returncode == 2
    assert result.stderr.startswith("usage: python -m pagefan.local.emulator.template_variants")
    assert "Traceback" not in result.stderr
