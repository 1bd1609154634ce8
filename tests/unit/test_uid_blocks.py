"""Host-wide uid blocks: two servers never share sandbox uids, and a dead one frees its block."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hearth.sandbox.uid_blocks import BLOCKS, claim_block


def test_each_holder_gets_a_block_of_its_own(tmp_path: Path) -> None:
    first = claim_block(990_000, 10_000, tmp_path)
    second = claim_block(990_000, 10_000, tmp_path)
    assert (first.first, second.first) == (990_000, 1_000_000)
    first.release()
    again = claim_block(990_000, 10_000, tmp_path)
    assert again.first == 990_000  # a released block is taken again
    second.release()
    again.release()


def test_a_killed_holder_leaves_its_block_free(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path;"
            "from hearth.sandbox.uid_blocks import claim_block;"
            f"b = claim_block(990_000, 10_000, Path({str(tmp_path)!r})); print(b.first, flush=True);"
            "time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    with holder.stdout:
        assert holder.stdout.readline().strip() == "990000"
    beside = claim_block(990_000, 10_000, tmp_path)
    assert beside.first == 1_000_000
    holder.kill()
    holder.wait()
    after = claim_block(990_000, 10_000, tmp_path)
    assert after.first == 990_000
    beside.release()
    after.release()


def test_all_blocks_taken_is_a_clear_error(tmp_path: Path) -> None:
    held = [claim_block(990_000, 10_000, tmp_path) for _ in range(BLOCKS)]
    with pytest.raises(RuntimeError, match="held by other Hearth servers"):
        claim_block(990_000, 10_000, tmp_path)
    for block in held:
        block.release()
    assert os.listdir(tmp_path)
