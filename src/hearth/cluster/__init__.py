"""Cluster mode: several Hearth nodes as one, on NATS JetStream (KV, object store, streams)."""
