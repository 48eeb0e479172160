// A simulated LLM replica (issue 23, item 4): a real node:http server that
// speaks the OpenAI API as vLLM serves it (chat and text completions,
// streamed as SSE or whole; GET /v1/models; GET /metrics with vLLM's metric
// names) over a model of vLLM's engine:
//
// - Tokens are 4 characters of the rendered prompt (params.ts); a chat prompt
//   is rendered as `<|role|>\n{content}\n` per message and `<|assistant|>\n`.
//   Each turn's prompt begins with the previous turn's prompt and answer, as a
//   chat template does, so a conversation's history is a shared prefix.
// - Automatic prefix caching as in vLLM: KV blocks of 16 tokens identified by
//   a hash chain (a block's hash covers its parent's), an LRU of cached blocks
//   whose room is the KV capacity minus what running requests hold. A request
//   looks up its prompt's leading blocks when admitted (hits and queries are
//   counted in tokens, as vllm:prefix_cache_hits/queries are); its prompt's
//   blocks are cached when its prefill ends, prompt and answer when it ends.
// - Continuous batching: a loop of steps. Each step admits waiting requests
//   (FCFS) while the batch has room (max_num_seqs) and their KV blocks fit;
//   then runs one decode token for every request past prefill plus prefill
//   chunks for the others within the token budget (chunked prefill), and takes
//   stepBase + stepPerSeq × sequences + prefillPerToken × prefill tokens. The
//   step that finishes a prompt's prefill produces its first token.
// - Time: simulated milliseconds × `scale` of wall-clock time, on timers. The
//   replica keeps its own clock (each step ends `duration` after the previous
//   one ended, not after its timer fired), so a late event loop delays tokens
//   but does not slow the simulated GPU down.
//
// Response headers are sent with the first token (as vLLM's streaming
// generator first yields after the first engine output): a request still
// waiting or in prefill has received no bytes. `kill()` destroys every open
// socket and stops listening: a replica dying mid-run.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { A100_LLAMA_8B, type ReplicaParams } from './params.js';

export interface ReplicaOptions {
  /** The replica's number in its fleet (in response ids and `x-sim-replica`). */
  index: number;
  /** Wall-clock ms per simulated ms (0.25: four times faster than the simulated GPU). */
  scale: number;
  params?: ReplicaParams;
  /** Step-time multiplier: a straggler (3 = three times slower steps). */
  slowdown?: number;
  /** The model name served (`/v1/models`, response bodies). */
  model?: string;
  port?: number;
}

export interface ReplicaStats {
  index: number;
  /** Requests admitted to a batch, completed, and aborted (client gone or replica killed). */
  admitted: number;
  completed: number;
  aborted: number;
  /** Prompt tokens looked up in the prefix cache, and those found (vllm:prefix_cache_queries/hits). */
  queries: number;
  hits: number;
  /** Prompt tokens prefilled (not found in the cache) and tokens generated. */
  prefilled: number;
  generated: number;
  running: number;
  waiting: number;
  peakRunning: number;
  peakWaiting: number;
  cachedBlocks: number;
  evictedBlocks: number;
  kvUsage: number;
  dead: boolean;
}

interface SimRequest {
  id: string;
  chat: boolean;
  stream: boolean;
  includeUsage: boolean;
  prompt: string;
  promptTokens: number;
  maxTokens: number;
  hashes: number[];
  /** Blocks found in the cache when admitted; blocks held while running. */
  matchedBlocks: number;
  heldBlocks: number;
  cachedTokens: number;
  prefillLeft: number;
  chunk: number;
  generated: number;
  text: string;
  pending: string;
  pendingTokens: number;
  headersSent: boolean;
  done: boolean;
  res: ServerResponse;
  seed: number;
}

const WORDS = [
  'the ',
  'and ',
  'for ',
  'you ',
  'can ',
  'our ',
  'new ',
  'may ',
  'set ',
  'use ',
  'run ',
  'key ',
  'log ',
  'app ',
  'fix ',
  'now ',
] as const;

const CHAIN_SEED = 0x811c9dc5;

/** Two FNV-1a-style 32-bit hashes of `text[from, to)` continuing `parent`, as one safe integer. */
function blockHash(parent: number, text: string, from: number, to: number): number {
  let a = (parent ^ CHAIN_SEED) >>> 0;
  let b = (Math.floor(parent / 0x100000000) ^ 0x01000193) >>> 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193) >>> 0;
    b = Math.imul(b ^ c, 0x5bd1e995) >>> 0;
    b ^= b >>> 15;
  }
  return (a >>> 0) * 0x200000 + (b >>> 11);
}

/** The hash chain of every full block of `text` (vLLM's block hashes, over characters). */
export function blockHashes(text: string, p: ReplicaParams = A100_LLAMA_8B): number[] {
  const blockChars = p.blockTokens * p.charsPerToken;
  const out: number[] = [];
  let parent = 0;
  for (let at = 0; at + blockChars <= text.length; at += blockChars) {
    parent = blockHash(parent, text, at, at + blockChars);
    out.push(parent);
  }
  return out;
}

/** A chat request's messages as the simulator's chat template renders them (the prompt the cache sees). */
export function renderChat(messages: ReadonlyArray<{ role: string; content: string }>): string {
  let s = '';
  for (const m of messages) s += `<|${m.role}|>\n${m.content}\n`;
  return `${s}<|assistant|>\n`;
}

export function tokensOf(text: string, p: ReplicaParams = A100_LLAMA_8B): number {
  return Math.max(1, Math.ceil(text.length / p.charsPerToken));
}

export class SimReplica {
  readonly index: number;
  readonly params: ReplicaParams;
  readonly model: string;
  url = '';
  private readonly scale: number;
  private slowdown: number;
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly waiting: SimRequest[] = [];
  private readonly running: SimRequest[] = [];
  /** Cached block hashes, least recently used first. */
  private readonly cache = new Map<number, true>();
  private held = 0;
  private timer: NodeJS.Timeout | undefined;
  private clock = 0;
  private seq = 0;
  private dead = false;
  private readonly s: ReplicaStats;
  private readonly created = Math.floor(Date.now() / 1000);
  private readonly port: number;

  constructor(opts: ReplicaOptions) {
    this.index = opts.index;
    this.scale = opts.scale;
    this.params = opts.params ?? A100_LLAMA_8B;
    this.slowdown = opts.slowdown ?? 1;
    this.model = opts.model ?? 'meta-llama/Llama-3.1-8B-Instruct';
    this.port = opts.port ?? 0;
    this.s = {
      index: opts.index,
      admitted: 0,
      completed: 0,
      aborted: 0,
      queries: 0,
      hits: 0,
      prefilled: 0,
      generated: 0,
      running: 0,
      waiting: 0,
      peakRunning: 0,
      peakWaiting: 0,
      cachedBlocks: 0,
      evictedBlocks: 0,
      kvUsage: 0,
      dead: false,
    };
    this.server = createServer((req, res) => this.handle(req, res));
    this.server.keepAliveTimeout = 30_000;
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  setSlowdown(factor: number): void {
    this.slowdown = factor;
  }

  stats(): ReplicaStats {
    return {
      ...this.s,
      running: this.running.length,
      waiting: this.waiting.length,
      cachedBlocks: this.cache.size,
      kvUsage: this.kvUsage(),
      dead: this.dead,
    };
  }

  /** Outstanding requests: running plus waiting. */
  get load(): number {
    return this.running.length + this.waiting.length;
  }

  get alive(): boolean {
    return !this.dead;
  }

  /** Tokens of `prompt` this replica would find in its prefix cache now (no LRU touch): the oracle's question. */
  cachedPrefixTokens(prompt: string): number {
    if (this.dead) return -1;
    const hashes = blockHashes(prompt, this.params);
    let n = 0;
    while (n < hashes.length && this.cache.has(hashes[n]!)) n++;
    return Math.min(n * this.params.blockTokens, tokensOf(prompt, this.params) - 1);
  }

  /**
   * Dies: every open socket destroyed (streams cut mid-answer), no longer
   * listening. Says how many of its requests had started their answer (bytes
   * sent) and how many had not (waiting, or in prefill).
   */
  kill(): { started: number; notStarted: number } {
    const inFlight = [...this.running, ...this.waiting];
    const started = inFlight.filter((r) => r.headersSent).length;
    if (this.dead) return { started: 0, notStarted: 0 };
    this.dead = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.server.close();
    for (const socket of this.sockets) socket.destroy();
    this.s.aborted += this.running.length + this.waiting.length;
    for (const r of [...this.running, ...this.waiting]) r.done = true;
    this.running.length = 0;
    this.waiting.length = 0;
    this.held = 0;
    return { started, notStarted: inFlight.length - started };
  }

  async close(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.dead = true;
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private kvUsage(): number {
    return Math.min(1, this.held / this.params.kvBlocks);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
      res.end(this.metricsText());
      return;
    }
    if (req.method === 'GET' && (path === '/v1/models' || path === '/health')) {
      const body =
        path === '/health'
          ? ''
          : JSON.stringify({
              object: 'list',
              data: [
                {
                  id: this.model,
                  object: 'model',
                  created: this.created,
                  owned_by: 'vllm',
                  root: this.model,
                  parent: null,
                  max_model_len: 131072,
                },
              ],
            });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body);
      return;
    }
    if (req.method === 'POST' && (path === '/v1/chat/completions' || path === '/v1/completions')) {
      const parts: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= 16 * 1024 * 1024) parts.push(c);
      });
      req.on('end', () => this.accept(path === '/v1/chat/completions', Buffer.concat(parts).toString('utf8'), res));
      return;
    }
    this.error(res, 404, 'NotFoundError', `no route ${req.method} ${path}`);
  }

  private error(res: ServerResponse, status: number, type: string, message: string): void {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ object: 'error', message, type, param: null, code: status }));
  }

  private accept(chat: boolean, text: string, res: ServerResponse): void {
    if (this.dead) return;
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      this.error(res, 400, 'BadRequestError', 'body is not JSON');
      return;
    }
    let prompt: string;
    if (chat) {
      const messages = body.messages;
      if (!Array.isArray(messages) || messages.length === 0) {
        this.error(res, 400, 'BadRequestError', 'messages: expected a non-empty array');
        return;
      }
      prompt = renderChat(
        messages.map((m: { role?: unknown; content?: unknown }) => ({
          role: typeof m.role === 'string' ? m.role : 'user',
          content: typeof m.content === 'string' ? m.content : JSON.stringify(m.content ?? ''),
        })),
      );
    } else {
      if (typeof body.prompt !== 'string') {
        this.error(res, 400, 'BadRequestError', 'prompt: expected a string');
        return;
      }
      prompt = body.prompt;
    }
    const max = body.max_completion_tokens ?? body.max_tokens;
    const maxTokens = typeof max === 'number' && max >= 1 ? Math.min(Math.floor(max), 4096) : 128;
    const promptTokens = tokensOf(prompt, this.params);
    const need = Math.ceil((promptTokens + maxTokens) / this.params.blockTokens);
    if (need > this.params.kvBlocks) {
      this.error(
        res,
        400,
        'BadRequestError',
        `prompt and max_tokens need ${need} KV blocks, the replica has ${this.params.kvBlocks}`,
      );
      return;
    }
    const streamOptions = body.stream_options as { include_usage?: unknown } | undefined;
    const hashes = blockHashes(prompt, this.params);
    const r: SimRequest = {
      id: `${chat ? 'chatcmpl' : 'cmpl'}-r${this.index}-${++this.seq}`,
      chat,
      stream: body.stream === true,
      includeUsage: streamOptions?.include_usage === true,
      prompt,
      promptTokens,
      maxTokens,
      hashes,
      matchedBlocks: 0,
      heldBlocks: 0,
      cachedTokens: 0,
      prefillLeft: 0,
      chunk: 0,
      generated: 0,
      text: '',
      pending: '',
      pendingTokens: 0,
      headersSent: false,
      done: false,
      res,
      seed: hashes.length > 0 ? hashes[hashes.length - 1]! >>> 0 : promptTokens,
    };
    // The client going away aborts the request, as vLLM aborts a disconnected stream.
    res.once('close', () => {
      if (!r.done) this.abort(r);
    });
    this.waiting.push(r);
    if (this.waiting.length > this.s.peakWaiting) this.s.peakWaiting = this.waiting.length;
    this.wake();
  }

  private abort(r: SimRequest): void {
    r.done = true;
    this.s.aborted++;
    const w = this.waiting.indexOf(r);
    if (w >= 0) this.waiting.splice(w, 1);
    const i = this.running.indexOf(r);
    if (i >= 0) {
      this.running.splice(i, 1);
      this.held -= r.heldBlocks;
    }
  }

  private wake(): void {
    if (this.timer !== undefined || this.dead) return;
    if (this.running.length === 0 && this.waiting.length === 0) return;
    this.step();
  }

  /** Admit, plan one step and schedule its end. */
  private step(): void {
    const p = this.params;
    // Admission: FCFS while the batch has room and the KV blocks fit (cached blocks are evictable).
    while (this.waiting.length > 0 && this.running.length < p.maxBatch) {
      const r = this.waiting[0]!;
      let matched = 0;
      while (matched < r.hashes.length && this.cache.has(r.hashes[matched]!)) matched++;
      const need = Math.ceil((r.promptTokens + r.maxTokens) / p.blockTokens) - matched;
      if (this.held + need > p.kvBlocks && this.running.length > 0) break;
      this.waiting.shift();
      for (let i = 0; i < matched; i++) this.touch(r.hashes[i]!);
      r.matchedBlocks = matched;
      r.heldBlocks = need;
      this.held += need;
      r.cachedTokens = Math.min(matched * p.blockTokens, r.promptTokens - 1);
      r.prefillLeft = r.promptTokens - r.cachedTokens;
      this.s.admitted++;
      this.s.queries += r.promptTokens;
      this.s.hits += r.cachedTokens;
      this.running.push(r);
    }
    if (this.running.length > this.s.peakRunning) this.s.peakRunning = this.running.length;
    this.evict();
    if (this.running.length === 0) return;
    // The step: a token for every decoding sequence, prefill chunks for the others within the budget.
    let budget = p.maxBatchedTokens;
    let seqs = 0;
    let prefill = 0;
    for (const r of this.running) {
      r.chunk = 0;
      if (r.prefillLeft === 0) {
        budget--;
        seqs++;
      }
    }
    for (const r of this.running) {
      if (r.prefillLeft === 0 || budget <= 0) continue;
      r.chunk = Math.min(budget, r.prefillLeft);
      budget -= r.chunk;
      prefill += r.chunk;
      seqs++;
    }
    const simMs = (p.stepBaseMs + p.stepPerSeqMs * seqs + p.prefillMsPerToken * prefill) * this.slowdown;
    const now = performance.now();
    this.clock = Math.max(now, this.clock) + simMs * this.scale;
    const stepping = this.running.slice();
    this.timer = setTimeout(() => this.endStep(stepping), Math.max(0, this.clock - now));
  }

  private endStep(stepping: SimRequest[]): void {
    this.timer = undefined;
    if (this.dead) return;
    for (const r of stepping) {
      if (r.done) continue;
      if (r.prefillLeft > 0) {
        if (r.chunk === 0) continue;
        r.prefillLeft -= r.chunk;
        this.s.prefilled += r.chunk;
        if (r.prefillLeft > 0) continue;
        this.insert(r.hashes);
      }
      this.token(r);
    }
    this.step();
  }

  private token(r: SimRequest): void {
    const word = WORDS[(Math.imul(r.seed ^ r.generated, 0x9e3779b1) >>> 28) & 15]!;
    r.generated++;
    this.s.generated++;
    r.text += word;
    r.pending += word;
    r.pendingTokens++;
    const finished = r.generated >= r.maxTokens;
    if (r.stream && (r.generated === 1 || finished || r.pendingTokens >= this.params.streamInterval)) {
      this.flush(r, finished);
    }
    if (finished) this.finish(r);
  }

  private chunk(r: SimRequest, delta: Record<string, string>, finish: string | null): string {
    const choice = r.chat
      ? { index: 0, delta, logprobs: null, finish_reason: finish }
      : { index: 0, text: delta.content ?? '', logprobs: null, finish_reason: finish };
    return `data: ${JSON.stringify({
      id: r.id,
      object: r.chat ? 'chat.completion.chunk' : 'text_completion',
      created: this.created,
      model: this.model,
      choices: [choice],
    })}\n\n`;
  }

  private usage(r: SimRequest): Record<string, unknown> {
    return {
      prompt_tokens: r.promptTokens,
      completion_tokens: r.generated,
      total_tokens: r.promptTokens + r.generated,
      prompt_tokens_details: { cached_tokens: r.cachedTokens },
    };
  }

  private flush(r: SimRequest, finished: boolean): void {
    let out = '';
    if (!r.headersSent) {
      r.headersSent = true;
      r.res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        'x-sim-replica': String(this.index),
      });
      if (r.chat) out += this.chunk(r, { role: 'assistant', content: '' }, null);
    }
    out += this.chunk(r, { content: r.pending }, finished ? 'length' : null);
    r.pending = '';
    r.pendingTokens = 0;
    if (finished) {
      if (r.includeUsage) {
        out += `data: ${JSON.stringify({
          id: r.id,
          object: r.chat ? 'chat.completion.chunk' : 'text_completion',
          created: this.created,
          model: this.model,
          choices: [],
          usage: this.usage(r),
        })}\n\n`;
      }
      out += 'data: [DONE]\n\n';
    }
    r.res.write(out);
  }

  private finish(r: SimRequest): void {
    r.done = true;
    this.s.completed++;
    const i = this.running.indexOf(r);
    if (i >= 0) this.running.splice(i, 1);
    this.held -= r.heldBlocks;
    // vLLM caches the answer's full blocks too: the next turn's prompt begins with prompt + answer.
    this.insert(blockHashes(r.prompt + r.text, this.params));
    if (r.stream) {
      r.res.end();
      return;
    }
    const body = r.chat
      ? {
          id: r.id,
          object: 'chat.completion',
          created: this.created,
          model: this.model,
          choices: [
            { index: 0, message: { role: 'assistant', content: r.text }, logprobs: null, finish_reason: 'length' },
          ],
          usage: this.usage(r),
        }
      : {
          id: r.id,
          object: 'text_completion',
          created: this.created,
          model: this.model,
          choices: [{ index: 0, text: r.text, logprobs: null, finish_reason: 'length' }],
          usage: this.usage(r),
        };
    r.res.writeHead(200, { 'content-type': 'application/json', 'x-sim-replica': String(this.index) });
    r.res.end(JSON.stringify(body));
  }

  private touch(hash: number): void {
    this.cache.delete(hash);
    this.cache.set(hash, true);
  }

  private insert(hashes: readonly number[]): void {
    for (const h of hashes) this.touch(h);
    this.evict();
  }

  /** Least recently used blocks out until the cache fits beside what running requests hold. */
  private evict(): void {
    const room = Math.max(0, this.params.kvBlocks - this.held);
    while (this.cache.size > room) {
      for (const oldest of this.cache.keys()) {
        this.cache.delete(oldest);
        break;
      }
      this.s.evictedBlocks++;
    }
  }

  private metricsText(): string {
    const l = `{model_name="${this.model}"}`;
    const gauge = (name: string, help: string, v: number) =>
      `# HELP ${name} ${help}\n# TYPE ${name} gauge\n${name}${l} ${v}\n`;
    const counter = (name: string, help: string, v: number) =>
      `# HELP ${name} ${help}\n# TYPE ${name} counter\n${name}${l} ${v}\n`;
    const kv = this.kvUsage();
    return [
      gauge('vllm:num_requests_running', 'Number of requests in model execution batches.', this.running.length),
      gauge('vllm:num_requests_waiting', 'Number of requests waiting to be processed.', this.waiting.length),
      gauge('vllm:kv_cache_usage_perc', 'KV-cache usage. 1 means 100 percent usage.', kv),
      gauge('vllm:gpu_cache_usage_perc', 'GPU KV-cache usage. 1 means 100 percent usage.', kv),
      counter(
        'vllm:prefix_cache_queries_total',
        'Prefix cache queries, in terms of number of queried tokens.',
        this.s.queries,
      ),
      counter('vllm:prefix_cache_hits_total', 'Prefix cache hits, in terms of number of cached tokens.', this.s.hits),
      counter('vllm:prompt_tokens_total', 'Number of prefill tokens processed.', this.s.prefilled),
      counter('vllm:generation_tokens_total', 'Number of generation tokens processed.', this.s.generated),
      counter('vllm:request_success_total', 'Count of successfully processed requests.', this.s.completed),
    ].join('');
  }
}

export async function startReplica(opts: ReplicaOptions): Promise<SimReplica> {
  return new SimReplica(opts).start();
}
