"""AsyncJunctionClient on both of its transports: httpx when installed, else the blocking
transport in the loop's executor. Both must call the same targets the same way."""

from __future__ import annotations

import asyncio
import json
import os
import time

import pytest

from support import REPO, Junction, answer
from junction_client import AsyncJunctionClient, DeadlineExceeded, ObjectiveNotFound

try:
    import httpx  # noqa: F401

    HAVE_HTTPX = True
except ImportError:
    HAVE_HTTPX = False

REQUIRED = bool(os.environ.get("CI") or os.environ.get("JUNCTION_REQUIRE_SERVICES"))


@pytest.mark.parametrize("transport", ["thread", "httpx"])
def test_async_client_decides_invokes_and_reports(junction: Junction, upstreams, transport: str) -> None:
    if transport == "httpx" and not HAVE_HTTPX:
        if REQUIRED:
            pytest.fail("httpx is needed to test the asyncio client's httpx transport (Debian: python3-httpx)")
        pytest.skip("httpx is not installed")

    async def main() -> None:
        async with await AsyncJunctionClient.connect(junction.url, use_httpx=transport == "httpx") as jc:
            assert jc.transport == transport
            d = jc.decide("support-chat", unit="user-42", context={"country": "BR"})
            assert (d.target, d.rule) == ("chat@2", "rule:br")
            with pytest.raises(ObjectiveNotFound):
                jc.decide("nope")
            # Direct calls, concurrently, on the event loop.
            chat = {"model": "support-chat", "messages": [{"role": "user", "content": "hi"}]}
            results = await asyncio.gather(*(jc.invoke("support-chat", chat, unit=f"a-{i}") for i in range(10)))
            assert all(r.direct and r.status == 200 for r in results)
            got = upstreams["chat-1"].received[-1]
            assert got["path"] == "/base/v1/chat/completions" and json.loads(got["body"])["model"] == "served-chat-1"
            # Through Junction (an in-process model).
            body = json.loads((REPO / "examples/requests/continue-watching-ranking.json").read_text())
            res = await jc.invoke("ranking", body, unit="user-7")
            assert (res.direct, res.status, res.headers["x-model"]) == (False, 200, "ranker@6")
            assert await jc.feedback("click", 1, request_id=res.request_id) == {"accepted": 1, "written": 1}
            # A slow target: the deadline is typed, and the loop was never blocked meanwhile.
            slow = upstreams["raw-2"]
            unit = next(u for u in (f"as-{i}" for i in range(100)) if jc.decide("homepage", unit=u).target == "svc@2")
            slow.handler = lambda h, b: (time.sleep(0.6), answer(h, 200, b"{}"))
            try:
                ticks = 0

                async def tick() -> None:
                    nonlocal ticks
                    while True:
                        await asyncio.sleep(0.01)
                        ticks += 1

                ticker = asyncio.ensure_future(tick())
                with pytest.raises(DeadlineExceeded):
                    await jc.invoke("homepage", {}, unit=unit, timeout=0.3)
                ticker.cancel()
                assert ticks >= 10  # the loop ran while the call waited
            finally:
                slow.handler = None
            await jc.flush()
            assert jc.stats.exposures_sent >= 10 and jc.stats.exposures_dropped == 0

    asyncio.run(main())


def test_use_httpx_without_httpx_says_so(junction: Junction) -> None:
    if HAVE_HTTPX:
        pytest.skip("httpx is installed")

    async def main() -> None:
        with pytest.raises(RuntimeError, match="httpx is not installed"):
            await AsyncJunctionClient.connect(junction.url, use_httpx=True)

    asyncio.run(main())
