"""Asynchronous invocation: what happens to an event after `InvocationType=Event`.

`retry` holds the pure policy deciding, after each attempt, whether an event is delivered
to its OnSuccess destination, retried later, or given up on (OnFailure / dead-letter queue).
The queue that acts on those decisions lives beside it.
"""
