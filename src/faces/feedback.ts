// POST /v1/feedback (SPEC §12): outcomes (a click, a purchase, a rating) for
// the decisions in the decision log, by the request they answered
// (`requestId`) or by the experiment unit (`objective` + `unit`). Every item is
// checked before any is written, so a batch is taken whole or refused with a
// 400 naming the bad item. The caller is admitted by its client's limits like
// any data-plane route, and each item beyond the first takes one more unit of
// its rate. Lines go through the decision log's bounded writer all or none: the
// answer says how many were written, or the call is refused (503) and nothing was.
import { junctionFace } from './objectives.js';
import { JunctionError } from '../errors.js';
import type { DecisionLog } from '../observe/decision-log.js';
import { isObject, parseJson } from '../call/json-body.js';
import { readBody } from '../http/read-body.js';
import { logRefusal } from './exposures.js';
import { writeJson } from '../http/reply.js';
import type { Route } from './types.js';

const MAX_FEEDBACK_BODY = 4 * 1024 * 1024;
const MAX_BATCH = 10_000;
const MAX_NAME = 200;
/** Largest |value| taken: sums and squares of a readout's worth stay far from overflow (a mean is never null). */
export const MAX_FEEDBACK_VALUE = 1e12;
/** How far ahead of this server's clock an outcome may be (clock skew), and how old it may be (a late conversion). */
export const MAX_FEEDBACK_SKEW_MS = 5 * 60_000;
export const MAX_FEEDBACK_AGE_MS = 30 * 24 * 3600_000;

/** One line of the feedback log. Field names are part of the contract (docs/experiments.md). */
export interface FeedbackRecord {
  /** When the outcome happened (the item's `time`, else when Junction received it). */
  time: string;
  requestId: string | null;
  objective: string | null;
  unit: string | null;
  metric: string;
  value: number;
}

function text(item: Record<string, unknown>, key: string, at: string): string | undefined {
  const v = item[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v === '' || v.length > MAX_NAME)
    throw new JunctionError(
      'invalid_request',
      `${at}${key} must be a non-empty string of at most ${MAX_NAME} characters`,
    );
  return v;
}

/** Checks one item and turns it into its log line; throws a 400 that names the item and the field. */
export function feedbackRecord(item: unknown, at: string, now: Date): FeedbackRecord {
  if (!isObject(item)) throw new JunctionError('invalid_request', `${at}expected an object`);
  const requestId = text(item, 'requestId', at);
  const objective = text(item, 'objective', at);
  const unit = text(item, 'unit', at);
  const metric = text(item, 'metric', at);
  if (requestId === undefined && (objective === undefined || unit === undefined)) {
    throw new JunctionError(
      'invalid_request',
      `${at}give requestId, or objective and unit, to say which decision this feedback is for`,
    );
  }
  if (metric === undefined) throw new JunctionError('invalid_request', `${at}metric is required (e.g. "click")`);
  const value = item.value;
  if (typeof value !== 'number' || !Number.isFinite(value) || Math.abs(value) > MAX_FEEDBACK_VALUE)
    throw new JunctionError('invalid_request', `${at}value must be a finite number from -1e12 to 1e12`);
  let time = now.toISOString();
  if (item.time !== undefined) {
    const t = typeof item.time === 'string' ? Date.parse(item.time) : NaN;
    if (Number.isNaN(t)) throw new JunctionError('invalid_request', `${at}time must be an ISO 8601 date-time`);
    // An outcome far from now would land outside (or stretch) every readout's window.
    if (t > now.getTime() + MAX_FEEDBACK_SKEW_MS || t < now.getTime() - MAX_FEEDBACK_AGE_MS)
      throw new JunctionError(
        'invalid_request',
        `${at}time must be within the last 30 days (and at most 5 minutes ahead of this server's clock)`,
      );
    time = new Date(t).toISOString();
  }
  return { time, requestId: requestId ?? null, objective: objective ?? null, unit: unit ?? null, metric, value };
}

/**
 * The route; without a feedback log it says how to turn one on. `accepted`
 * (the fleet readout, with a PostgreSQL store) is told of every batch taken,
 * after the log took it; with it, feedback is taken without a log too.
 */
export function feedbackRoute(
  log: DecisionLog | undefined,
  now: () => Date = () => new Date(),
  accepted?: (lines: readonly FeedbackRecord[]) => void,
): Route {
  return {
    methods: ['POST'],
    pattern: '/v1/feedback',
    face: junctionFace,
    // The data plane admitted the caller (key, one unit of rate, a slot) before this runs: nothing is read before.
    async handle({ dp, req, res, caller }) {
      if (log === undefined && accepted === undefined)
        throw new JunctionError(
          'not_found',
          'feedback is not recorded here: start junction serve with --feedback-log FILE',
        );
      const value = parseJson(await readBody(req, res, MAX_FEEDBACK_BODY, dp.bodies));
      const at = now();
      let lines: FeedbackRecord[];
      if (isObject(value) && Array.isArray(value.feedback)) {
        if (value.feedback.length > MAX_BATCH)
          throw new JunctionError('invalid_request', `at most ${MAX_BATCH} feedback items per call`);
        // Each item is a unit of the client's rate; the call took one already. Before the items are checked.
        await caller.take(value.feedback.length - 1);
        lines = value.feedback.map((item, i) => feedbackRecord(item, `feedback[${i}].`, at));
      } else {
        lines = [feedbackRecord(value, '', at)];
      }
      const refused = lines.findIndex((l) => l.objective !== null && !caller.mayCall(l.objective));
      if (refused !== -1)
        throw new JunctionError(
          'forbidden',
          `${lines.length > 1 ? `feedback[${refused}].` : ''}objective "${lines[refused]!.objective}" is not one this client may call`,
        );
      const verdict = log?.appendAll(lines.map((line) => JSON.stringify(line))) ?? 'written';
      if (verdict !== 'written') throw logRefusal('feedback log', verdict, lines.length);
      accepted?.(lines);
      writeJson(res, 202, { accepted: lines.length, written: lines.length });
    },
  };
}
