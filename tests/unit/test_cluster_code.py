"""The cluster's code store on a real nats-server: code one node stores, another prefetches
(when a commit names it) and then holds as its own; a sweep deletes the bucket's copies no
version or layer names and nothing else, and a commit that names code a sweep took puts it
back first."""

from __future__ import annotations

import io
import time
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from hearth.cluster.code import ClusterCodeStore
from hearth.cluster.link import NatsLink
from hearth.cluster.local import LocalNats
from hearth.cluster.registry import KvRegistry
from hearth.errors import LambdaError
from hearth.models import AttachedLayer, LayerVersion
from tests.integration.conftest import make_zip
from tests.unit.test_registry_contract import function_record, function_version


@pytest.fixture(scope="module")
def link(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsLink]:
    server = LocalNats(tmp_path_factory.mktemp("nats")).start()
    connected = NatsLink((server.url,), "code-tests")
    yield connected
    connected.close()
    server.stop()


def _zip(text: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("app.py", text)
    return buf.getvalue()


def _node(link: NatsLink, root: Path) -> tuple[KvRegistry, ClusterCodeStore]:
    registry = KvRegistry(link, root.name, namespace=f"t{uuid.uuid4().hex[:12]}")
    code = ClusterCodeStore(root, link)
    registry.set_code_check(code.ensure_shared)
    return registry, code


def _in_bucket(link: NatsLink, code: ClusterCodeStore, digest: str) -> bool:
    async def info() -> bool:
        try:
            await code._objects.get_info(digest)
        except Exception:
            return False
        return True

    return link.run(info())


def _sweep(registry: KvRegistry, code: ClusterCodeStore) -> int:
    with registry.transaction() as tx:  # as Functions.collect_garbage does
        return code.sweep_shared(tx.code_digests_in_use())


def test_a_sweep_deletes_only_what_nothing_names(link: NatsLink, tmp_path: Path) -> None:
    registry, code = _node(link, tmp_path / "a")
    named, layer, attached, orphan = (
        code.put(_zip(f"{what} = '{uuid.uuid4()}'")).sha256_hex
        for what in ("named", "layer", "attached", "orphan")
    )
    arn = "arn:aws:lambda:us-east-1:123456789012:layer:gone:1"
    with registry.transaction() as tx:
        tx.put_function(function_record("fn"))
        # A version keeps the code of a layer version it attached, even once that is deleted.
        tx.put_version(
            function_version("fn", code_sha256_hex=named, layers=(AttachedLayer(arn, 1, attached),))
        )
        tx.put_layer_version(
            LayerVersion(
                layer_name="lib",
                version=1,
                code_sha256_hex=layer,
                code_size=1,
                created_date="2024-01-01T00:00:00.000+0000",
            )
        )
    assert _sweep(registry, code) >= 1
    for kept in (named, layer, attached):
        assert _in_bucket(link, code, kept)
    assert not _in_bucket(link, code, orphan)
    assert _sweep(registry, code) == 0  # nothing left to take
    with registry.transaction() as tx:
        tx.delete_version("fn", "$LATEST")
    assert _sweep(registry, code) == 2  # its code and its attached layer's
    assert not _in_bucket(link, code, named)
    assert _in_bucket(link, code, layer)


def test_a_commit_naming_code_a_sweep_took_uploads_it_again(link: NatsLink, tmp_path: Path) -> None:
    registry, code = _node(link, tmp_path / "b")
    other = ClusterCodeStore(tmp_path / "c", link)  # another node, fetching what b names
    digest = code.put(_zip(f"racing = '{uuid.uuid4()}'")).sha256_hex
    # Another node's sweep runs between the upload and the commit that names the code.
    assert _sweep(registry, code) >= 1
    assert not _in_bucket(link, code, digest)
    with registry.transaction() as tx:
        tx.put_function(function_record("late"))
        tx.put_version(function_version("late", code_sha256_hex=digest))
    assert _in_bucket(link, code, digest)  # put back before the commit
    assert other.fetch(digest)
    assert other.tree(digest).joinpath("app.py").read_text().startswith("racing")


def test_a_commit_naming_code_no_one_holds_is_refused(link: NatsLink, tmp_path: Path) -> None:
    registry, _ = _node(link, tmp_path / "d")
    with pytest.raises(LambdaError) as raised, registry.transaction() as tx:
        tx.put_function(function_record("ghost"))
        tx.put_version(function_version("ghost", code_sha256_hex="f" * 64))
    assert raised.value.code == "ServiceException"
    with registry.transaction() as tx:
        assert tx.get_function("ghost") is None  # nothing of it was committed


def test_code_stored_on_one_node_is_prefetched_by_another(tmp_path: Path) -> None:
    server = LocalNats(tmp_path / "nats").start()
    links = [NatsLink((server.url,), f"code-{n}") for n in range(2)]
    try:
        first = ClusterCodeStore(tmp_path / "a", links[0])
        second = ClusterCodeStore(tmp_path / "b", links[1])
        digest = first.put(make_zip()).sha256_hex
        assert not second.has(digest)
        second.prefetch({digest, "not-a-digest", "0" * 64})  # the unknown ones are skipped
        deadline = time.monotonic() + 10
        while not second.has(digest):
            assert time.monotonic() < deadline, "never prefetched"
            time.sleep(0.02)
    finally:
        for link in links:
            link.close()
        server.stop()
