// `serve --workers N`: N processes on one machine sharing the data and admin
// ports (node:cluster; the primary accepts and hands connections round-robin).
// The primary serves nothing itself: it restarts a worker that dies, merges
// metrics for /metrics, and stops the workers on SIGTERM/SIGINT: each drains
// within its grace period; one still alive after `stopWithinMs` is killed.
import cluster from 'node:cluster';
import { serveClusterMetrics } from './cluster-metrics.js';

const RESTART_DELAY_MS = 1000;

export function runPrimary(workers: number, log: (line: string) => void, stopWithinMs = 25_000): void {
  let stopping = false;
  serveClusterMetrics();
  for (let i = 0; i < workers; i++) cluster.fork();
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit();
      return;
    }
    if (code === 1) {
      // A user error (bad flag, unreachable store, port in use): every restart would fail the same way.
      log(`junction: worker ${worker.process.pid} refused to start (see above); stopping`);
      stopping = true;
      process.exitCode = 1;
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(1);
      return;
    }
    log(`junction: worker ${worker.process.pid} exited (${signal ?? code}); starting another`);
    setTimeout(() => {
      if (!stopping) cluster.fork();
    }, RESTART_DELAY_MS);
  });
  const stop = () => {
    stopping = true;
    const live = Object.values(cluster.workers ?? {});
    if (live.length === 0) process.exit(0);
    for (const w of live) w?.process.kill('SIGTERM');
    setTimeout(() => {
      const left = Object.values(cluster.workers ?? {});
      log(`junction: ${left.length} worker(s) not stopped ${stopWithinMs} ms after the signal; killing them`);
      for (const w of left) w?.process.kill('SIGKILL');
      process.exit(1);
    }, stopWithinMs).unref();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
