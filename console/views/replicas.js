// The replicas behind each target of an objective (SPEC §14), from
// GET /admin/objectives/{o}: the balancer that picks (and the arms that name
// another), then per replica its address, calls outstanding, last reported
// queue and KV-cache use with their age, loaded adapters, and whether it is
// ejected (until when, and why).
import { get, enc } from '../api.js';
import { html, usePoll, ErrorNote, Loading, pct, age } from '../util.js';

export const REPLICAS_POLL_MS = 2000;

function Ejected({ r }) {
  if (r.ejectedForMs != null)
    return html`<span class="bad-text">ejected for ${age(r.ejectedForMs)}${r.ejectedWhy ? `: ${r.ejectedWhy}` : ''}</span>`;
  if (!r.ready) return html`<span class="bad-text">not ready</span>`;
  return html`<span>in service${r.ejectedWhy ? html` <span class="muted">(last ejected: ${r.ejectedWhy})</span>` : ''}</span>`;
}

/**
 * One line a person reads first: how many replicas take calls, and each one
 * that does not with why (ejected after failures, failing its health check).
 */
export function ReplicaSummary({ replicas }) {
  if (replicas === null) return html`<span class="muted">in process: no replicas</span>`;
  if (replicas.length === 0)
    return html`<span class="replica-summary bad-text">no replicas (discovery found none yet)</span>`;
  const out = replicas.filter((r) => r.ejectedForMs != null || !r.ready);
  const serving = replicas.length - out.length;
  return html`<span class="replica-summary" data-testid="replica-summary">
    <span class=${serving === 0 ? 'bad-text' : 'ok'}>${serving} of ${replicas.length} in service</span>${out.map(
      (r) =>
        html`; <span class="bad-text" data-out=${r.address}><code>${r.address}</code> ${
          r.ejectedForMs != null
            ? `ejected for ${age(r.ejectedForMs)}${r.ejectedWhy ? `: ${r.ejectedWhy}` : ''}`
            : 'not ready (health check failing)'
        }</span>`,
    )}</span>`;
}

/** Per replica: address, outstanding, reported load and its age, adapters, state. */
export function ReplicaTable({ target, replicas }) {
  if (replicas === null) return html`<p class="muted">Runs in Junction's process: no replicas to pick among.</p>`;
  if (replicas.length === 0) return html`<p class="error">No replicas (discovery found none yet).</p>`;
  return html`<table class="replicas" aria-label=${`Replicas of ${target}`}>
      <thead><tr><th scope="col">Replica</th><th scope="col" class="num">outstanding</th><th scope="col" class="num">queue</th>
        <th scope="col" class="num">running</th><th scope="col" class="num">KV cache</th><th scope="col">report age</th>
        <th scope="col">adapters</th><th scope="col">state</th></tr></thead>
      <tbody>${replicas.map(
        (r) => html`<tr data-replica=${r.address}>
        <th scope="row"><code>${r.address}</code>${r.discovery ? html` <span class="muted small">from ${r.discovery.name}${r.discovery.error ? ` (stale: ${r.discovery.error})` : ''}</span>` : ''}</th>
        <td class="num">${r.outstanding}</td>
        <td class="num">${r.load ? r.load.queue : '–'}</td>
        <td class="num">${r.load ? r.load.running : '–'}</td>
        <td class="num">${r.load && r.load.kvCache != null ? pct(r.load.kvCache, 0) : '–'}</td>
        <td>${r.load ? `${age(r.load.ageMs)} (${r.load.source})` : html`<span class="muted">no report</span>`}</td>
        <td>${r.adapters ? r.adapters.join(', ') || 'none' : '–'}</td>
        <td><${Ejected} r=${r} /></td></tr>`,
      )}</tbody>
    </table>`;
}

function TargetReplicas({ t }) {
  const others = t.arms.filter((a) => a.balance && a.balance !== t.balance);
  return html`
    <h3><code>${t.target}</code> <span class="muted">${t.backend ? [t.backend.type, t.backend.protocol].filter(Boolean).join(' · ') : ''}${
      t.balance ? ` · picked by ${t.balance}` : ''
    }</span></h3>
    ${t.replicas !== null && html`<p class="small"><${ReplicaSummary} replicas=${t.replicas} /></p>`}
    ${others.length > 0 && html`<p class="small">Arms with their own balancer: ${others.map((a, i) => html`${i > 0 && ', '}${a.as} → <strong>${a.balance}</strong>`)}</p>`}
    <${ReplicaTable} target=${t.target} replicas=${t.replicas} />`;
}

export function ReplicasSection({ name }) {
  const data = usePoll(() => get(`/admin/objectives/${enc(name)}`), REPLICAS_POLL_MS, [name]);
  return html`<section aria-labelledby="replicas-h">
    <h2 id="replicas-h">Replicas per target</h2>
    <${ErrorNote} error=${data.error} />
    ${data.data ? data.data.targets.map((t) => html`<${TargetReplicas} t=${t} />`) : html`<${Loading} what="replicas" />`}
  </section>`;
}
