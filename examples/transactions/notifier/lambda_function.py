# Notifier Lambda function: subscribed to the HighBalanceAlert SNS topic.
#
# The seed's notifier posts each alert to a Slack webhook; with no webhook here it logs the
# alert instead (set SLACK_WEBHOOK_URL to post it as the seed does).
import json
import os
from urllib.request import Request, urlopen


def lambda_handler(event, context):
    for record in event["Records"]:
        sns = record["Sns"]
        print("ALERT " + json.dumps({"subject": sns["Subject"], "message": sns["Message"]}))
        webhook_url = os.environ.get("SLACK_WEBHOOK_URL")
        if webhook_url:
            slack_data = {"channel": "monitoring", "text": sns["Subject"] + ": " + sns["Message"]}
            request = Request(
                webhook_url,
                data=json.dumps(slack_data).encode(),
                headers={"Content-Type": "application/json"},
            )
            urlopen(request)
    return {"alerts": len(event["Records"])}
