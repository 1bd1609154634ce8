"""Where layer content goes on Node's search path: AWS's NODE_PATH order, versioned first."""

from __future__ import annotations

from hearth.invoke.runtimes import layer_paths


def test_node_layers_get_the_versioned_folder_first() -> None:
    assert layer_paths("nodejs20.x", ["/opt"]) == {
        "node": ["/opt/nodejs/node20/node_modules", "/opt/nodejs/node_modules"]
    }
    assert layer_paths("nodejs18.x", ["/l1", "/l2"])["node"] == [
        "/l1/nodejs/node18/node_modules",
        "/l1/nodejs/node_modules",
        "/l2/nodejs/node18/node_modules",
        "/l2/nodejs/node_modules",
    ]
