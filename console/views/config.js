// The whole config as its author wrote it (the submitted text, comments and
// order kept; a YAML dump when Junction made the revision): validated by the
// admin API's dry run (errors shown at their path, line and column), the diff
// against the live revision, then the impact preview (experiments it breaks
// must be acknowledged), applied with a message as a new revision.
import { useEffect, useRef, useState } from 'preact/hooks';
import { parseDocument, stringify, isMap, isSeq } from 'yaml';
import { ApiError, call, get } from '../api.js';
import { ConfirmDialog } from '../confirm.js';
import { html, ErrorNote, Loading } from '../util.js';
import { Diff } from './revisions.js';
import { PREVIEW_BASES, PreviewReport, brokenExperiments, runPreview } from './preview.js';

/** `objectives.cw.experiments[0].cells` → ['objectives', 'cw', 'experiments', 0, 'cells']. */
function pathKeys(path) {
  const keys = [];
  for (const m of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) keys.push(m[2] !== undefined ? Number(m[2]) : m[1]);
  return keys;
}

/** The 1-based line of the deepest node of `path` that exists in the YAML text (undefined when none). */
export function lineOf(text, path) {
  let doc;
  try {
    doc = parseDocument(text);
  } catch {
    return undefined;
  }
  let node = doc.contents;
  let offset;
  for (const key of pathKeys(path)) {
    if (isMap(node)) {
      const pair = node.items.find((p) => String(p.key?.value ?? p.key) === String(key));
      if (!pair) break;
      offset = pair.key?.range?.[0] ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof key === 'number' && node.items[key]) {
      node = node.items[key];
      offset = node.range?.[0] ?? offset;
    } else break;
  }
  if (offset === undefined) return undefined;
  return text.slice(0, offset).split('\n').length;
}

function selectLine(textarea, line) {
  const lines = textarea.value.split('\n');
  const start = lines.slice(0, line - 1).reduce((a, l) => a + l.length + 1, 0);
  textarea.focus();
  textarea.setSelectionRange(start, start + (lines[line - 1]?.length ?? 0));
  const lineHeight = parseFloat(getComputedStyle(textarea).lineHeight) || 18;
  textarea.scrollTop = Math.max(0, (line - 5) * lineHeight);
}

/** `line 12, column 5` (the server's, else the line found from the path), or '' when neither is known. */
const where = (i) => (i.line ? `line ${i.line}${i.column ? `, column ${i.column}` : ''}` : '');

export function ConfigView() {
  const [live, setLive] = useState(undefined);
  const [text, setText] = useState('');
  const [message, setMessage] = useState('');
  const [check, setCheck] = useState(undefined); // { text, diff, revision } | { text, issues, message }
  const [basis, setBasis] = useState(PREVIEW_BASES[0][0]);
  const [preview, setPreview] = useState(undefined); // { text, result } | { text, busy }
  const [acks, setAcks] = useState([]);
  const [error, setError] = useState(undefined);
  const [action, setAction] = useState(null);
  const area = useRef(null);
  const gutter = useRef(null);
  const loadLive = async () => {
    try {
      const c = await get('/admin/config');
      setLive(c);
      // The text as submitted keeps the author's comments and order; a revision Junction made (a rollout step) has none.
      setText(c.text ?? stringify(c.config, { lineWidth: 0 }));
      setCheck(undefined);
      setPreview(undefined);
      setAcks([]);
    } catch (err) {
      setError(err);
    }
  };
  useEffect(() => {
    loadLive();
  }, []);
  if (!live) return error ? html`<${ErrorNote} error=${error} />` : html`<${Loading} what="the live config" />`;

  const validate = async () => {
    setError(undefined);
    try {
      const r = await call('PUT', '/admin/config?dryRun=true', { text });
      setCheck({ text, diff: r.diff, revision: r.revision });
    } catch (err) {
      if (err instanceof ApiError && err.status === 400) {
        const issues = (err.issues.length ? err.issues : [{ path: '(root)', message: err.message }]).map((i) => ({
          ...i,
          line: i.line ?? lineOf(text, i.path),
        }));
        setCheck({ text, issues, message: err.message });
      } else setError(err);
    }
  };
  const previewNow = async () => {
    setError(undefined);
    setPreview({ text, busy: true });
    try {
      const result = await runPreview(text, basis);
      setPreview({ text, basis, result });
      setAcks((a) => a.filter((id) => brokenExperiments(result).some((b) => b.experiment === id)));
    } catch (err) {
      setPreview(undefined);
      setError(err);
    }
  };
  const checked = check && check.text === text;
  const changes = checked && check.diff && check.diff.length > 0;
  const previewed = changes && preview?.result && preview.text === text;
  const breaks = previewed ? brokenExperiments(preview.result) : [];
  const unacknowledged = breaks.filter((b) => !acks.includes(b.experiment));
  const badLines = new Set(checked && check.issues ? check.issues.map((i) => i.line).filter(Boolean) : []);
  const lineCount = text.split('\n').length;
  const canApply = previewed && unacknowledged.length === 0 && message.trim() !== '';
  const why = !changes
    ? 'validate the current text, with at least one change, first'
    : !previewed
      ? 'preview its impact first'
      : unacknowledged.length
        ? `acknowledge ${unacknowledged.map((b) => b.experiment).join(', ')} first`
        : message.trim() === ''
          ? 'write a message first'
          : '';
  const acknowledged = breaks.map((b) => b.experiment);
  const apply = () =>
    setAction({
      title: 'Apply this config?',
      body: html`<p>It becomes revision ${check.revision + 1} with the message “${message.trim()}”.</p>
        ${acknowledged.length > 0 && html`<p class="error">Acknowledged as broken: ${acknowledged.join(', ')}.</p>`}
        <${Diff} lines=${check.diff} />`,
      confirmLabel: 'Apply',
      run: () =>
        call(
          'PUT',
          `/admin/config?author=console&message=${encodeURIComponent(message.trim())}${
            acknowledged.length ? `&acknowledge=${acknowledged.map(encodeURIComponent).join(',')}` : ''
          }&${preview.basis}`,
          { text },
        ),
    });
  return html`
    <h1>Config <span class="muted">revision ${live.revision} is live${live.author ? `, by ${live.author}` : ''}</span></h1>
    <div class="editor">
      <label for="config-yaml">Config (YAML), edited from revision ${live.revision}</label>
      <p class="muted small" data-testid="config-source">${
        live.text != null
          ? 'As its author wrote it: comments and order are kept when you apply.'
          : 'Revision made by Junction (e.g. a rollout step): shown as generated YAML, without the comments of earlier revisions.'
      }</p>
      <div class="code">
        <pre class="gutter" ref=${gutter} aria-hidden="true">${Array.from(
          { length: lineCount },
          (_, i) => html`<span class=${badLines.has(i + 1) ? 'bad' : ''}>${i + 1}</span>`,
        )}</pre>
        <textarea id="config-yaml" ref=${area} spellcheck="false" rows="28" wrap="off" value=${text}
          aria-describedby="config-check" onInput=${(e) => setText(e.currentTarget.value)}
          onScroll=${(e) => {
            gutter.current.scrollTop = e.currentTarget.scrollTop;
          }}></textarea>
      </div>
    </div>
    <div class="toolbar">
      <button onClick=${validate}>Validate and diff</button>
      <label for="preview-basis">Replay</label>
      <select id="preview-basis" value=${basis} onChange=${(e) => setBasis(e.currentTarget.value)}>
        ${PREVIEW_BASES.map(([v, label]) => html`<option value=${v}>${label}</option>`)}</select>
      <button onClick=${previewNow} disabled=${!changes || preview?.busy}
        title=${changes ? '' : 'validate the current text, with at least one change, first'}>Preview impact</button>
    </div>
    <div class="toolbar">
      <label for="apply-message">Message</label>
      <input id="apply-message" type="text" placeholder="why this change" value=${message} onInput=${(e) => setMessage(e.currentTarget.value)} />
      <button class="primary" onClick=${apply} disabled=${!canApply} title=${why}>Apply…</button>
      <button class="link" onClick=${loadLive}>Reset to live</button>
    </div>
    ${!canApply && changes && html`<p class="muted small" data-testid="apply-why">Before Apply: ${why}.</p>`}
    <${ErrorNote} error=${error} />
    <div id="config-check" aria-live="polite">
      ${
        checked &&
        check.issues &&
        html`
        <div class="issues" role="alert">
          <p class="error">Not valid: ${check.issues.length} problem${check.issues.length > 1 ? 's' : ''}; nothing was applied.</p>
          <ul>${check.issues.map(
            (i) => html`<li>
            <button class="link issue" onClick=${() => i.line && selectLine(area.current, i.line)}>
              ${where(i) ? `${where(i)} · ` : ''}<code>${i.path}</code></button>: ${i.message}</li>`,
          )}</ul>
        </div>`
      }
      ${
        checked &&
        check.diff &&
        html`
        <div class="valid"><p class="ok">Valid. Changes against revision ${check.revision}:</p><${Diff} lines=${check.diff} /></div>`
      }
      ${check && !checked && html`<p class="muted">Edited since the last check: validate again before applying.</p>`}
      ${preview?.busy && preview.text === text && html`<p class="muted" aria-busy="true">Replaying logged decisions…</p>`}
      ${
        previewed &&
        html`<${PreviewReport} preview=${preview.result} acks=${acks}
          onAck=${(id, on) => setAcks((a) => (on ? [...new Set([...a, id])] : a.filter((x) => x !== id)))} />`
      }
    </div>
    <${ConfirmDialog} action=${action} onClose=${(r) => {
      setAction(null);
      if (r && !r.unchanged) {
        setMessage('');
        loadLive();
      }
    }} />`;
}
