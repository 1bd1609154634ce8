import json


def lambda_handler(event, context):
    """Sample pure Lambda function (the `sam init` hello-world quick start)."""
    return {
        "statusCode": 200,
        "body": json.dumps({"message": "hello world"}),
    }
