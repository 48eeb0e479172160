"""The same in asyncio: many concurrent calls, routed per user, never blocking the event loop.

    python3 async_service.py --url http://junction:8080 --objective support-chat user-1 user-2 user-3

AsyncJunctionClient decides synchronously (local, microseconds) and calls with httpx when it is
installed (`pip install httpx`), else in the loop's thread pool: `jc.transport` says which.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os

from junction_client import AsyncJunctionClient, JunctionError


async def ask(jc: AsyncJunctionClient, objective: str, unit: str, body: object) -> str:
    try:
        res = await jc.invoke(objective, body, unit=unit, timeout=5.0)
        res.raise_for_error()
    except JunctionError as err:
        return f"{unit}: {err.code or err.status}: {err.message}"
    where = "directly" if res.direct else "through Junction"
    return f"{unit}: {res.decision.target} answered {where} ({res.decision.headers['x-decision']}): {res.text()[:80]}"


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", default=os.environ.get("JUNCTION_URL", "http://127.0.0.1:8080"))
    ap.add_argument("--objective", default="support-chat")
    ap.add_argument("--body", help="a JSON file with the request body (default: a chat message)")
    ap.add_argument("units", nargs="*", default=["user-1", "user-2", "user-3"])
    args = ap.parse_args()
    body = json.load(open(args.body)) if args.body else {
        "model": args.objective, "messages": [{"role": "user", "content": "How do I reset my password?"}],
    }  # fmt: skip
    async with await AsyncJunctionClient.connect(args.url, api_key=os.environ.get("JUNCTION_API_KEY")) as jc:
        print(f"revision {jc.revision}, calls over {jc.transport}")
        for line in await asyncio.gather(*(ask(jc, args.objective, u, body) for u in args.units)):
            print(line)


if __name__ == "__main__":
    asyncio.run(main())
