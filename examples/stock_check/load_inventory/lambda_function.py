# Load-Inventory Lambda function (not in the seed; the seed's lab loads its Inventory table
# the same way): triggered by a CSV uploaded to S3, it writes each row into Inventory.
import csv
import io
import urllib.parse

import boto3

s3 = boto3.client('s3')
inventoryTable = boto3.resource('dynamodb').Table('Inventory')


def lambda_handler(event, context):
    record = event['Records'][0]['s3']
    bucket = record['bucket']['name']
    key = urllib.parse.unquote_plus(record['object']['key'])
    body = s3.get_object(Bucket=bucket, Key=key)['Body'].read().decode()
    rows = 0
    for row in csv.DictReader(io.StringIO(body), delimiter='|'):
        inventoryTable.put_item(
            Item={'Store': row['store'], 'Item': row['item'], 'Count': int(row['count'])}
        )
        rows += 1
    return '%d items loaded' % rows
