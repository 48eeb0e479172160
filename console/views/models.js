// Every model version with everything that routes to it (GET /admin/models).
import { get } from '../api.js';
import { html, usePoll, ErrorNote, Loading } from '../util.js';

function backend(b) {
  if (b.type === 'onnx') return `onnx ${b.path}`;
  return `${b.type}${b.protocol ? ` ${b.protocol}` : ''} ${(b.endpoints ?? []).join(', ')}`;
}

export function ModelsView() {
  const models = usePoll(() => get('/admin/models'), 10000, []);
  if (!models.data)
    return models.error ? html`<${ErrorNote} error=${models.error} />` : html`<${Loading} what="models" />`;
  return html`
    <h1>Models <span class="muted">revision ${models.data.revision}</span></h1>
    <table class="models">
      <caption class="sr-only">Model versions and what uses them</caption>
      <thead><tr><th scope="col">Version</th><th scope="col">Class</th><th scope="col">Backend</th><th scope="col">Used by</th></tr></thead>
      <tbody>${models.data.models.map(
        (m) => html`<tr>
        <th scope="row"><code>${m.target}</code></th><td>${m.class}</td><td class="small">${backend(m.backend)}</td>
        <td>${
          m.usedBy.length === 0
            ? html`<span class="muted">nothing: receives no traffic, can be retired</span>`
            : html`<ul class="plain">${m.usedBy.map((u) => html`<li><a href=${`#/objectives/${encodeURIComponent(u.objective)}`}>${u.objective}</a>: ${u.as}${u.detail ? ` (${u.detail})` : ''}</li>`)}</ul>`
        }</td>
      </tr>`,
      )}</tbody>
    </table>`;
}
