// Builds the Backend for a target from its config. One entry per backend type.
import type { Target } from '../routing/types.js';
import { createGrpcBackend } from './grpc/grpc-backend.js';
import { createHttpBackend } from './http/http-backend.js';
import { createOnnxBackend } from './onnx/onnx-backend.js';
import type { Backend } from './types.js';

export interface BackendContext {
  /** Folder that relative paths in the config resolve against. */
  baseDir: string;
}

export async function createBackend(target: Target, ctx: BackendContext): Promise<Backend> {
  const cfg = target.backend;
  switch (cfg.type) {
    case 'http':
      // oip-grpc is the one protocol that is not HTTP/1.1 through undici: its own backend.
      return cfg.protocol === 'oip-grpc' ? createGrpcBackend(target, cfg, ctx.baseDir) : createHttpBackend(target, cfg, ctx.baseDir);
    case 'onnx':
      return createOnnxBackend(target, cfg, ctx.baseDir);
  }
}
