"""Code and layers in the JetStream object store, unpacked once per node.

`ClusterCodeStore` is the node's own `CodeStore` (content-addressed zips and their unpacked
trees, in its data dir) in front of one object store bucket shared by the cluster: a zip
stored on any node is uploaded under its SHA-256 before the control plane references it;
a node that needs code it does not hold (a cold start of a function created elsewhere,
a code download) fetches the zip once, checks its digest and unpacks it as its own.
`prefetch` does that ahead of time, when another node's commit names new code.

Garbage collection: a node deletes its own copies of code nothing references any more, and
`sweep_shared` deletes the bucket's copies that no version or layer of the registry names.
It runs inside a registry transaction, under the cluster's registry lease, on the replica
caught up with the latest commit. Creating code races it: a zip is uploaded before the
transaction that names it, and may be swept in between (or have been, when the upload found
it there already). So every commit that names code the registry did not name before first
checks, under the same lease, that the bucket still holds it, and uploads it again from the
node's own copy if not (`ensure_shared`, the registry's code check). A sweep and such a
commit never overlap, so no commit can name code the bucket lacks.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from pathlib import Path

from nats.js.api import ObjectStoreConfig
from nats.js.errors import BucketNotFoundError, NotFoundError, ObjectNotFoundError
from nats.js.object_store import ObjectStore

from hearth.cluster.link import NatsLink
from hearth.errors import service_error
from hearth.store.code import CodeStore, StoredCode

logger = logging.getLogger("hearth.cluster")

CODE_BUCKET = "hearth_code"
# A 50 MB zip over a LAN takes a second or two; over loopback far less.
TRANSFER_TIMEOUT_SECONDS = 120.0
_HEX = re.compile(r"[0-9a-f]{64}")
# A sweep holds the registry's lease (LOCK_LEASE_SECONDS): it stops after this many deletes or
# seconds, well inside the lease, and the next sweep takes the rest.
SWEEP_MAX_DELETES = 200
SWEEP_MAX_SECONDS = 3.0


class ClusterCodeStore(CodeStore):
    def __init__(self, root: Path, link: NatsLink, *, replicas: int = 1) -> None:
        super().__init__(root)
        self._link = link
        self._objects: ObjectStore = link.run(self._open(replicas))
        self._fetching = threading.Lock()  # one download at a time; a second waits, then has it

    async def _open(self, replicas: int) -> ObjectStore:
        js = self._link.js
        try:
            return await js.object_store(CODE_BUCKET)
        except (BucketNotFoundError, NotFoundError):
            # (create_object_store takes the name apart and sets it on the config.)
            config = ObjectStoreConfig(replicas=replicas)
            return await js.create_object_store(CODE_BUCKET, config)

    def put(self, zip_bytes: bytes, max_zipped: int | None = None) -> StoredCode:
        # Validates and unpacks first: bad zips go nowhere.
        stored = super().put(zip_bytes, max_zipped)
        self._link.run(self._upload(stored.sha256_hex, zip_bytes), TRANSFER_TIMEOUT_SECONDS)
        return stored

    async def _upload(self, name: str, zip_bytes: bytes) -> None:
        try:
            await self._objects.get_info(name)
            return  # stored by this or another node already (same name, same bytes)
        except (ObjectNotFoundError, NotFoundError):
            pass
        await self._objects.put(name, zip_bytes)

    def sweep_shared(self, in_use: set[str]) -> int:
        return self._link.run(self._sweep(in_use), TRANSFER_TIMEOUT_SECONDS)

    async def _sweep(self, in_use: set[str]) -> int:
        try:
            listed = await self._objects.list(ignore_deletes=True)
        except NotFoundError:
            return 0  # the bucket is empty
        deadline = time.monotonic() + SWEEP_MAX_SECONDS
        deleted = 0
        for info in listed:
            name = info.name
            if _HEX.fullmatch(name) is None or name in in_use:
                continue  # not Hearth's, or named
            if deleted >= SWEEP_MAX_DELETES or time.monotonic() > deadline:
                break
            try:
                await self._objects.delete(name)
            except (ObjectNotFoundError, NotFoundError):
                continue  # swept by another node meanwhile
            deleted += 1
        if deleted:
            logger.info("cluster: deleted %d unreferenced code objects from the bucket", deleted)
        return deleted

    def ensure_shared(self, digests: set[str]) -> None:
        """Make sure the bucket holds each of `digests` (a commit is about to name them),
        uploading this node's own copy where a sweep took it. Called under the registry's
        lease; raises (and so refuses the commit) if neither holds it."""
        for digest in sorted(digests):
            if _HEX.fullmatch(digest) is None:
                continue
            self._link.run(self._ensure(digest), TRANSFER_TIMEOUT_SECONDS)

    async def _ensure(self, name: str) -> None:
        try:
            await self._objects.get_info(name)
            return
        except (ObjectNotFoundError, NotFoundError):
            pass
        if not super().has(name):
            raise service_error(
                "The function's code is missing from the cluster's code store; upload it again."
            )
        logger.info("cluster: code %s was swept before its commit: uploading it again", name[:12])
        await self._objects.put(name, super().get_zip_path(name).read_bytes())

    def fetch(self, sha256_hex: str) -> bool:
        """Make sure this node holds the code (downloading it if not); whether it does."""
        if _HEX.fullmatch(sha256_hex) is None:
            return False
        if super().has(sha256_hex):
            return True
        with self._fetching:
            if super().has(sha256_hex):
                return True
            data = self._link.run(self._download(sha256_hex), TRANSFER_TIMEOUT_SECONDS)
            if data is None or hashlib.sha256(data).hexdigest() != sha256_hex:
                return False
            super().put(data)
            return True

    async def _download(self, name: str) -> bytes | None:
        try:
            result = await self._objects.get(name)
        except (ObjectNotFoundError, NotFoundError):
            return None
        return result.data

    def prefetch(self, digests: set[str]) -> None:
        """Fetch, on a thread of its own, whichever of these this node does not hold."""
        # Bound here: a zero-argument super() inside a comprehension raises TypeError on
        # Python 3.11 (the comprehension is a function of its own there).
        held_here = super().has
        missing = {d for d in digests if _HEX.fullmatch(d) and not held_here(d)}
        if missing:
            threading.Thread(target=self._fetch_all, args=(missing,), daemon=True).start()

    def _fetch_all(self, digests: set[str]) -> None:
        for digest in digests:
            try:
                self.fetch(digest)
            except Exception as exc:
                logger.warning("cluster: prefetching code %s failed: %s", digest[:12], exc)

    def tree(self, sha256_hex: str) -> Path:
        self.fetch(sha256_hex)
        return super().tree(sha256_hex)

    def get_zip_path(self, sha256_hex: str) -> Path:
        self.fetch(sha256_hex)
        return super().get_zip_path(sha256_hex)

    def stat(self, sha256_hex: str) -> StoredCode:
        self.fetch(sha256_hex)
        return super().stat(sha256_hex)
