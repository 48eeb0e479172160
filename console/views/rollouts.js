// Every rollout: its step, each gate's value against its threshold (judged on
// every replica's traffic since the step began), the controller's last
// reason, the history of its steps, and pause/resume/promote/abort.
import { useState } from 'preact/hooks';
import { call, get, enc } from '../api.js';
import { ConfirmDialog } from '../confirm.js';
import { html, usePoll, ErrorNote, Loading, pct, time, diffLines, arm } from '../util.js';
import { RolloutWarnings } from './warnings.js';

const EFFECT = {
  pause: 'The percent stays; the controller stops advancing it.',
  resume: "The rollout runs again; the current step's clock restarts.",
  promote: 'The candidate becomes the default and the rollout is removed.',
  abort: 'The rollout is removed; its traffic goes back to the rules and the default.',
};

async function loadRollouts() {
  const { objectives, revision } = await get('/admin/objectives');
  const withRollout = objectives.filter((o) => o.rollout);
  const [views, revisions] = await Promise.all([
    Promise.all(withRollout.map((o) => get(`/admin/objectives/${enc(o.name)}/rollout`))),
    get('/admin/revisions?limit=200'),
  ]);
  return { revision, views, revisions: revisions.revisions };
}

/** `limit` gates roll back when breached; `wait` gates hold the step until met. */
function Gate({ label, value, threshold, ok, kind = 'limit' }) {
  const state =
    ok === undefined
      ? html`<span class="muted">not set</span>`
      : kind === 'wait'
        ? ok
          ? html`<span class="ok">met</span>`
          : html`<span class="muted">waiting</span>`
        : ok
          ? html`<span class="ok">within</span>`
          : html`<span class="error">breached</span>`;
  return html`<tr><th scope="row">${label}</th><td class="num" data-gate=${label}>${value}</td><td class="num">${threshold}</td><td>${state}</td></tr>`;
}

function Gates({ v }) {
  const g = v.rollout.gates;
  const w = v.gates;
  if (!w)
    return html`<p class="muted">No gate values yet: the controller judges every 5 s once the step has begun.</p>`;
  const c = w.candidate;
  const errRate = c.requests ? c.errors / c.requests : 0;
  const ratio = c.p99Ms !== undefined && w.baseline.p99Ms ? c.p99Ms / w.baseline.p99Ms : undefined;
  const hold = v.rollout.holdSeconds ?? 300;
  return html`
    <table class="gates" aria-label=${`Gates of ${v.objective}`}>
      <thead><tr><th scope="col">Gate</th><th scope="col" class="num">value</th><th scope="col" class="num">threshold</th><th scope="col">state</th></tr></thead>
      <tbody>
        <${Gate} label="candidate requests this step" value=${c.requests} threshold=${`≥ ${g?.minRequests ?? 500}`} ok=${c.requests >= (g?.minRequests ?? 500)} kind="wait" />
        <${Gate} label="candidate error rate" value=${pct(errRate, 2)} threshold=${g?.maxErrorRate !== undefined ? `≤ ${pct(g.maxErrorRate, 2)}` : '–'}
          ok=${g?.maxErrorRate !== undefined ? errRate <= g.maxErrorRate : undefined} />
        <${Gate} label="p99 candidate / default" value=${ratio !== undefined ? `${ratio.toFixed(2)}× (${c.p99Ms} / ${w.baseline.p99Ms} ms)` : '–'}
          threshold=${g?.maxP99Ratio !== undefined ? `≤ ${g.maxP99Ratio}×` : '–'} ok=${g?.maxP99Ratio !== undefined && ratio !== undefined ? ratio <= g.maxP99Ratio : undefined} />
        <${Gate} label="held" value=${`${Math.floor(w.heldSeconds)} s`} threshold=${`${hold} s`} ok=${w.heldSeconds >= hold} kind="wait" />
      </tbody>
    </table>`;
}

function Steps({ r }) {
  if (!r.steps?.length)
    return html`<p>At <strong>${r.percent}%</strong>, manual (no steps: only the actions below move it).</p>`;
  return html`<ol class="steps" aria-label="Steps">${r.steps.map(
    (s) => html`
    <li class=${s === r.percent ? 'current' : s < r.percent ? 'done' : ''} aria-current=${s === r.percent ? 'step' : undefined}>${s}%</li>`,
  )}</ol>`;
}

function History({ objective, revisions }) {
  const mine = revisions.filter((r) =>
    diffLines(r.diff).some(
      (d) => d.includes(`objectives.${objective}.rollout`) || d.includes(`objectives.${objective}.default`),
    ),
  );
  if (!mine.length) return html`<p class="muted">No revision changed this rollout yet.</p>`;
  return html`<ul class="history">${mine.slice(0, 10).map(
    (r) => html`
    <li><a href=${`#/revisions/${r.number}`}>revision ${r.number}</a> · ${time(r.createdAt)} · ${r.author}: ${r.message}</li>`,
  )}</ul>`;
}

export function RolloutsView() {
  const data = usePoll(loadRollouts, 5000, []);
  const [action, setAction] = useState(null);
  if (!data.data) return data.error ? html`<${ErrorNote} error=${data.error} />` : html`<${Loading} what="rollouts" />`;
  const ask = (objective, verb, r) =>
    setAction({
      title: `${verb[0].toUpperCase()}${verb.slice(1)} the rollout of ${arm(r.candidate)} on ${objective}?`,
      body: html`<p>${EFFECT[verb]}</p><p class="muted">Stored as a new revision by the console; undo it with a rollback.</p>`,
      confirmLabel: `${verb[0].toUpperCase()}${verb.slice(1)}`,
      run: () =>
        call('POST', `/admin/objectives/${enc(objective)}/rollout/${verb}?author=console`, {
          json: { message: `rollout ${verb} on ${objective} (console)` },
        }),
    });
  return html`
    <h1>Rollouts <span class="muted">revision ${data.data.revision}</span></h1>
    ${data.data.views.length === 0 && html`<p>No objective has a rollout. Start one with <code>junction rollout OBJECTIVE start --candidate model@version</code> or in the config.</p>`}
    ${data.data.views.map(
      (v) => html`
      <section class="card" aria-labelledby=${`ro-${v.objective}`}>
        <h2 id=${`ro-${v.objective}`}><a href=${`#/objectives/${enc(v.objective)}`}>${v.objective}</a>:
          <code>${arm(v.rollout.candidate)}</code> at ${v.rollout.percent}% <span class=${`state ${v.rollout.state}`}>${v.rollout.state}</span></h2>
        <p>Default <code>${v.default}</code>.${v.rollout.reach?.text ? html` <span class="muted">${v.rollout.reach.text}</span>` : ''}</p>
        ${v.rollout.warnings?.length > 0 && html`<p><${RolloutWarnings} o=${{ name: v.objective, rollout: v.rollout }} full /></p>`}
        <${Steps} r=${v.rollout} />
        <h3>Gates</h3><${Gates} v=${v} />
        <p><strong>Controller:</strong> ${v.controller ? html`${v.controller.kind}: ${v.controller.reason}` : html`<span class="muted">not judged yet</span>`}</p>
        <div class="actions" role="group" aria-label=${`Actions on the rollout of ${v.objective}`}>
          ${
            v.rollout.state === 'running'
              ? html`<button onClick=${() => ask(v.objective, 'pause', v.rollout)}>Pause</button>`
              : html`<button onClick=${() => ask(v.objective, 'resume', v.rollout)}>Resume</button>`
          }
          <button onClick=${() => ask(v.objective, 'promote', v.rollout)}>Promote</button>
          <button class="danger" onClick=${() => ask(v.objective, 'abort', v.rollout)}>Abort</button>
        </div>
        <h3>History</h3><${History} objective=${v.objective} revisions=${data.data.revisions} />
      </section>`,
    )}
    <${ConfirmDialog} action=${action} onClose=${() => {
      setAction(null);
      data.reload();
    }} />`;
}
