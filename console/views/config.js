// The whole config as YAML: validated by the admin API's dry run (errors shown
// at their path and line), the diff against the live revision shown before
// apply, applied with a message as a new revision.
import { useEffect, useRef, useState } from 'preact/hooks';
import { parseDocument, stringify, isMap, isSeq } from 'yaml';
import { ApiError, call, get } from '../api.js';
import { ConfirmDialog } from '../confirm.js';
import { html, ErrorNote, Loading } from '../util.js';
import { Diff } from './revisions.js';

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

export function ConfigView() {
  const [live, setLive] = useState(undefined);
  const [text, setText] = useState('');
  const [message, setMessage] = useState('');
  const [check, setCheck] = useState(undefined); // { text, diff, revision } | { text, issues, message }
  const [error, setError] = useState(undefined);
  const [action, setAction] = useState(null);
  const area = useRef(null);
  const gutter = useRef(null);
  const loadLive = async () => {
    try {
      const c = await get('/admin/config');
      setLive(c);
      setText(stringify(c.config, { lineWidth: 0 }));
      setCheck(undefined);
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
          line: lineOf(text, i.path),
        }));
        setCheck({ text, issues, message: err.message });
      } else setError(err);
    }
  };
  const checked = check && check.text === text;
  const badLines = new Set(checked && check.issues ? check.issues.map((i) => i.line).filter(Boolean) : []);
  const lineCount = text.split('\n').length;
  const canApply = checked && check.diff && check.diff.length > 0 && message.trim() !== '';
  const apply = () =>
    setAction({
      title: 'Apply this config?',
      body: html`<p>It becomes revision ${check.revision + 1} with the message “${message.trim()}”.</p><${Diff} lines=${check.diff} />`,
      confirmLabel: 'Apply',
      run: () => call('PUT', `/admin/config?author=console&message=${encodeURIComponent(message.trim())}`, { text }),
    });
  return html`
    <h1>Config <span class="muted">revision ${live.revision} is live${live.author ? `, by ${live.author}` : ''}</span></h1>
    <div class="editor">
      <label for="config-yaml">Config (YAML), edited from revision ${live.revision}</label>
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
      <label for="apply-message">Message</label>
      <input id="apply-message" type="text" placeholder="why this change" value=${message} onInput=${(e) => setMessage(e.currentTarget.value)} />
      <button class="primary" onClick=${apply} disabled=${!canApply}
        title=${canApply ? '' : 'validate the current text, with at least one change and a message, first'}>Apply…</button>
      <button class="link" onClick=${loadLive}>Reset to live</button>
    </div>
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
              ${i.line ? `line ${i.line} · ` : ''}<code>${i.path}</code></button>: ${i.message}</li>`,
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
    </div>
    <${ConfirmDialog} action=${action} onClose=${(r) => {
      setAction(null);
      if (r && !r.unchanged) {
        setMessage('');
        loadLive();
      }
    }} />`;
}
