// Helpers for tests of in-process ONNX targets: the repo root (model paths in
// test configs resolve against it) and the live backend of a target.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Junction } from '../../src/app.js';
import type { OnnxBackend } from '../../src/backends/onnx/onnx-backend.js';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function backendOf(j: Junction, target: string): OnnxBackend {
  const backend = j.runtime.current?.backends.get(target);
  if (backend === undefined) throw new Error(`no backend ${target}`);
  return backend as OnnxBackend;
}
