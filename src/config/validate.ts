// Semantic checks the schema cannot express. Every problem is collected (never
// stop at the first) and each names its path and the fix. They read a
// LooseConfig (loose.ts): a whole Config, or the well-formed parts of one the
// schema refused, so they run together with the schema's findings; every
// check skips what is missing rather than guessing at it.
import { interfacesServedBy } from './capabilities.js';
import { isIP } from 'node:net';
import { endpointSchemeProblem } from './endpoint-scheme.js';
import { foundToIssue, formatPath, type ConfigIssue, type FoundIssue } from './issues.js';
import type { LooseConfig } from './loose.js';
import { SAFE_ID, SAFE_ID_RULE } from './safe-text.js';
import {
  armBalance,
  armTarget,
  OBJECTIVE_NAME,
  TARGET_NAME,
  type Balance,
  type BackendConfig,
  type InterfaceName,
  type PolicyConfig,
  type TargetUse,
  type WhenConfig,
} from './schema.js';

export function validateSemantics(config: LooseConfig): ConfigIssue[] {
  return semanticIssues(config).map(foundToIssue);
}

/** The semantic problems with their paths as keys, to be placed in the text they came from. */
export function semanticIssues(config: LooseConfig): FoundIssue[] {
  const issues: FoundIssue[] = [];
  const add = (at: PropertyKey[], message: string) => issues.push({ at, message });

  for (const [model, m] of Object.entries(config.models ?? {})) {
    if (!TARGET_NAME.test(model)) {
      add(
        ['models', model],
        'model names are [A-Za-z0-9][A-Za-z0-9._-]* (no "@": it separates model and version); rename it',
      );
    }
    if (m?.versions === undefined) continue;
    if (Object.keys(m.versions).length === 0) add(['models', model, 'versions'], 'a model needs at least one version');
    for (const [v, version] of Object.entries(m.versions)) {
      if (!TARGET_NAME.test(v))
        add(['models', model, 'versions', v], 'version names are [A-Za-z0-9][A-Za-z0-9._-]*; rename it');
      if (version === undefined) continue;
      const b = version.backend;
      if (b.type !== 'http') continue;
      b.endpoints.forEach((url, i) => {
        const problem = endpointSchemeProblem(b.protocol, url);
        if (problem !== undefined) add(['models', model, 'versions', v, 'backend', 'endpoints', i], problem);
      });
      replicaProblems(b, (rest, message) => add(['models', model, 'versions', v, 'backend', ...rest], message));
    }
  }

  const experimentIds = new Map<string, string>();
  for (const [name, o] of Object.entries(config.objectives)) {
    const at = (...rest: PropertyKey[]) => ['objectives', name, ...rest];
    if (!OBJECTIVE_NAME.test(name)) {
      add(at(), 'objective names are lowercase [a-z0-9][a-z0-9-]{0,62}; rename it');
    }
    if (o === undefined) continue;
    const checkTarget = (ref: string | undefined, path: PropertyKey[]) => {
      if (ref !== undefined) checkTargetRef(config, o.interface, ref, path, add);
    };
    /** A cell's `use` or the candidate: its target, and the balancer it names must suit the target's backend. */
    const checkArm = (use: TargetUse, path: PropertyKey[]) => {
      const ref = armTarget(use);
      const balance = armBalance(use);
      checkTarget(ref, balance === undefined ? path : [...path, 'target']);
      const backend = balance === undefined ? undefined : backendOf(config, ref);
      const problem = backend === undefined ? undefined : balanceProblem(backend, balance!);
      if (problem !== undefined) add([...path, 'balance'], `${ref}: ${problem}`);
    };

    checkTarget(o.default, at('default'));
    // Tokens are counted on LLM calls only: a tpm elsewhere would limit nothing, silently.
    if (o.rateLimit?.tpm !== undefined && o.interface !== undefined && o.interface !== 'openai')
      add(
        at('rateLimit', 'tpm'),
        `interface ${o.interface} carries no tokens: a tokens-per-minute limit applies to interface openai only; remove it`,
      );
    for (const [unit, ref] of Object.entries(o.pins ?? {})) {
      if (unit === '') add(at('pins'), 'a pin needs a non-empty unit id');
      checkTarget(ref, at('pins', unit));
    }

    const ruleIds = new Set<string>();
    o.rules?.forEach((rule, i) => {
      if (rule === undefined) return;
      if (rule.id !== undefined) {
        if (ruleIds.has(rule.id))
          add(at('rules', i, 'id'), `duplicate rule id "${rule.id}"; rule ids must be unique within an objective`);
        ruleIds.add(rule.id);
      }
      checkWhen(rule.when, at('rules', i, 'when'), add);
      checkTarget(rule.use, at('rules', i, 'use'));
    });

    o.experiments?.forEach((e, i) => {
      if (e === undefined) return;
      const seen = experimentIds.get(e.id);
      if (seen !== undefined)
        add(
          at('experiments', i, 'id'),
          `duplicate experiment id "${e.id}" (also in ${seen}); experiment ids must be unique across the config`,
        );
      else experimentIds.set(e.id, formatPath(at('experiments', i)));
      if (!(e.population > 0 && e.population <= 1)) {
        add(
          at('experiments', i, 'population'),
          `population is ${e.population}, expected a share in (0, 1], e.g. 0.2 for 20% of units`,
        );
      }
      const cells = Object.entries(e.cells);
      if (cells.length === 0) add(at('experiments', i, 'cells'), 'an experiment needs at least one cell');
      const sum = cells.reduce((s, [, c]) => s + c.weight, 0);
      if (cells.length > 0 && Math.abs(sum - 100) > 1e-9) {
        add(at('experiments', i, 'cells'), `weights sum to ${sum}, expected 100`);
      }
      for (const [cell, c] of cells) {
        if (!SAFE_ID.test(cell)) add(at('experiments', i, 'cells', cell), `cell names are ${SAFE_ID_RULE}; rename it`);
        checkArm(c.use, at('experiments', i, 'cells', cell, 'use'));
      }
      if (e.when) checkWhen(e.when, at('experiments', i, 'when'), add);
    });

    if (o.rollout) {
      checkArm(o.rollout.candidate, at('rollout', 'candidate'));
      const steps = o.rollout.steps;
      if (steps && steps.some((s, i) => i > 0 && s <= steps[i - 1]!)) {
        add(at('rollout', 'steps'), 'steps must be strictly increasing, e.g. [1, 5, 25, 50, 100]');
      }
      const candidate = armTarget(o.rollout.candidate);
      const candidateBalance = armBalance(o.rollout.candidate);
      if (o.default !== undefined && candidate === o.default) {
        const own = ownBalance(backendOf(config, candidate));
        if (candidateBalance === undefined)
          add(
            at('rollout', 'candidate'),
            'the candidate is already the default; remove the rollout or name a new version',
          );
        else if (candidateBalance === own)
          add(
            at('rollout', 'candidate', 'balance'),
            `the default ${candidate} already picks its replicas with ${own}; name another balancer or remove the rollout`,
          );
      }
      // Without a compared shadow of the candidate the gate would wait forever (a malformed shadow may be it: not judged).
      if (
        o.rollout.gates?.minShadowAgreement !== undefined &&
        o.shadow !== undefined &&
        !o.shadow.includes(undefined) &&
        !o.shadow.some((s) => s?.use === candidate && s.compare !== undefined)
      ) {
        add(
          at('rollout', 'gates', 'minShadowAgreement'),
          `needs a shadow of the candidate to compare: add shadow: [{ use: ${candidate}, percent: 10, compare: numeric }]`,
        );
      }
    }

    o.shadow?.forEach((s, i) => checkTarget(s?.use, at('shadow', i, 'use')));
    o.policy?.fallback.forEach((ref, i) => checkTarget(ref, at('policy', 'fallback', i)));
    o.overrideTargets?.forEach((ref, i) => checkTarget(ref, at('overrideTargets', i)));
    o.shadow?.forEach((s, i) => {
      if (s !== undefined && (s.tolerance !== undefined || s.k !== undefined) && s.compare === undefined) {
        add(
          at('shadow', i),
          'tolerance and k only apply with compare: numeric or topk-overlap; add compare or remove them',
        );
      }
    });
    if (o.policy !== undefined) policyProblems(o.policy, (rest, message) => add(at('policy', ...rest), message));
  }

  const digests = new Map<string, string>();
  for (const [name, c] of Object.entries(config.clients)) {
    if (!SAFE_ID.test(name)) add(['clients', name], `client names are ${SAFE_ID_RULE}; rename it`);
    if (c === undefined) continue;
    c.objectives?.forEach((glob, i) => {
      if (!/^[a-z0-9*-]+$/.test(glob))
        add(
          ['clients', name, 'objectives', i],
          `"${glob}" is not an objective name or glob (lowercase letters, digits, "-" and "*")`,
        );
    });
    if (c.keySha256 === undefined) continue;
    const other = digests.get(c.keySha256);
    if (other !== undefined)
      add(['clients', name, 'keySha256'], `same key digest as client "${other}"; give each client its own key`);
    digests.set(c.keySha256, name);
  }
  return issues;
}

/** What a policy's settings ask that cannot work together. */
function policyProblems(p: PolicyConfig, add: (path: PropertyKey[], message: string) => void): void {
  if (p.retries > 0 && !p.idempotent) {
    add(['retries'], 'retries need idempotent: true (a non-idempotent call may not be sent twice)');
  }
  if (p.replyTimeoutMs !== undefined && p.replyTimeoutMs < p.timeoutMs) {
    add(
      ['replyTimeoutMs'],
      `replyTimeoutMs (${p.replyTimeoutMs}) is below timeoutMs (${p.timeoutMs}); the whole reply cannot take less than its start`,
    );
  }
  if (p.maxQueue > 0 && p.maxConcurrency === undefined) {
    add(['maxQueue'], 'a queue needs a limit to queue behind: set maxConcurrency too, or remove maxQueue');
  }
  if (p.hedgeAfterMs !== undefined && p.hedgeAfterMs >= p.timeoutMs) {
    add(
      ['hedgeAfterMs'],
      `hedgeAfterMs (${p.hedgeAfterMs}) is not below timeoutMs (${p.timeoutMs}); a hedge would never be sent`,
    );
  }
  if (p.hedgeAfterMs !== undefined && !p.idempotent) {
    add(['hedgeAfterMs'], 'hedging needs idempotent: true (a hedge sends the call twice)');
  }
}

/** The backend of a target ref, if the config declares it (and it is well-formed). */
function backendOf(config: LooseConfig, ref: string): BackendConfig | undefined {
  const at = ref.lastIndexOf('@');
  const model = ref.slice(0, at);
  const versions =
    config.models !== undefined && Object.hasOwn(config.models, model) ? config.models[model]?.versions : undefined;
  const version = ref.slice(at + 1);
  return versions !== undefined && Object.hasOwn(versions, version) ? versions[version]?.backend : undefined;
}

/** The balancer a backend picks with when no arm names one (SPEC §14: p2c by default). */
export function ownBalance(backend: BackendConfig | undefined): Balance | undefined {
  if (backend === undefined || backend.type !== 'http') return undefined;
  return (backend as { balance?: Balance }).balance ?? 'p2c';
}

/**
 * Why `balance` cannot pick the replicas of `backend`, or undefined when it can.
 * In-process backends have no replicas; `prefix` and `adapter` read the
 * prompt and the model field of an OpenAI body, which only an `openai`
 * backend's calls carry; `p2c` and `least-load` suit every remote backend.
 */
export function balanceProblem(backend: BackendConfig, balance: Balance): string | undefined {
  if (backend.type !== 'http')
    return `runs in process (${backend.type}): it has no replicas to balance; name the target alone`;
  if ((balance === 'prefix' || balance === 'adapter') && backend.protocol !== 'openai')
    return `balance ${balance} reads the OpenAI request (prompt, model field); its backend speaks ${backend.protocol}, use p2c or least-load`;
  return undefined;
}

/**
 * Whether `ref` names a declared target that can serve the objective's
 * interface. A model or version the document declares but the schema refused
 * is not judged (nor is any reference when `models` itself is malformed).
 */
function checkTargetRef(
  config: LooseConfig,
  iface: InterfaceName | undefined,
  ref: string,
  path: PropertyKey[],
  add: (path: PropertyKey[], message: string) => void,
): void {
  if (config.models === undefined) return;
  const at = ref.lastIndexOf('@');
  const modelName = ref.slice(0, at);
  const version = ref.slice(at + 1);
  if (!Object.hasOwn(config.models, modelName)) {
    add(path, `unknown model "${modelName}" in "${ref}"; declare it under models: or fix the name`);
    return;
  }
  const model = config.models[modelName];
  if (model?.versions === undefined) return;
  if (!Object.hasOwn(model.versions, version)) {
    const known = Object.keys(model.versions).join(', ');
    add(path, `model "${modelName}" has no version "${version}" (versions: ${known || 'none'})`);
    return;
  }
  const v = model.versions[version];
  if (v === undefined || model.class === undefined || iface === undefined) return;
  const served = interfacesServedBy(v.backend, model.class);
  if (!served.includes(iface)) {
    add(
      path,
      `${ref} cannot serve interface "${iface}" (its backend serves ${served.join(', ') || 'nothing'}); pick another target or change the objective's interface`,
    );
  }
}

function checkWhen(when: WhenConfig, path: PropertyKey[], add: (path: PropertyKey[], message: string) => void): void {
  for (const key of Object.keys(when.context ?? {})) {
    if (key !== key.toLowerCase()) {
      add(
        [...path, 'context', key],
        `context keys are lowercase (they come from x-context-* headers); write "${key.toLowerCase()}"`,
      );
    }
  }
}

/**
 * What a backend's replica settings (SPEC §14) ask that it cannot do: a
 * balancer reading the OpenAI request on another protocol, a gRPC replica's
 * metrics page without its port, discovery with no name to resolve.
 */
function replicaProblems(
  b: Extract<BackendConfig, { type: 'http' }>,
  add: (path: PropertyKey[], message: string) => void,
): void {
  if ((b.balance === 'prefix' || b.balance === 'adapter') && b.protocol !== 'openai')
    add(
      ['balance'],
      `balance ${b.balance} reads the OpenAI request (prompt, model field); protocol ${b.protocol} carries neither: use p2c or least-load`,
    );
  if (b.protocol === 'oip-grpc' && b.load?.metrics !== undefined && b.load.metrics.port === undefined)
    add(
      ['load', 'metrics', 'port'],
      "oip-grpc replicas speak gRPC on the endpoint's port: give the port of their Prometheus page (Triton: 8002)",
    );
  if (b.discovery !== undefined && b.endpoints.every((u) => !namesHost(u)))
    add(
      ['discovery'],
      'discovery resolves endpoints that name a DNS name (e.g. http://vllm.models.svc:8000); every endpoint here is an IP address',
    );
}

/** Whether an endpoint URL names a host by a DNS name, not an IP address. */
function namesHost(url: string): boolean {
  try {
    return isIP(new URL(url).hostname.replace(/^\[|\]$/g, '')) === 0;
  } catch {
    return false;
  }
}
