// `junction rollout OBJECTIVE start|status|pause|resume|promote|abort`:
// every action except status writes a new revision.
import { parseArgs } from 'node:util';
import { ADMIN_OPTIONS, adminCall, adminTarget, printJson, whoAmI } from './admin-client.js';
import { ROLLOUT_ACTIONS } from '../control/rollout-actions.js';
import { armLabel, BALANCERS, type Balance, type TargetUse } from '../config/schema.js';
import { UserError } from './user-error.js';

const ACTIONS: readonly string[] = [...ROLLOUT_ACTIONS, 'status'];

interface RolloutState {
  objective: string;
  revision: number;
  default: string;
  rollout: {
    candidate: TargetUse;
    percent: number;
    state: string;
    steps?: number[];
    /** What makes the rollout unable to tell anything (reaches no units, no health gate). */
    warnings?: Array<{ code: string; message: string }>;
    reach?: { text: string | null };
  } | null;
  /** start only: the reason that overrode a refusal, as the revision records it. */
  forced?: string;
  /** status only: the controller's latest judgement of a stepped rollout. */
  controller?: {
    kind: string;
    reason: string;
    gates?: Array<{ gate: string; value: number | null; threshold: number; verdict: string }>;
  } | null;
  unchanged?: boolean;
}

export function describeRollout(s: RolloutState): string {
  if (!s.rollout) return `${s.objective}: no rollout; default ${s.default} (revision ${s.revision})`;
  const steps = s.rollout.steps ? `, steps ${s.rollout.steps.join('→')}` : '';
  const gates = (s.controller?.gates ?? [])
    .map(
      (g) =>
        `\n    ${g.gate.padEnd(21)} ${(g.value === null ? '-' : String(Number(g.value.toPrecision(3)))).padStart(8)}  threshold ${String(g.threshold).padEnd(6)} ${g.verdict}`,
    )
    .join('');
  const judged = s.controller
    ? `\n  controller: ${s.controller.kind} (${s.controller.reason})${gates ? `\n  gates:${gates}` : ''}`
    : '';
  const reach = s.rollout.reach?.text ? `\n  reach: ${s.rollout.reach.text}` : '';
  const warnings = (s.rollout.warnings ?? []).map((w) => `\n  warning (${w.code}): ${w.message}`).join('');
  const forced = s.forced === undefined ? '' : `\n  forced: ${s.forced}`;
  return `${s.objective}: ${armLabel(s.rollout.candidate)} at ${s.rollout.percent}% (${s.rollout.state}${steps}); default ${s.default} (revision ${s.revision})${judged}${reach}${warnings}${forced}`;
}

export async function rolloutCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...ADMIN_OPTIONS,
      candidate: { type: 'string' },
      balance: { type: 'string' },
      steps: { type: 'string' },
      gates: { type: 'string' },
      force: { type: 'string' },
      message: { type: 'string', short: 'm' },
    },
  });
  const [objective, action] = positionals;
  if (!objective || !action || !ACTIONS.includes(action)) {
    throw new UserError(
      `usage: junction rollout OBJECTIVE ${ACTIONS.join('|')} [--candidate model@version [--balance ${BALANCERS.join('|')}]] [--steps 1,5,25,100] [--gates maxErrorRate=0.01,minRequests=500] [--force "reason"]`,
    );
  }
  const target = adminTarget(values.admin);
  const path = `/admin/objectives/${encodeURIComponent(objective)}/rollout`;
  let state: RolloutState;
  if (action === 'status') {
    state = await adminCall<RolloutState>(target, 'GET', path);
  } else {
    let steps: number[] | undefined;
    if (values.steps !== undefined) {
      steps = values.steps.split(',').map(Number);
      if (steps.some((n) => !Number.isFinite(n)))
        throw new UserError(`--steps must be comma-separated percents, e.g. 1,5,25,100 (got "${values.steps}")`);
    }
    let candidate: TargetUse | undefined = values.candidate;
    if (values.balance !== undefined) {
      if (!(BALANCERS as readonly string[]).includes(values.balance))
        throw new UserError(`--balance is one of ${BALANCERS.join(', ')} (got "${values.balance}")`);
      if (values.candidate === undefined)
        throw new UserError('--balance names the balancer of --candidate: give --candidate model@version too');
      // A balancer as the rollout's arm: the same target, its replicas picked by another balancer.
      candidate = { target: values.candidate, balance: values.balance as Balance };
    }
    const gates = values.gates === undefined ? undefined : parseGates(values.gates);
    if (values.force !== undefined && values.force.trim() === '')
      throw new UserError('--force takes the reason, recorded in the revision: --force "why it must start anyway"');
    const body = { candidate, steps, gates, force: values.force, message: values.message };
    state = await adminCall<RolloutState>(
      target,
      'POST',
      `${path}/${action}?author=${encodeURIComponent(whoAmI())}`,
      body,
    );
  }
  if (values.json) printJson(state);
  else process.stdout.write(`${action === 'status' ? '' : `${action}: `}${describeRollout(state)}\n`);
  return 0;
}

/** `--gates maxErrorRate=0.01,minRequests=200`: each gate of the config's `rollout.gates` as name=number. */
function parseGates(text: string): Record<string, number> {
  const gates: Record<string, number> = {};
  for (const part of text.split(',')) {
    const [name, value, extra] = part.split('=').map((x) => x.trim());
    const n = Number(value);
    if (!name || value === undefined || value === '' || extra !== undefined || !Number.isFinite(n))
      throw new UserError(`--gates is name=number pairs, e.g. maxErrorRate=0.01,minRequests=500 (got "${part}")`);
    gates[name] = n;
  }
  return gates;
}
