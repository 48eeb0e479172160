// `serve --config FILE --watch`: re-applies the file when it changes. Editors
// save by rename as often as by write, and a Kubernetes ConfigMap volume swaps
// a `..data` symlink, so the folder is watched (not the file inode), events are
// debounced, and an unchanged file writes nothing. A bad edit is refused by
// validation: the running revision stays and the log says why.
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { ConfigError, formatIssues } from '../config/issues.js';
import { loadConfigFile } from '../config/load.js';
import type { Logger } from '../call/hooks.js';
import type { ChangeResult, ControlPlane } from './control-plane.js';

const DEBOUNCE_MS = 100;

export interface ConfigWatch {
  close(): void;
}

export type WatchOutcome = { ok: true; result: ChangeResult } | { ok: false; reason: string };

/** Seeds the store from the file: applies it only if it differs from the latest revision. */
export async function applyConfigFile(control: ControlPlane, file: string, message: string): Promise<ChangeResult> {
  const { source } = loadConfigFile(file);
  return control.apply({ source, author: `file:${basename(file)}`, message, onlyIfChanged: true });
}

export function watchConfigFile(
  control: ControlPlane,
  file: string,
  log: Logger,
  onOutcome?: (o: WatchOutcome) => void,
): ConfigWatch {
  const path = resolve(file);
  const name = basename(path);
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();

  const reapply = () => {
    running = running.then(async () => {
      try {
        const result = await applyConfigFile(control, path, `${name} changed`);
        if (!result.unchanged) log.info({ file: path, revision: result.revision }, 'config file changed: applied');
        onOutcome?.({ ok: true, result });
      } catch (err) {
        const reason = err instanceof ConfigError ? formatIssues(err.issues) : (err as Error).message;
        log.warn(
          { file: path, reason, revision: control.liveNumber },
          `config file change refused; revision ${control.liveNumber} stays live`,
        );
        onOutcome?.({ ok: false, reason });
      }
    });
  };

  const watcher: FSWatcher = watch(dirname(path), (_event, changed) => {
    if (changed !== null && changed !== name && !changed.startsWith('..')) return;
    clearTimeout(timer);
    timer = setTimeout(reapply, DEBOUNCE_MS);
  });
  watcher.on('error', (err) => log.error({ file: path, err: String(err) }, 'config watch stopped'));
  return {
    close() {
      clearTimeout(timer);
      watcher.close();
    },
  };
}
