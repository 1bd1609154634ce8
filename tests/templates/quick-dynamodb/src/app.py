import os


def put_item(event, context):
    return {"statusCode": 200, "body": os.environ["SAMPLE_TABLE"]}
