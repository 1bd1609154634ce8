"""StandbyPool's bookkeeping (hearth.invoke.standby), with standbys that are not processes."""

from __future__ import annotations

import asyncio
import os

from hearth.invoke.launch import LaunchedProcess
from hearth.invoke.standby import Standby, StandbyPool


class _Process(LaunchedProcess):
    killed = False

    def kill(self) -> None:
        self.killed = True


def _standby() -> Standby:
    out_r, out_w = os.pipe()
    in_r, in_w = os.pipe()
    os.close(out_w)
    os.close(in_r)
    process = _Process(-1, asyncio.get_running_loop().create_future())
    return Standby(process, out_r, in_w)


async def _settle(pool: StandbyPool) -> None:
    for _ in range(20):
        await asyncio.sleep(0)


def test_take_fills_hands_out_once_and_skips_the_dead() -> None:
    async def main() -> None:
        started: list[Standby] = []

        async def start() -> Standby:
            started.append(_standby())
            return started[-1]

        pool = StandbyPool(start, size=2)
        assert pool.take() is None  # nothing started before the first need
        await _settle(pool)
        assert len(started) == 2
        first = pool.take()
        assert first is started[0]
        started[1].process.exited.set_result(1)  # died while waiting
        second = pool.take()
        assert second is not first and second is not started[1]
        dead = started[1].process
        assert isinstance(dead, _Process) and dead.killed and started[1].assign_fd == -1
        await _settle(pool)
        pool.close_now()
        left = [s for s in started if s not in (first, second, started[1])]
        assert left and all(isinstance(s.process, _Process) and s.process.killed for s in left)
        assert pool.take() is None

    asyncio.run(main())


def test_a_failing_start_leaves_the_pool_empty() -> None:
    async def main() -> None:
        async def start() -> Standby:
            raise OSError("no node")

        pool = StandbyPool(start, size=2)
        assert pool.take() is None
        await _settle(pool)
        assert pool.take() is None

    asyncio.run(main())


def test_assign_writes_the_message_and_hands_over_the_output() -> None:
    async def main() -> None:
        out_r, out_w = os.pipe()
        in_r, in_w = os.pipe()
        process = _Process(-1, asyncio.get_running_loop().create_future())
        standby = Standby(process, out_r, in_w)
        assert standby.assign({"env": {"A": "1"}, "cwd": "/x"}) is process
        assert os.read(in_r, 1000) == b'{"env": {"A": "1"}, "cwd": "/x"}'
        assert os.read(in_r, 1000) == b""  # closed: the runtime reads to EOF
        assert process.output_fd == out_r
        for fd in (in_r, out_r, out_w):
            os.close(fd)

    asyncio.run(main())
