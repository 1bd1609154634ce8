"""A first function: greets whoever the event names."""

import json
import os


def handler(event, context):
    name = (event or {}).get("name", "world")
    print(f"greeting {name}")
    return {
        "statusCode": 200,
        "body": json.dumps({"message": f"Hello, {name}!", "function": os.environ.get("AWS_LAMBDA_FUNCTION_NAME")}),
    }
