"""Asynchronous and poll-based invocation.

Asynchronous invocation: what happens to an event after `InvocationType=Event`.

* `queue`: the durable `EventQueue` Protocol (at least once, leases, group-committed writes);
  `sqlite_queue` is the adapter `hearth serve` uses, `memory_queue` the fake for tests.
* `retry`: the pure policy deciding, after each attempt, to deliver, retry or give up.
* `dispatcher`: claims events, runs them through the `Invoker`, applies the policy.
* `destinations`: destination records and dead letters, and the `MessageSink` that sends
  them to SQS, SNS or EventBridge; `config` reads a function's event invoke config and DLQ.

Poll-based invocation (event source mappings):

* `patterns`: the EventBridge pattern language (FilterCriteria, and shared with EventBridge
  rules and SNS filter policies): `validate_pattern` and `matches`, pure.
* `mapping_supervisor`: one poller per enabled mapping; settles mapping states.
* `sqs_poller`, `stream_poller` (+ `stream_readers` for Kinesis / DynamoDB Streams), sharing
  `poller_base`; `batch_response` reads partial batch responses; `positions` keeps stream
  positions durably; `sources` makes the botocore clients and checks a source exists.
"""
