// Every model version with everything that routes to it and the health of its
// replicas now (GET /admin/models): how many take calls, each ejected one and
// why, and on demand each replica's reported load and adapters (SPEC §14).
import { get } from '../api.js';
import { html, usePoll, ErrorNote, Loading } from '../util.js';
import { ReplicaSummary, ReplicaTable } from './replicas.js';

export const MODELS_POLL_MS = 5000;

function backend(b) {
  if (b.type === 'onnx') return `onnx ${b.path}`;
  return `${b.type}${b.protocol ? ` ${b.protocol}` : ''} ${(b.endpoints ?? []).join(', ')}`;
}

function Health({ m }) {
  // An older Junction answers no replica data: say nothing rather than guess.
  if (m.replicas === undefined) return html`<span class="muted">–</span>`;
  if (m.replicas === null || m.replicas.length === 0) return html`<${ReplicaSummary} replicas=${m.replicas} />`;
  return html`<${ReplicaSummary} replicas=${m.replicas} />
    <details><summary>replicas${m.balance ? ` · picked by ${m.balance}` : ''}</summary>
      <${ReplicaTable} target=${m.target} replicas=${m.replicas} /></details>`;
}

export function ModelsView() {
  const models = usePoll(() => get('/admin/models'), MODELS_POLL_MS, []);
  if (!models.data)
    return models.error ? html`<${ErrorNote} error=${models.error} />` : html`<${Loading} what="models" />`;
  return html`
    <h1>Models <span class="muted">revision ${models.data.revision}</span></h1>
    <table class="models">
      <caption class="sr-only">Model versions, what uses them and their replicas' health</caption>
      <thead><tr><th scope="col">Version</th><th scope="col">Class</th><th scope="col">Backend</th><th scope="col">Replicas</th><th scope="col">Used by</th></tr></thead>
      <tbody>${models.data.models.map(
        (m) => html`<tr data-model=${m.target}>
        <th scope="row"><code>${m.target}</code></th><td>${m.class}</td><td class="small">${backend(m.backend)}</td>
        <td class="small health"><${Health} m=${m} /></td>
        <td>${
          m.usedBy.length === 0
            ? html`<span class="muted">nothing: receives no traffic, can be retired</span>`
            : html`<ul class="plain">${m.usedBy.map((u) => html`<li><a href=${`#/objectives/${encodeURIComponent(u.objective)}`}>${u.objective}</a>: ${u.as}${u.detail ? ` (${u.detail})` : ''}</li>`)}</ul>`
        }</td>
      </tr>`,
      )}</tbody>
    </table>`;
}
