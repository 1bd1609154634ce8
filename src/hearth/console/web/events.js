// Sample test events, in the shapes AWS delivers them to Lambda (trimmed to the fields
// handlers read). The CloudWatch Logs one is built as AWS sends it: gzip, then base64.
import { gzipSync, strToU8 } from "fflate";

const REGION = "us-east-1";
const NOW = "2024-01-01T00:00:00.000Z";

function s3(eventName, object) {
  return { Records: [{ eventVersion: "2.1", eventSource: "aws:s3", awsRegion: REGION, eventTime: NOW,
    eventName, userIdentity: { principalId: "EXAMPLE" }, requestParameters: { sourceIPAddress: "127.0.0.1" },
    responseElements: { "x-amz-request-id": "EXAMPLE123456789", "x-amz-id-2": "EXAMPLE123/abcdefgh" },
    s3: { s3SchemaVersion: "1.0", configurationId: "testConfigRule",
      bucket: { name: "example-bucket", ownerIdentity: { principalId: "EXAMPLE" }, arn: "arn:aws:s3:::example-bucket" },
      object: { key: "test/key", sequencer: "0A1B2C3D4E5F678901", ...object } } }] };
}

function cloudwatchLogs() {
  const data = { messageType: "DATA_MESSAGE", owner: "123456789012", logGroup: "/aws/lambda/example",
    logStream: "2024/01/01/[$LATEST]0123456789abcdef", subscriptionFilters: ["example"],
    logEvents: [{ id: "eventId1", timestamp: 1704067200000, message: "[ERROR] First test message" },
      { id: "eventId2", timestamp: 1704067200001, message: "[ERROR] Second test message" }] };
  let binary = "";
  gzipSync(strToU8(JSON.stringify(data))).forEach((b) => { binary += String.fromCharCode(b); });
  return { awslogs: { data: btoa(binary) } };
}

export const SAMPLE_EVENTS = {
  "hello-world": { key1: "value1", key2: "value2", key3: "value3" },
  "s3-put": s3("ObjectCreated:Put", { size: 1024, eTag: "0123456789abcdef0123456789abcdef" }),
  "s3-delete": s3("ObjectRemoved:Delete", {}),
  "dynamodb-update": { Records: [{ eventID: "1", eventVersion: "1.1", eventSource: "aws:dynamodb",
    awsRegion: REGION, eventName: "INSERT", eventSourceARN:
      `arn:aws:dynamodb:${REGION}:123456789012:table/ExampleTable/stream/2024-01-01T00:00:00.000`,
    dynamodb: { Keys: { Id: { N: "101" } }, NewImage: { Message: { S: "New item!" }, Id: { N: "101" } },
      SequenceNumber: "111", SizeBytes: 26, StreamViewType: "NEW_AND_OLD_IMAGES" } }] },
  "sns": { Records: [{ EventVersion: "1.0", EventSource: "aws:sns", EventSubscriptionArn:
      `arn:aws:sns:${REGION}:123456789012:example-topic:0123`, Sns: { Type: "Notification",
      MessageId: "95df01b4-ee98-5cb9-9903-4c221d41eb5e", TopicArn: `arn:aws:sns:${REGION}:123456789012:example-topic`,
      Subject: "example subject", Message: "example message", Timestamp: NOW, MessageAttributes: {} } }] },
  "ses": { Records: [{ eventVersion: "1.0", eventSource: "aws:ses", ses: {
    mail: { timestamp: NOW, source: "janedoe@example.com", messageId: "o3vrnil0e2ic28trm7dfhrc2v0clambda4nbp0g1",
      destination: ["johndoe@example.com"], commonHeaders: { from: ["Jane Doe <janedoe@example.com>"],
        to: ["johndoe@example.com"], subject: "Test Subject" } },
    receipt: { recipients: ["johndoe@example.com"], spamVerdict: { status: "PASS" }, virusVerdict: { status: "PASS" },
      action: { type: "Lambda", functionArn: `arn:aws:lambda:${REGION}:123456789012:function:Example`,
        invocationType: "Event" } } } }] },
  "cloudwatch-logs": cloudwatchLogs(),
  "apigateway-proxy": { resource: "/{proxy+}", path: "/hello/world", httpMethod: "POST",
    headers: { "Content-Type": "application/json" }, queryStringParameters: { name: "me" },
    pathParameters: { proxy: "hello/world" }, requestContext: { resourcePath: "/{proxy+}", httpMethod: "POST",
      stage: "prod", requestId: "c6af9ac6-7b61-11e6-9a41-93e8deadbeef" }, body: '{"test":"body"}',
    isBase64Encoded: false },
  "sqs": { Records: [{ messageId: "059f36b4-87a3-44ab-83d2-661975830a7d", receiptHandle: "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a",
    body: "Test message.", attributes: { ApproximateReceiveCount: "1", SentTimestamp: "1704067200000",
      SenderId: "AIDAIENQZJOLO23YVJ4VO", ApproximateFirstReceiveTimestamp: "1704067200001" },
    messageAttributes: {}, md5OfBody: "e4e68fb7bd0e697a0ae8f1bb342846b3", eventSource: "aws:sqs",
    eventSourceARN: `arn:aws:sqs:${REGION}:123456789012:my-queue`, awsRegion: REGION }] },
  "kinesis": { Records: [{ kinesis: { kinesisSchemaVersion: "1.0", partitionKey: "1",
      sequenceNumber: "49590338271490256608559692538361571095921575989136588898", data: btoa("Hello, this is a test."),
      approximateArrivalTimestamp: 1704067200.0 }, eventSource: "aws:kinesis", eventVersion: "1.0",
    eventID: "shardId-000000000006:49590338271490256608559692538361571095921575989136588898",
    eventName: "aws:kinesis:record", awsRegion: REGION,
    eventSourceARN: `arn:aws:kinesis:${REGION}:123456789012:stream/lambda-stream` }] },
  "schedule": { version: "0", id: "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa", "detail-type": "Scheduled Event",
    source: "aws.events", account: "123456789012", time: "2024-01-01T00:00:00Z", region: REGION,
    resources: [`arn:aws:events:${REGION}:123456789012:rule/my-schedule`], detail: {} },
};
