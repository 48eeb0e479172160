import type { Send } from '../call/types.js';

/** One deployed version's execution: remote endpoints or an in-process session. */
export interface Backend {
  readonly send: Send;
  /** True while at least one endpoint (or the in-process session) can take calls. */
  healthy(): boolean;
  /** Where a caller could reach this version directly (decide API), if anywhere. */
  endpoint(): string | undefined;
  close(): Promise<void>;
}
