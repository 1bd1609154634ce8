"""The runtimes a layer may name, as AWS's live answers list them (recorded 2026-03).

A layer's CompatibleRuntimes is metadata: AWS accepts any name in its Runtime enum there,
deprecated ones included (java8, go1.x, provided), whether or not Hearth runs that runtime.
Its messages list the enums in AWS's own (unsorted) order, so the tuples keep that order.
"""

from __future__ import annotations

from hearth.control.runtime_names import AWS_RUNTIMES

# What ListLayers' CompatibleRuntime filter accepts, and lists when one is not.
LIST_FILTER_RUNTIMES = (
    "ruby3.5",
    "ruby2.6",
    "dotnetcore1.0",
    "python3.7",
    "nodejs8.10",
    "nasa",
    "ruby2.7",
    "python2.7-greengrass",
    "dotnetcore2.0",
    "python3.8",
    "java21",
    "dotnet6",
    "dotnetcore2.1",
    "python3.9",
    "java11",
    "nodejs6.10",
    "provided",
    "dotnetcore3.1",
    "dotnet8",
    "java25",
    "java17",
    "nodejs",
    "nodejs4.3",
    "java8.al2",
    "go1.x",
    "dotnet10",
    "nodejs20.x",
    "go1.9",
    "byol",
    "nodejs10.x",
    "provided.al2023",
    "nodejs22.x",
    "python3.10",
    "java8",
    "nodejs12.x",
    "python3.11",
    "nodejs24.x",
    "nodejs8.x",
    "python3.12",
    "nodejs14.x",
    "nodejs8.9",
    "nodejs26.x",
    "python3.13",
    "python3.14",
    "nodejs16.x",
    "python3.15",
    "provided.al2",
    "nodejs4.3-edge",
    "nodejs18.x",
    "ruby3.2",
    "python3.4",
    "ruby3.3",
    "ruby3.4",
    "ruby2.5",
    "python3.6",
    "python2.7",
)

# What PublishLayerVersion's message lists: the runtimes AWS still lets a new layer name in
# a message (it accepts every name of LIST_FILTER_RUNTIMES), the same list in the same order
# as CreateFunction's runtime message.
PUBLISH_MESSAGE_RUNTIMES = AWS_RUNTIMES
