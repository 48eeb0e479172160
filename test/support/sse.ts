// Reads a server-sent events body into its `data:` payloads, as they arrive.
export async function* sseData(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffered = '';
  for await (const chunk of body) {
    buffered += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffered.indexOf('\n\n')) !== -1) {
      const event = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      for (const line of event.split('\n')) if (line.startsWith('data: ')) yield line.slice(6);
    }
  }
}

export async function allSseData(body: ReadableStream<Uint8Array>): Promise<string[]> {
  const out: string[] = [];
  for await (const data of sseData(body)) out.push(data);
  return out;
}

/** An OpenAI chat stream's text: every chunk's `delta.content` joined, after checking it ended with `[DONE]`. */
export async function chatStreamText(body: ReadableStream<Uint8Array>): Promise<string> {
  const data = await allSseData(body);
  if (data.at(-1) !== '[DONE]') throw new Error(`the stream did not end with [DONE] (last: ${String(data.at(-1))})`);
  return data
    .slice(0, -1)
    .map((d) => (JSON.parse(d) as { choices: Array<{ delta: { content?: string } }> }).choices[0]?.delta.content ?? '')
    .join('');
}
