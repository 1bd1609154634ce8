def lambda_handler(event, context):
    return {"source": event.get("source"), "detail-type": event.get("detail-type")}
