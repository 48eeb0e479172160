// A rollout's warnings (GET /admin/objectives: `rollout.warnings`, e.g.
// `no_gate`, `reaches_no_units`) as badges, on the objectives list and the
// objective's page: a rollout that cannot roll back on its own, or moves no
// traffic, should be seen where people look, not only in the config.
import { html } from '../util.js';

/** `full`: the whole message (the objective's page); otherwise the code, with the message on hover (the list). */
export function RolloutWarnings({ o, full = false }) {
  const warnings = o.rollout?.warnings ?? [];
  if (warnings.length === 0) return null;
  return html`<span class="warnings" aria-label=${`Warnings on the rollout of ${o.name}`}>${warnings.map(
    (w) =>
      html`<span class="warn-badge" data-warning=${w.code} title=${w.message}>⚠ rollout${full ? `: ${w.message}` : ` ${w.code.replaceAll('_', ' ')}`}</span>`,
  )}</span>`;
}
