// Explain: objective + unit + context → the decision and the trail of every
// step considered (the admin API's explain, same answer as the data plane's).
import { useState } from 'preact/hooks';
import { get, enc } from '../api.js';
import { html, usePoll, ErrorNote, Loading } from '../util.js';

export function ExplainView({ objective }) {
  const objectives = usePoll(() => get('/admin/objectives'), 0, []);
  const [form, setForm] = useState({ objective: objective ?? '', unit: '', context: '', trafficClass: 'live' });
  const [result, setResult] = useState(undefined);
  const [error, setError] = useState(undefined);
  if (!objectives.data)
    return objectives.error ? html`<${ErrorNote} error=${objectives.error} />` : html`<${Loading} what="objectives" />`;
  const names = objectives.data.objectives.map((o) => o.name);
  const chosen = form.objective || names[0];
  const set = (k) => (e) => setForm({ ...form, [k]: e.currentTarget.value });
  const run = async (e) => {
    e.preventDefault();
    setError(undefined);
    const q = new URLSearchParams();
    if (form.unit.trim()) q.set('unit', form.unit.trim());
    q.set('trafficClass', form.trafficClass);
    for (const line of form.context.split(/[\n,]/)) {
      const eq = line.indexOf('=');
      if (eq > 0) q.set(line.slice(0, eq).trim().toLowerCase(), line.slice(eq + 1).trim());
    }
    try {
      setResult(await get(`/admin/objectives/${enc(chosen)}/explain?${q}`));
    } catch (err) {
      setResult(undefined);
      setError(err);
    }
  };
  const d = result?.decision;
  return html`
    <h1>Explain</h1>
    <form class="explain" onSubmit=${run}>
      <label for="ex-objective">Objective</label>
      <select id="ex-objective" value=${chosen} onChange=${set('objective')}>${names.map((n) => html`<option value=${n}>${n}</option>`)}</select>
      <label for="ex-unit">Unit</label>
      <input id="ex-unit" type="text" placeholder="user-42 (empty: random allocation)" value=${form.unit} onInput=${set('unit')} />
      <label for="ex-context">Context</label>
      <textarea id="ex-context" rows="3" placeholder="country=BR (one key=value a line)" value=${form.context} onInput=${set('context')}></textarea>
      <label for="ex-class">Traffic class</label>
      <select id="ex-class" value=${form.trafficClass} onChange=${set('trafficClass')}>
        ${['live', 'test', 'synthetic'].map((c) => html`<option value=${c}>${c}</option>`)}</select>
      <div><button class="primary" type="submit">Explain</button></div>
    </form>
    <${ErrorNote} error=${error} />
    ${
      d &&
      html`<section aria-labelledby="decision-h" data-testid="decision">
      <h2 id="decision-h">${d.objective} → <code>${d.target}</code></h2>
      <p>by <strong>${d.rule}</strong>${d.cell ? html` (cell <strong>${d.cell}</strong>)` : ''} · unit ${d.unit} · revision ${d.revision}</p>
      <table class="trail" aria-label="Trail">
        <thead><tr><th scope="col"></th><th scope="col">Step</th><th scope="col">Id</th><th scope="col">Why</th><th scope="col">Target</th></tr></thead>
        <tbody>${result.trail.map(
          (t) => html`<tr class=${t.matched ? 'matched' : ''}>
          <td aria-label=${t.matched ? 'decided' : 'passed'}>${t.matched ? '✓' : '·'}</td><td>${t.step}</td><td>${t.id}</td><td>${t.reason}</td>
          <td>${t.target ? html`<code>${t.target}</code>` : ''}</td></tr>`,
        )}</tbody>
      </table>
    </section>`
    }`;
}
