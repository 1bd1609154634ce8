"""Node.js functions through boto3: async, callback, ESM, errors, logs."""

from __future__ import annotations

import base64
import json
import shutil
from typing import Any

import pytest

from tests.integration.conftest import create_function, make_zip

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")


def invoke(client: Any, name: str, event: Any = None, **kwargs: Any) -> tuple[dict[str, Any], Any]:
    response = client.invoke(
        FunctionName=name, Payload=json.dumps(event if event is not None else {}), **kwargs
    )
    return response, json.loads(response["Payload"].read())


def test_async_commonjs_handler(client: Any) -> None:
    code = make_zip(
        {
            "index.js": (
                "let count = 0;\n"
                "exports.handler = async (event, context) => {\n"
                "  count += 1;\n"
                "  console.log('hello from node', event.name);\n"
                "  return {greeting: `hi ${event.name}`, count, fn: context.functionName,\n"
                "          remaining: context.getRemainingTimeInMillis() > 0, id: context.awsRequestId};\n"
                "};\n"
            )
        }
    )
    create_function(client, "node-async", code, Runtime="nodejs20.x", Handler="index.handler")
    response, body = invoke(client, "node-async", {"name": "ada"}, LogType="Tail")
    assert "FunctionError" not in response
    assert body["greeting"] == "hi ada"
    assert body["fn"] == "node-async"
    assert body["remaining"] is True
    log = base64.b64decode(response["LogResult"]).decode()
    assert f"\t{body['id']}\tINFO\thello from node ada" in log
    _, again = invoke(client, "node-async", {"name": "bob"})
    assert again["count"] == body["count"] + 1  # a warm environment keeps module state


def test_callback_and_esm_handlers(client: Any) -> None:
    callback = make_zip(
        {"app.js": "exports.run = (event, context, cb) => cb(null, {sum: event.a + event.b});\n"}
    )
    create_function(client, "node-callback", callback, Runtime="nodejs22.x", Handler="app.run")
    assert invoke(client, "node-callback", {"a": 2, "b": 3})[1] == {"sum": 5}
    esm = make_zip(
        {"lib/index.mjs": "export const handler = async (event) => ({esm: true, got: event});\n"}
    )
    create_function(client, "node-esm", esm, Runtime="nodejs20.x", Handler="lib/index.handler")
    assert invoke(client, "node-esm", {"x": 1})[1] == {"esm": True, "got": {"x": 1}}


def test_errors_are_shaped_as_on_aws(client: Any) -> None:
    code = make_zip(
        {"index.js": "exports.handler = async () => { throw new TypeError('nope'); };\n"}
    )
    create_function(client, "node-throws", code, Runtime="nodejs20.x", Handler="index.handler")
    response, body = invoke(client, "node-throws")
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "TypeError"
    assert body["errorMessage"] == "nope"
    missing = make_zip({"index.js": "exports.other = async () => 1;\n"})
    create_function(client, "node-missing", missing, Runtime="nodejs20.x", Handler="index.handler")
    response, body = invoke(client, "node-missing")
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.HandlerNotFound"


def test_layer_modules_are_on_node_path(client: Any) -> None:
    layer = client.publish_layer_version(
        LayerName="node-helpers",
        Content={
            "ZipFile": make_zip(
                {"nodejs/node_modules/greeter/index.js": "exports.greet = (n) => `hello ${n}`;\n"}
            )
        },
    )
    code = make_zip(
        {
            "index.js": "const {greet} = require('greeter');\nexports.handler = async (e) => greet(e.name);\n"
        }
    )
    create_function(
        client,
        "node-layer",
        code,
        Runtime="nodejs20.x",
        Handler="index.handler",
        Layers=[layer["LayerVersionArn"]],
    )
    assert invoke(client, "node-layer", {"name": "layers"})[1] == "hello layers"


def test_esm_handlers_import_layer_packages(client: Any) -> None:
    """ES modules ignore NODE_PATH; AWS still resolves a layer's packages for them on Node 18+,
    from nodejs/node_modules and the versioned nodejs/nodeNN/node_modules, "exports" included.
    A package that no layer has is still Runtime.ImportModuleError."""
    layer = client.publish_layer_version(
        LayerName="node-esm-helpers",
        Content={
            "ZipFile": make_zip(
                {
                    "nodejs/node_modules/greet/package.json": '{"name": "greet"}',
                    "nodejs/node_modules/greet/index.js": "module.exports = (n) => `hello ${n}`;\n",
                    "nodejs/node20/node_modules/shout/package.json": (
                        '{"name": "shout", "type": "module", "exports": {".": "./lib/main.js"}}'
                    ),
                    "nodejs/node20/node_modules/shout/lib/main.js": (
                        "export const shout = (s) => s.toUpperCase();\n"
                    ),
                }
            )
        },
    )
    code = make_zip(
        {
            "index.mjs": (
                "import greet from 'greet';\nimport { shout } from 'shout';\n"
                "import path from 'node:path';\n"
                "export const handler = async (e) => shout(greet(path.basename(e.name)));\n"
            )
        }
    )
    create_function(
        client,
        "node-esm-layer",
        code,
        Runtime="nodejs20.x",
        Handler="index.handler",
        Layers=[layer["LayerVersionArn"]],
    )
    assert invoke(client, "node-esm-layer", {"name": "layers"})[1] == "HELLO LAYERS"

    missing = make_zip(
        {
            "index.mjs": "import nope from 'not-in-any-layer';\nexport const handler = async () => nope;\n"
        }
    )
    create_function(
        client,
        "node-esm-layer-missing",
        missing,
        Runtime="nodejs20.x",
        Handler="index.handler",
        Layers=[layer["LayerVersionArn"]],
    )
    response, body = invoke(client, "node-esm-layer-missing")
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.ImportModuleError"
    assert body["errorMessage"].startswith(
        "Error [ERR_MODULE_NOT_FOUND]: Cannot find package 'not-in-any-layer' imported from "
    )


def test_esm_finds_layer_and_sdk_packages_without_a_loader_thread_in_a_sandbox(
    client: Any,
) -> None:
    """In a sandbox the NODE_PATH folders are merged at /node_modules, where ES module
    resolution ends, so no resolve hook (and no loader thread, ~10 MB) is needed: a failed
    import's stack then has no hook frames. Outside a sandbox the hook still resolves them."""
    layer = client.publish_layer_version(
        LayerName="node-esm-nohook",
        Content={
            "ZipFile": make_zip(
                {
                    "nodejs/node_modules/greet/package.json": '{"name": "greet"}',
                    "nodejs/node_modules/greet/index.js": "module.exports = (n) => `hi ${n}`;\n",
                }
            )
        },
    )
    code = make_zip(
        {
            "src/index.mjs": (
                "import greet from 'greet';\n"
                "import { STSClient } from '@aws-sdk/client-sts';\n"
                "export const handler = async () => {\n"
                "  let stack = '';\n"
                "  try { await import('not-in-any-layer'); } catch (e) { stack = e.stack; }\n"
                "  return { greet: greet('x'), sdk: typeof STSClient, stack,\n"
                "           root: process.env.LAMBDA_TASK_ROOT };\n"
                "};\n"
            )
        }
    )
    # A standby runtime gets the links at assignment; NODE_OPTIONS makes Node boot its own.
    for name, variables in [
        ("node-esm-nohook", {}),
        ("node-esm-nohook-boot", {"NODE_OPTIONS": ""}),
    ]:
        create_function(
            client,
            name,
            code,
            Runtime="nodejs20.x",
            Handler="src/index.handler",
            Layers=[layer["LayerVersionArn"]],
            Environment={"Variables": variables},
        )
        response, body = invoke(client, name)
        assert "FunctionError" not in response, body
        assert (body["greet"], body["sdk"]) == ("hi x", "function")
        assert "Cannot find package 'not-in-any-layer'" in body["stack"]
        sandboxed = body["root"] == "/var/task"
        assert ("esm/hooks" in body["stack"]) is not sandboxed


def test_layer_packages_keep_one_identity_and_many_long_names_fit(client: Any) -> None:
    """A package found through /node_modules is the same module a sibling package gets (its
    real path), and a layer of 300 packages with 200-character names still starts."""
    long_names = [f"p{i:03d}-" + "x" * 195 for i in range(300)]
    files: dict[str, str | bytes] = {
        "nodejs/node_modules/counter/index.js": "module.exports = { n: 0 };\n",
        "nodejs/node_modules/uses-counter/index.js": "module.exports = require('counter');\n",
    }
    for name in long_names:
        files[f"nodejs/node_modules/{name}/index.js"] = f"module.exports = '{name[:4]}';\n"
    layer = client.publish_layer_version(
        LayerName="node-esm-identity", Content={"ZipFile": make_zip(files)}
    )
    code = make_zip(
        {
            "index.mjs": (
                "import counter from 'counter';\nimport uses from 'uses-counter';\n"
                "import { createRequire } from 'node:module';\n"
                f"import last from '{long_names[-1]}';\n"
                "const require = createRequire(import.meta.url);\n"
                "export const handler = async () => ({ same: counter === uses,\n"
                "  cjs: require('counter') === counter, last,\n"
                "  path: require.resolve('counter') });\n"
            )
        }
    )
    create_function(
        client,
        "node-esm-identity",
        code,
        Runtime="nodejs20.x",
        Handler="index.handler",
        Layers=[layer["LayerVersionArn"]],
    )
    response, body = invoke(client, "node-esm-identity")
    assert "FunctionError" not in response, body
    assert (body["same"], body["cjs"], body["last"]) == (True, True, "p299")
    assert body["path"].endswith("/nodejs/node_modules/counter/index.js")
