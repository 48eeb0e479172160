// Workloads for the simulated fleet (issue 23, item 4), all from a seeded PRNG:
//
// - shared: multi-turn conversations, each opening with one of a few long
//   system prompts (1,000–2,000 tokens); each turn sends the whole history
//   (system prompt, earlier user messages and answers) and a new user message.
// - unique: no shared prefixes at all: every call is a one-turn conversation
//   with its own random system prompt of the same lengths.
// - agent: multi-turn sessions whose history grows by a tool's output each
//   turn (AGENT below, with the published shape it follows).
//
// Arrivals are a Poisson process at a rate set from the fleet's capacity
// (params.ts `replicaCapacity`, with the workload's mean prompt and answer
// lengths). Each arrival is the next turn of the conversation that has been
// idle longest (its previous answer is back); when none is idle a new
// conversation starts. A conversation's content (system prompt, messages,
// answer lengths) is a function of its number and the seed, so every balancer
// sees the same conversations in nearly the same order.
import { Prng } from '../../scripts/models/prng.js';
import { A100_LLAMA_8B, replicaCapacity, type ReplicaParams } from './params.js';
import { renderChat, tokensOf } from './replica.js';

export interface WorkloadSpec {
  name: string;
  /** Shared system prompts and multi-turn history (else: unique prompts, one turn each). */
  shared: boolean;
  /** How many distinct system prompts (shared). */
  systemPrompts: number;
  /** Conversations open at the start. */
  conversations: number;
  /** Turns per conversation, inclusive range (shared). */
  turns: [number, number];
  systemTokens: [number, number];
  userTokens: [number, number];
  outputTokens: [number, number];
  seed: number;
}

export const SHARED: WorkloadSpec = {
  name: 'shared',
  shared: true,
  systemPrompts: 4,
  conversations: 64,
  turns: [3, 8],
  systemTokens: [1000, 2000],
  userTokens: [20, 150],
  outputTokens: [50, 250],
  seed: 23,
};

export const UNIQUE: WorkloadSpec = { ...SHARED, name: 'unique', shared: false, turns: [1, 1] };

/**
 * Agent sessions: a coding or tool-using agent whose every turn adds a tool's
 * output (a file, a search result, a test log) to a history it sends whole.
 * Shape from the vLLM × Mooncake study of Codex traces on SWE-bench Pro
 * (vLLM blog, 2026-05-06, "Serving Agentic Workloads at Scale with vLLM x
 * Mooncake"): "each turn typically introduces only a few hundred to a few
 * thousand new tokens", contexts reach ~80k tokens by turn 30, input:output
 * ≈ 131:1. Scaled to the simulated A100's 131k-token KV cache: 4–12 turns of
 * 300–1,500 new tokens on one of 4 agent system prompts (instructions and tool
 * schemas, 2–4k tokens), so a session reaches ~5–20k tokens, 64 open sessions
 * need ~0.5M tokens of cache (a fleet's worth, four times one replica's), and
 * the answers (tool calls) are short.
 */
export const AGENT: WorkloadSpec = {
  name: 'agent',
  shared: true,
  systemPrompts: 4,
  conversations: 64,
  turns: [4, 12],
  systemTokens: [2000, 4000],
  userTokens: [300, 1500],
  outputTokens: [30, 150],
  seed: 24,
};

export interface Message {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface Turn {
  conversation: number;
  turn: number;
  messages: Message[];
  maxTokens: number;
}

const VOCAB = (
  'system user model replica cache token prompt answer request policy route serve batch queue load ' +
  'stream reply error retry limit budget config target version rollout experiment metric latency ' +
  'throughput window block prefix hash chain memory kernel layer weight vector tensor shape input ' +
  'output score label class image text audio video search rank order price stock ship cart item ' +
  'account login password email phone address city country region language support ticket agent ' +
  'refund return policy terms privacy safety guide step check verify confirm cancel update delete'
).split(' ');

function between(rng: Prng, [lo, hi]: [number, number]): number {
  return lo + rng.int(hi - lo + 1);
}

/** About `tokens` tokens (4 characters each) of words. */
function words(rng: Prng, tokens: number, p: ReplicaParams = A100_LLAMA_8B): string {
  const chars = tokens * p.charsPerToken;
  let s = '';
  while (s.length < chars) s += `${VOCAB[rng.int(VOCAB.length)]} `;
  return s.slice(0, chars);
}

interface Conversation {
  id: number;
  rng: Prng;
  turns: number;
  done: number;
  messages: Message[];
}

/** Conversations: content by number, the next turn of the longest-idle one on each arrival. */
export class ConversationPool {
  private readonly systems: string[] = [];
  private readonly idle: Conversation[] = [];
  private readonly busy = new Map<number, Conversation>();
  private nextId = 0;
  /** Conversations started and turns issued. */
  started = 0;
  issued = 0;

  constructor(readonly spec: WorkloadSpec) {
    const rng = new Prng(spec.seed);
    for (let i = 0; i < spec.systemPrompts; i++) {
      // A recognisable opening, then words: prompts differ from their first block.
      this.systems.push(`You are assistant #${i} of Junction. ${words(rng, between(rng, spec.systemTokens))}`);
    }
    for (let i = 0; i < spec.conversations; i++) this.idle.push(this.open());
  }

  private open(): Conversation {
    const id = this.nextId++;
    this.started++;
    const rng = new Prng((this.spec.seed * 1_000_003 + id * 7919) >>> 0);
    const system = this.spec.shared
      ? this.systems[rng.int(this.systems.length)]!
      : `You are assistant #u${id}. ${words(rng, between(rng, this.spec.systemTokens))}`;
    return { id, rng, turns: between(rng, this.spec.turns), done: 0, messages: [{ role: 'system', content: system }] };
  }

  /** The next call: a turn of the longest-idle conversation, or of a new one. */
  next(): Turn {
    const c = this.idle.shift() ?? this.open();
    this.busy.set(c.id, c);
    const user = words(c.rng, between(c.rng, this.spec.userTokens));
    c.messages.push({ role: 'user', content: `Q${c.done + 1}: ${user}` });
    this.issued++;
    return {
      conversation: c.id,
      turn: c.done + 1,
      messages: c.messages.slice(),
      maxTokens: between(c.rng, this.spec.outputTokens),
    };
  }

  /** The turn's answer came back (or undefined: it failed, and the conversation ends). */
  complete(conversation: number, answer: string | undefined): void {
    const c = this.busy.get(conversation);
    if (c === undefined) return;
    this.busy.delete(conversation);
    if (answer === undefined) return;
    c.messages.push({ role: 'assistant', content: answer });
    c.done++;
    this.idle.push(c.done < c.turns ? c : this.open());
  }
}

/** Poisson arrival times (simulated seconds) at `rate` per second over `seconds`. */
export function poissonArrivals(rate: number, seconds: number, seed: number): number[] {
  const rng = new Prng(seed);
  const out: number[] = [];
  let t = 0;
  for (;;) {
    t += -Math.log(1 - rng.next()) / rate;
    if (t >= seconds) return out;
    out.push(t);
  }
}

/**
 * The workload's mean prompt and answer tokens, from a sample of its
 * conversations answered offline (answers of the drawn length), and the fleet's
 * capacity in requests per simulated second with no prefix-cache hits.
 */
export function fleetCapacity(
  spec: WorkloadSpec,
  replicas: number,
  p: ReplicaParams = A100_LLAMA_8B,
): { perSecond: number; meanPromptTokens: number; meanOutputTokens: number } {
  const pool = new ConversationPool({ ...spec, seed: spec.seed + 1 });
  let prompt = 0;
  let output = 0;
  const n = 4000;
  for (let i = 0; i < n; i++) {
    const t = pool.next();
    prompt += tokensOf(renderChat(t.messages), p);
    output += t.maxTokens;
    pool.complete(t.conversation, 'word '.repeat(t.maxTokens).slice(0, t.maxTokens * p.charsPerToken));
  }
  const meanPromptTokens = prompt / n;
  const meanOutputTokens = output / n;
  return {
    perSecond: replicas * replicaCapacity(p, meanPromptTokens, meanOutputTokens),
    meanPromptTokens,
    meanOutputTokens,
  };
}
