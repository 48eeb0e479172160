"""A blocking service that routes its model call with Junction, deciding in process.

    python3 service_decide.py --url http://junction:8080 --objective continue-watching-ranking \\
        --unit user-42 --context country=BR --body request.json

The client is made once per process (it follows new revisions by itself and keeps a cache file,
so the service starts deciding even when Junction is down at boot), decides locally in
microseconds, and calls the chosen model version directly (or through Junction when only
Junction can call it). Exposures are reported in the background.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile

from junction_client import DeadlineExceeded, JunctionClient, JunctionError, UpstreamError


def score(jc: JunctionClient, objective: str, unit: str, context: dict, body: object) -> dict:
    """One request of the service: decide, call, and say who answered."""
    decision = jc.decide(objective, unit=unit, context=context, expose=False)  # invoke reports the exposure
    try:
        res = jc.invoke(objective, body, unit=unit, context=context, timeout=2.0)
        res.raise_for_error()  # a non-2xx answer as the typed error (Junction's code, or BackendError)
    except DeadlineExceeded:
        return {"target": decision.target, "error": "the model did not answer in time"}
    except UpstreamError as err:
        return {"target": decision.target, "error": f"the model could not be reached: {err.message}"}
    except JunctionError as err:
        return {"target": decision.target, "error": f"{err.code or err.status}: {err.message}"}
    return {
        "target": res.decision.target,
        "why": res.decision.headers["x-decision"],
        "direct": res.direct,
        "request_id": res.request_id,  # give it to jc.feedback(...) when the outcome is known
        "answer": res.json(),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", default=os.environ.get("JUNCTION_URL", "http://127.0.0.1:8080"))
    ap.add_argument("--objective", default="continue-watching-ranking")
    ap.add_argument("--unit", default="user-42")
    ap.add_argument("--context", action="append", default=[], help="key=value, repeatable")
    ap.add_argument("--body", help="a JSON file with the request body")
    ap.add_argument("--cache-file", default=os.path.join(tempfile.gettempdir(), "junction-snapshot.json"))
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)  # the client logs disconnections and rejected snapshots here

    context = dict(kv.split("=", 1) for kv in args.context)
    body = json.load(open(args.body)) if args.body else {}
    with JunctionClient.connect(args.url, api_key=os.environ.get("JUNCTION_API_KEY"), cache_file=args.cache_file) as jc:
        d = jc.decide(args.objective, unit=args.unit, context=context, expose=False)
        print(f"decided locally on revision {d.revision}: {d.target} ({d.rule}{', cell ' + d.cell if d.cell else ''})")
        print(json.dumps(score(jc, args.objective, args.unit, context, body), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
