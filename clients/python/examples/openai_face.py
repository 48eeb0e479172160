"""OpenAI's Python client pointed at Junction's OpenAI face (documentation: `pip install openai`).

Junction serves the OpenAI API (`/v1/chat/completions`, `/v1/completions`, `/v1/embeddings`,
`/v1/responses`, `GET /v1/models`); the `model` field names the *objective*, and Junction picks
the model version behind it (rules, experiments, rollouts), streams the answer through, and says
who answered in the `x-model` and `x-decision` response headers. No SDK of ours is needed on
this path: the routing headers travel as extra headers.

    python3 openai_face.py   # needs `pip install openai` and a Junction with an objective of interface openai
"""

import os

try:
    from openai import OpenAI
except ImportError:  # this file is documentation where the openai package is not installed
    OpenAI = None


def main() -> None:
    if OpenAI is None:
        raise SystemExit("pip install openai to run this example")
    client = OpenAI(
        base_url=os.environ.get("JUNCTION_URL", "http://junction:8080") + "/v1",  # Junction's OpenAI face
        api_key=os.environ.get("JUNCTION_API_KEY", "unused"),  # sent as "authorization: Bearer …": Junction's key
    )
    routing = {"x-unit-id": "user-42", "x-context-country": "BR"}  # sticky allocation and rule context

    # A chat completion, with the raw response to read Junction's headers.
    raw = client.chat.completions.with_raw_response.create(
        model="support-chat",  # the objective, not a model version
        messages=[{"role": "user", "content": "How do I reset my password?"}],
        extra_headers=routing,
    )
    completion = raw.parse()
    print(raw.headers.get("x-model"), raw.headers.get("x-decision"), raw.headers.get("x-request-id"))
    print(completion.choices[0].message.content)

    # Streaming: events pass through as the model writes them.
    stream = client.chat.completions.create(
        model="support-chat", messages=[{"role": "user", "content": "Hi"}], stream=True, extra_headers=routing
    )
    for chunk in stream:
        print(chunk.choices[0].delta.content or "", end="", flush=True)
    print()

    # The Responses API (the default of current OpenAI SDKs) is routed the same way.
    response = client.responses.create(model="support-chat", input="Hi", extra_headers=routing)
    print(response.output_text)

    # Junction's own errors keep OpenAI's shape; the stable code is in the x-error-code header:
    # openai.NotFoundError for an unknown objective (x-error-code: objective_not_found),
    # openai.RateLimitError for rate_limited / token_limit_exceeded, openai.APIStatusError otherwise.


if __name__ == "__main__":
    main()
