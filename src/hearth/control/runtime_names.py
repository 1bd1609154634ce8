"""Which runtime names AWS accepts, which it has retired, and which Hearth runs; and the
error for each kind of refusal, worded as AWS words it."""

from __future__ import annotations

from hearth.errors import invalid_parameter

SUPPORTED_RUNTIMES = (
    "python3.10",
    "python3.11",
    "python3.12",
    "python3.13",
    "nodejs18.x",
    "nodejs20.x",
    "nodejs22.x",
    "provided.al2023",
    "provided.al2",
)

# The runtimes AWS creates functions with, in the order its error message lists them (a hash
# set's order on AWS's side, copied from its recorded answer).
AWS_RUNTIMES = (
    "nodejs20.x",
    "python3.14",
    "provided.al2023",
    "python3.12",
    "python3.13",
    "nodejs24.x",
    "nodejs22.x",
    "java25",
    "python3.10",
    "python3.11",
    "java21",
    "ruby3.3",
    "ruby3.4",
    "ruby3.2",
    "python3.8",
    "python3.9",
    "java17",
    "nodejs16.x",
    "dotnet10",
    "dotnet8",
    "java11",
    "dotnet6",
    "nodejs18.x",
    "provided.al2",
    "java8.al2",
)

# In AWS's model but retired: AWS refuses to create or update functions with them.
DEPRECATED_RUNTIMES = frozenset(
    {
        "dotnetcore1.0",
        "dotnetcore2.0",
        "dotnetcore2.1",
        "dotnetcore3.1",
        "go1.x",
        "java8",
        "nodejs",
        "nodejs4.3",
        "nodejs4.3-edge",
        "nodejs6.10",
        "nodejs8.10",
        "nodejs10.x",
        "nodejs12.x",
        "nodejs14.x",
        "provided",
        "python2.7",
        "python3.6",
        "python3.7",
        "ruby2.5",
        "ruby2.7",
    }
)


def check_runtime(runtime: str) -> str:
    """The runtime, if Hearth can run it; else the error AWS (or, for a runtime AWS has and
    Hearth does not, Hearth) answers."""
    if runtime in SUPPORTED_RUNTIMES:
        return runtime
    if runtime in DEPRECATED_RUNTIMES:
        raise invalid_parameter(
            f"The runtime parameter of {runtime} is no longer supported for creating or updating "
            "AWS Lambda functions. We recommend you use a supported runtime while creating or "
            "updating functions."
        )
    if runtime in AWS_RUNTIMES:
        raise invalid_parameter(
            f"The runtime parameter of {runtime} is not supported by Hearth. "
            f"Supported runtimes: {', '.join(SUPPORTED_RUNTIMES)}."
        )
    raise invalid_parameter(
        f"Value {runtime} at 'runtime' failed to satisfy constraint: Member must satisfy enum "
        f"value set: [{', '.join(AWS_RUNTIMES)}] or be a valid ARN"
    )
