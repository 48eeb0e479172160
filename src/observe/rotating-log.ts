// Opens a decision or feedback log, rotated when `serve --log-rotate` asks
// (rotating-file.ts), else as openDecisionLog always has.
import { DecisionLog, openDecisionLog } from './decision-log.js';
import { RotatingFile, type RotationPolicy } from './rotating-file.js';

export type LogFileOptions = Parameters<typeof openDecisionLog>[1] & {
  /** `--log-rotate` / `--log-retain`; a file only (stdout, `-`, is never rotated). */
  rotation?: RotationPolicy | undefined;
  /** Told when a rotation or a retention sweep fails (lines keep going to the live file). */
  onRotateError?: (err: Error) => void;
};

/**
 * With rotation, `maxFileBytes` (`--log-max-bytes`) caps the live file and the
 * rotated files retention keeps, together: the disk the log may take. The
 * rotating file measures the disk after each rotation and sweep, so room that
 * retention frees is taken again, and what other processes (`--workers`) wrote
 * is counted.
 */
export function openLogFile(where: string, options: LogFileOptions): DecisionLog {
  const { rotation, onRotateError, ...opts } = options;
  if (rotation === undefined || where === '-') return openDecisionLog(where, opts);
  const sink = new RotatingFile(where, { ...rotation, onRotateError, onMeasured: (bytes) => log.measured(bytes) });
  const log = new DecisionLog({ ...opts, fileBytes: sink.diskBytes, sink, ownsSink: true });
  return log;
}
