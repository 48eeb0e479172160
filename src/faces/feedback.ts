// POST /v1/feedback (SPEC §12): outcomes (a click, a purchase, a rating) for
// the decisions in the decision log, by the request they answered
// (`requestId`) or by the experiment unit (`objective` + `unit`). Every item is
// checked before any is written, so a batch is taken whole or refused with a
// 400 naming the bad item; accepted lines go through the decision log's
// bounded writer (a slow disk drops lines and counts them, never the request).
import { JunctionError } from '../errors.js';
import type { DecisionLog } from '../observe/decision-log.js';
import { isObject, parseJson } from '../call/json-body.js';
import { callerOf } from './decide-api.js';
import { readBody } from './read-body.js';
import { writeJson } from './reply.js';
import type { Route } from './route.js';

const MAX_FEEDBACK_BODY = 4 * 1024 * 1024;
const MAX_BATCH = 10_000;
const MAX_NAME = 200;

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
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw new JunctionError('invalid_request', `${at}value must be a finite number`);
  let time = now.toISOString();
  if (item.time !== undefined) {
    const t = typeof item.time === 'string' ? Date.parse(item.time) : NaN;
    if (Number.isNaN(t)) throw new JunctionError('invalid_request', `${at}time must be an ISO 8601 date-time`);
    time = new Date(t).toISOString();
  }
  return { time, requestId: requestId ?? null, objective: objective ?? null, unit: unit ?? null, metric, value };
}

/** The route; without a feedback log it says how to turn one on. */
export function feedbackRoute(log: DecisionLog | undefined, now: () => Date = () => new Date()): Route {
  return {
    methods: ['POST'],
    pattern: '/v1/feedback',
    face: 'junction',
    async handle({ dp, req, res, record }) {
      // The caller's key is checked before the body is read, as on every route that reads one.
      const caller = callerOf(dp, req, record);
      if (log === undefined)
        throw new JunctionError(
          'not_found',
          'feedback is not recorded here: start junction serve with --feedback-log FILE',
        );
      const value = parseJson(await readBody(req, res, MAX_FEEDBACK_BODY, dp));
      const at = now();
      let lines: FeedbackRecord[];
      if (isObject(value) && Array.isArray(value.feedback)) {
        if (value.feedback.length > MAX_BATCH)
          throw new JunctionError('invalid_request', `at most ${MAX_BATCH} feedback items per call`);
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
      for (const line of lines) log.appendLine(JSON.stringify(line));
      writeJson(res, 202, { accepted: lines.length });
    },
  };
}
