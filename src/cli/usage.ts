// What `junction <verb> --help` prints: one entry per verb, also the lines of
// `junction --help`. main.ts answers --help from here before running a verb, so
// asking for help never does anything else (never starts a server or a benchmark).
const ADMIN = '[--admin URL] [--json]';

export const VERB_USAGE: Readonly<Record<string, string>> = {
  serve: `serve      [--config FILE [--watch] [--apply-config]] [--data DIR | --store URL] [--redis URL] [--port N] [--grpc-port N]
             [--host H] [--admin-port N] [--admin-host H] [--admin-allowed-host NAME …] [--workers N]
             [--decision-log FILE|-] [--feedback-log FILE] [--access-log]
             [--log-max-bytes SIZE] [--log-rotate size=SIZE,age=DURATION [--log-retain DURATION]]
             [--insecure-admin] [--tls-cert FILE --tls-key FILE] [--grpc-plaintext]
             The data plane (default port 8080) and, with JUNCTION_ADMIN_TOKEN set or --insecure-admin, the admin
             API (default port 8081; without a token on 127.0.0.1 unless --admin-host says otherwise).
             --tls-cert/--tls-key serve both over HTTPS and the gRPC port over TLS (plaintext
             gRPC beside them only with --grpc-plaintext). --log-max-bytes (e.g. 10G) caps the decision-log and
             feedback-log files: past it their lines are refused (counted; exposures and feedback answer 503).
             --log-rotate size=256MB,age=1h renames a log file to FILE.<UTC time> past either bound and starts a new
             one (shippers follow by inode); --log-retain 7d deletes rotated files older than that. With rotation,
             --log-max-bytes caps each log's live and rotated files together.
             --config seeds an empty store only; with revisions stored the store's latest is served, unless
             --apply-config (the file becomes a new revision when it differs). --watch applies later edits.
             --admin-allowed-host NAME: a DNS name the admin API answers for (IP addresses and localhost always).`,
  validate: `validate   FILE [--json]   every problem of a config file in one pass (schema, semantics, model files)`,
  explain: `explain    FILE OBJECTIVE [--unit U] [--context k=v …] [--traffic-class C] [--json]`,
  keys: `keys       new [--name CLIENT] [--json]   a new API key and its SHA-256 digest for clients: in a file (offline)
             create NAME [--objectives a,b] [--rps N] [--burst N] [--tpm N] [--tag k=v …] [--priority P] [--max-concurrency N]
             [--allow-override] ${ADMIN}   a client with a new key, shown once (a new revision)
             update NAME [the options of create] | rotate NAME | revoke NAME | list | show NAME ${ADMIN}`,
  apply: `apply      FILE [--message M] [--acknowledge EXPERIMENT …] [--force "reason"] ${ADMIN}
             --preview FILE [--window 1h | --sample N] [--revision N]: what the change would move, replayed from the decision log`,
  diff: `diff       FILE ${ADMIN}`,
  revisions: `revisions  [N] [--limit N] ${ADMIN}`,
  rollback: `rollback   N [--message M] ${ADMIN}`,
  rollout: `rollout    OBJECTIVE start|status|pause|resume|promote|abort [--candidate model@version [--balance p2c|least-load|prefix|adapter]] [--steps 1,5,25,100]
             [--gates maxErrorRate=0.01,minRequests=500] [--force "reason"] ${ADMIN}
             start refuses a rollout that reaches no live unit, or has steps and no gate on errors (maxErrorRate or
             maxErrorRateIncrease), unless --force gives the reason, which the revision records.`,
  bench: `bench      [--quick] [--write]   the benchmark suite (a source checkout; same as npm run bench)`,
  export: `export nginx (--config FILE | --admin URL) --listen ADDR:PORT --junction URL [--grpc-listen ADDR:PORT] [--out FILE] [--watch --reload CMD]
             an nginx config routing requests on x-junction-target; --grpc-listen adds an HTTP/2 server for oip-grpc targets (docs/edge.md)`,
  analyze: `analyze    --decisions FILE… [--feedback FILE…] [--experiment ID] [--config FILE] [--json]   experiment readout
             FILE: a file or a quoted glob ('logs/*/decisions.jsonl'); a log file brings the files it was rotated into`,
  logs: `logs       export --parquet OUT [--from T] [--to T] [--kind decisions|feedback] FILE|GLOB…
             the decision or feedback log (globs, rotated files included) as one Parquet file for a warehouse`,
  spend: `spend      [--by client|tag|objective|target] [--from T] [--to T] [--client C] [--tag NAME=VALUE …] ${ADMIN}
             cost and tokens from the spend ledger; T is a date or an ISO time (default: this month so far, in timeZone)`,
};

const FOOTER = `admin commands talk to a running Junction: --admin URL (default http://127.0.0.1:8081),
token from JUNCTION_ADMIN_TOKEN; --json prints machine-readable output.
`;

export function mainUsage(): string {
  return `usage: junction <command> [options]\n       junction --version\n\ncommands:\n${Object.values(VERB_USAGE)
    .map((u) => `  ${u.replace(/\n/g, '\n  ')}`)
    .join('\n')}\n\n${FOOTER}`;
}

export function verbUsage(verb: string): string {
  const usage = VERB_USAGE[verb];
  return usage === undefined ? mainUsage() : `usage: junction ${usage.replace(/^(\S+(?: new)?) +/, '$1 ')}\n`;
}
