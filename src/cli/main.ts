/**
 * `prw`: push a value from a shell script or a cron line, or run a local receiver that prints
 * what it gets. Exit status: 0 done, 1 the receiver did not take the data, 2 bad usage or input.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { diag, DiagLogLevel } from '@opentelemetry/api';
import { redactUrl } from '../deliver/http.js';
import { ENV } from '../env.js';
import { RemoteWriteClient, type RemoteWriteClientOptions } from '../client/client.js';
import { VERSION } from '../version.js';
import { startDebugReceiver, type DebugReceiver } from './receiver.js';

export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Readonly<Record<string, string | undefined>>;
}

class UsageError extends Error {}

const MAIN_HELP = `Usage: prw <command> [options]

Push metrics to a Prometheus remote-write endpoint from scripts and cron jobs.

Commands:
  push      push one counter increment, gauge value or set of histogram observations
  receive   run a local receiver that prints every request it gets

Options:
  -h, --help     show help (also: prw <command> --help)
  -v, --version  show the version

Examples:
  prw push --url http://127.0.0.1:9090/api/v1/write counter backup_runs 1 -l host=db1
  prw receive --port 9090
`;

const PUSH_HELP = `Usage: prw push [options] counter NAME INCREMENT
       prw push [options] gauge NAME VALUE
       prw push [options] histogram NAME VALUE [VALUE...]

Sends one request. A counter is sent as NAME_total with its running total: the increment
alone, unless --state-file keeps the total across runs. Histogram values are counted into
buckets (cumulative, with +Inf, _count and _sum).

Options:
  --url URL                remote-write endpoint (env PRW_URL)
  -l, --label NAME=VALUE   a label; repeat for more
  -t, --timestamp MS       sample time in milliseconds since the epoch (default: now)
      --buckets B1,B2,...  histogram bucket bounds (default: 0.5,1,2.5,5,10)
      --job NAME           a job label (env PRW_JOB)
      --instance NAME      an instance label (env PRW_INSTANCE)
      --state-file PATH    keep counter totals and histogram counts across runs (env PRW_STATE_FILE)
  -H, --header 'NAME: VALUE'  an HTTP header; repeat for more (env PRW_HEADERS, one per line)
      --bearer-token TOKEN send Authorization: Bearer TOKEN (env PRW_BEARER_TOKEN)
      --basic-auth USER:PASSWORD  HTTP basic authentication (env PRW_BASIC_AUTH)
      --timeout MS         time for one request (env PRW_TIMEOUT; default 10000)
      --retry-for MS       keep retrying 5xx, 429 and network errors this long (env PRW_RETRY_FOR; default 60000)
      --protocol v1|v2|auto  remote-write version (env PRW_PROTOCOL; default v1)
      --tenant ID          send X-Scope-OrgID: ID (Grafana Mimir, Cortex)
      --ca FILE            CA certificates (PEM) for an https:// url
      --cert FILE          client certificate (PEM) for mutual TLS; needs --key
      --key FILE           the client certificate's private key (PEM)
      --insecure           do not verify the receiver's certificate (tests only)
      --proxy URL          an HTTP proxy (default: HTTPS_PROXY/HTTP_PROXY, NO_PROXY); "none" for none
      --debug              print the request in the debug format, and send it
      --dry-run            print the request in the debug format; send nothing
  -v, --verbose            print a one-line summary of what was sent
  -q, --quiet              print nothing but errors
  -h, --help               show this help

Without --url, PRW_URL or else OTEL_EXPORTER_PROMETHEUS_REMOTE_WRITE_ENDPOINT is used; the
other OTEL_EXPORTER_PROMETHEUS_REMOTE_WRITE_* variables apply as in the library (HEADERS,
TIMEOUT, PROTOCOL, CERTIFICATE, CLIENT_CERTIFICATE, CLIENT_KEY, INSECURE); options win.
When a request fails and is retried, one line on stderr says what failed and for how long
it will keep trying (--retry-for).
Prefer the environment variables for secrets: arguments are visible to other users in ps.
Exit status: 0 sent, 1 not accepted by the receiver, 2 bad usage or input.
`;

const RECEIVE_HELP = `Usage: prw receive [options]

A local remote-write receiver for developing a job before a real Prometheus exists. It
decodes every request (Remote-Write 1.0 and 2.0, any URL path) and prints it in the debug
format; it answers 204, or 400 with the reason when a body cannot be decoded.

Options:
  -p, --port N       port to listen on (env PRW_RECEIVE_PORT; default 9090, 0 for any free port)
      --host ADDR    address to listen on (default 127.0.0.1: only this machine)
      --timestamps   print each sample's timestamp (ms)
  -h, --help         show this help

Stop it with Ctrl-C.
`;

export async function main(argv: readonly string[], io: Io): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'push':
        return await push(rest, io);
      case 'receive':
        return await receive(rest, io);
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        io.stdout(MAIN_HELP);
        return command === undefined ? 2 : 0;
      case '-v':
      case '--version':
        io.stdout(`prw ${VERSION}\n`);
        return 0;
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)}; see prw --help`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`prw: ${oneLine(err.message)}\n`);
      return 2;
    }
    const message = err instanceof Error ? err.message : String(err);
    io.stderr(`prw: ${message}\n`);
    // The library's words name its options; say what they are called here.
    if (/\bTLS: /.test(message)) {
      io.stderr(
        'prw: here tls.caFile is --ca, tls.certFile/keyFile --cert/--key, tls.insecureSkipVerify --insecure\n',
      );
    }
    return 1;
  }
}

/** A message as one line of stderr: line breaks from the arguments quoted in it are escaped. */
function oneLine(message: string): string {
  return message.replace(/\r/g, '\\r').replace(/\n/g, '\\n');
}

/** parseArgs with usage errors, and negative numbers taken as values rather than options. */
function parse<T extends NonNullable<ParseArgsConfig['options']>>(args: readonly string[], options: T) {
  /** Option as written → its long name, for the options that take a value. */
  const takesValue = new Map<string, string>();
  for (const [name, o] of Object.entries(options)) {
    if (o.type === 'string') {
      takesValue.set(`--${name}`, name);
      if (o.short) takesValue.set(`-${o.short}`, name);
    }
  }
  const NEGATIVE = /^-(\d+(\.\d*)?([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|Inf(inity)?)$/i;
  const MARK = '\u0000';
  const marked: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    const long = takesValue.get(a);
    const next = args[i + 1];
    if (long !== undefined && next !== undefined && NEGATIVE.test(next)) {
      // `--timeout -5`: a negative number is the option's value (checked later), which parseArgs
      // takes only in the `--name=value` form.
      marked.push(`--${long}=${next}`);
      i++;
    } else marked.push(NEGATIVE.test(a) ? MARK + a : a);
  }
  try {
    const { values, positionals } = parseArgs({
      args: marked,
      options,
      allowPositionals: true,
      strict: true,
    });
    return { values, positionals: positionals.map((p) => (p.startsWith(MARK) ? p.slice(1) : p)) };
  } catch (err) {
    // parseArgs explains on two lines; prw says it on one.
    throw new UsageError((err as Error).message.replace(/\s*\n\s*/g, ' '), { cause: err });
  }
}

const PUSH_OPTIONS = {
  url: { type: 'string' },
  label: { type: 'string', short: 'l', multiple: true },
  timestamp: { type: 'string', short: 't' },
  buckets: { type: 'string' },
  job: { type: 'string' },
  instance: { type: 'string' },
  'state-file': { type: 'string' },
  header: { type: 'string', short: 'H', multiple: true },
  'bearer-token': { type: 'string' },
  'basic-auth': { type: 'string' },
  timeout: { type: 'string' },
  'retry-for': { type: 'string' },
  protocol: { type: 'string' },
  tenant: { type: 'string' },
  ca: { type: 'string' },
  cert: { type: 'string' },
  key: { type: 'string' },
  insecure: { type: 'boolean' },
  proxy: { type: 'string' },
  debug: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  verbose: { type: 'boolean', short: 'v' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
} as const;

async function push(args: readonly string[], io: Io): Promise<number> {
  const { values: v, positionals } = parse(args, PUSH_OPTIONS);
  if (v.help) {
    io.stdout(PUSH_HELP);
    return 0;
  }
  const [kind, name, ...numbers] = positionals;
  if (kind !== 'counter' && kind !== 'gauge' && kind !== 'histogram') {
    throw new UsageError(
      kind === undefined
        ? 'push needs a type: counter, gauge or histogram; see prw push --help'
        : `unknown type ${JSON.stringify(kind)}: counter, gauge or histogram`,
    );
  }
  if (name === undefined) throw new UsageError(`push ${kind} needs a metric NAME`);
  if (numbers.length === 0) throw new UsageError(`push ${kind} ${JSON.stringify(name)} needs a value`);
  if (kind !== 'histogram' && numbers.length > 1) {
    // The values are not repeated: a misplaced argument may be a secret.
    throw new UsageError(`push ${kind} takes one value, got ${numbers.length}`);
  }
  const parsed = numbers.map((n) => number(n, 'value'));
  const labels = Object.fromEntries((v.label ?? []).map((l) => keyValue(l, '=', '--label', 'NAME=VALUE')));
  const timestamp = v.timestamp === undefined ? undefined : number(v.timestamp, '--timestamp');
  if (v.buckets !== undefined && kind !== 'histogram') throw new UsageError('--buckets is for histograms');

  const env = io.env;
  const dryRun = v['dry-run'] === true;
  const url = v.url ?? emptyAsUndefined(env['PRW_URL']) ?? emptyAsUndefined(env[ENV.endpoint]);
  if (!dryRun && url === undefined) {
    throw new UsageError(`no endpoint: give --url URL or set PRW_URL or ${ENV.endpoint} (or use --dry-run)`);
  }
  if (v.verbose && v.quiet) throw new UsageError('--verbose and --quiet cannot be used together');
  const headerLines = v.header ?? (env['PRW_HEADERS'] ?? '').split('\n').filter((h) => h.trim() !== '');
  const headers = Object.fromEntries(
    headerLines.map((h) => keyValue(h, ':', '--header', "'NAME: VALUE'", false)),
  );
  const bearerToken = v['bearer-token'] ?? emptyAsUndefined(env['PRW_BEARER_TOKEN']);
  const basic = v['basic-auth'] ?? emptyAsUndefined(env['PRW_BASIC_AUTH']);
  const timeout = v.timeout ?? emptyAsUndefined(env['PRW_TIMEOUT']);
  const retryFor = v['retry-for'] ?? emptyAsUndefined(env['PRW_RETRY_FOR']);
  const protocol = v.protocol ?? emptyAsUndefined(env['PRW_PROTOCOL']);
  if (protocol !== undefined && protocol !== 'v1' && protocol !== 'v2' && protocol !== 'auto') {
    throw new UsageError(`--protocol must be v1, v2 or auto, got ${JSON.stringify(protocol)}`);
  }

  const transport = transportOptions(v);
  const summary = { requests: 0, samples: 0 };
  const printDebug = dryRun || v.debug === true;
  // -v counts what the debug text shows: one "[DEBUG] remote_write_req_seq" line per request,
  // one line per sample.
  const debug =
    printDebug || v.verbose
      ? (text: string): void => {
          for (const line of text.split('\n')) {
            if (line.startsWith('[DEBUG] remote_write_req_seq')) summary.requests++;
            else if (line !== '' && !line.startsWith('#')) summary.samples++;
          }
          if (printDebug) io.stdout(text);
        }
      : false;
  const stopRetryNotice = v.quiet || dryRun ? undefined : retryNotice(io, retryFor);
  const started = Date.now();

  // A dry run sends to a receiver inside this process that prints nothing: the text shown is
  // exactly what the exporter would send.
  let sink: DebugReceiver | undefined;
  let client: RemoteWriteClient;
  // The exporter's retry timers never keep a process alive by themselves; this command waits
  // for the answer (or the end of --retry-for), so it holds the process until then.
  const hold = setInterval(() => {}, 60_000);
  try {
    if (dryRun) sink = await startDebugReceiver({ onRequest: () => undefined });
    const options: RemoteWriteClientOptions = {
      url: sink ? sink.url : (url as string),
      batch: true,
      flushOnExit: false,
      debug,
      ...(sink ? { proxy: false } : { headers, ...transport }),
      ...(bearerToken !== undefined && !sink ? { bearerToken } : {}),
      ...(basic !== undefined && !sink ? { basicAuth: keyValueObject(basic) } : {}),
      ...(timeout !== undefined ? { timeoutMillis: number(timeout, '--timeout') } : {}),
      ...(retryFor !== undefined ? { maxRetryElapsedMillis: number(retryFor, '--retry-for') } : {}),
      ...(protocol !== undefined ? { protocol } : {}),
      ...optional('job', v.job ?? emptyAsUndefined(env['PRW_JOB'])),
      ...optional('instance', v.instance ?? emptyAsUndefined(env['PRW_INSTANCE'])),
      ...optional('stateFile', v['state-file'] ?? emptyAsUndefined(env['PRW_STATE_FILE'])),
      ...(v.buckets !== undefined ? { buckets: { [name]: bucketList(v.buckets) } } : {}),
    };
    try {
      client = new RemoteWriteClient(options);
    } catch (err) {
      throw new UsageError((err as Error).message, { cause: err });
    }
    // Batch mode: a bad value is refused here, before anything is sent.
    try {
      if (kind === 'counter') await client.counterInc(name, parsed[0] as number, labels, timestamp);
      else if (kind === 'gauge') await client.gaugeSet(name, parsed[0] as number, labels, timestamp);
      else {
        for (const value of parsed) client.histogramQueue(name, value, labels, timestamp);
        await client.histogramFlush(name, labels);
      }
    } catch (err) {
      await client.close().catch(() => undefined);
      throw new UsageError((err as Error).message, { cause: err });
    }
    await client.close();
  } finally {
    clearInterval(hold);
    stopRetryNotice?.();
    await sink?.close();
  }
  if (v.verbose) {
    const target = sink ? 'nowhere (--dry-run)' : redactUrl(new URL(url as string));
    io.stderr(
      `prw: sent ${kind} ${name}: ${plural(summary.samples, 'sample')} in ${plural(summary.requests, 'request')} ` +
        `to ${target} in ${Date.now() - started} ms\n`,
    );
  }
  return 0;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** --tenant, --ca, --cert, --key, --insecure, --proxy as exporter options. */
function transportOptions(v: {
  tenant?: string;
  ca?: string;
  cert?: string;
  key?: string;
  insecure?: boolean;
  proxy?: string;
}): Pick<RemoteWriteClientOptions, 'tenant' | 'tls' | 'proxy'> {
  const out: Pick<RemoteWriteClientOptions, 'tenant' | 'tls' | 'proxy'> = {};
  if (v.tenant !== undefined) out.tenant = v.tenant;
  if (v.ca !== undefined || v.cert !== undefined || v.key !== undefined || v.insecure) {
    out.tls = {
      ...(v.ca !== undefined && { caFile: v.ca }),
      ...(v.cert !== undefined && { certFile: v.cert }),
      ...(v.key !== undefined && { keyFile: v.key }),
      ...(v.insecure && { insecureSkipVerify: true }),
    };
  }
  if (v.proxy !== undefined) out.proxy = v.proxy === 'none' ? false : v.proxy;
  return out;
}

/**
 * One line on stderr when the first request fails and is retried: what failed and how long it
 * will keep trying. The exporter says so through OTel's diag logger (at debug level); this
 * listens for it while the command runs.
 */
function retryNotice(io: Io, retryFor: string | undefined): () => void {
  let said = false;
  const seconds = retryFor === undefined ? 60 : Number(retryFor) / 1000;
  const onDebug = (message: string): void => {
    const m = /^prometheus remote write: retry 1 in \d+ ms after: (.*)$/s.exec(message);
    if (!m || said) return;
    said = true;
    io.stderr(`prw: ${m[1]}; retrying for up to ${seconds} s (--retry-for)\n`);
  };
  const ignore = (): void => {};
  diag.setLogger(
    { debug: onDebug, verbose: ignore, info: ignore, warn: ignore, error: ignore },
    { logLevel: DiagLogLevel.DEBUG, suppressOverrideMessage: true },
  );
  return () => diag.disable();
}

function optional<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, string>);
}

function emptyAsUndefined(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/** `NAME<separator>VALUE`; a header (`echo` false) is never repeated: its value may be a secret. */
function keyValue(
  text: string,
  separator: string,
  flag: string,
  form: string,
  echo = true,
): [string, string] {
  const at = text.indexOf(separator);
  if (at <= 0) {
    throw new UsageError(
      `${flag} must be ${form}, got ${echo ? JSON.stringify(text) : at === 0 ? 'no NAME' : `no "${separator}"`}`,
    );
  }
  return [text.slice(0, at).trim(), text.slice(at + 1).trim()];
}

function keyValueObject(text: string): { username: string; password: string } {
  const at = text.indexOf(':');
  if (at < 0) throw new UsageError('--basic-auth / PRW_BASIC_AUTH must be USER:PASSWORD');
  return { username: text.slice(0, at), password: text.slice(at + 1) };
}

/** A number as written in the text format, `+Inf`, `-Inf` and `NaN` included. */
function number(text: string, what: string): number {
  const t = text.trim();
  if (/^[+]?inf(inity)?$/i.test(t)) return Infinity;
  if (/^-inf(inity)?$/i.test(t)) return -Infinity;
  if (/^nan$/i.test(t)) return NaN;
  const n = t === '' ? NaN : Number(t);
  if (Number.isNaN(n)) throw new UsageError(`${what} must be a number, got ${JSON.stringify(text)}`);
  return n;
}

function bucketList(text: string): number[] {
  return text.split(',').map((b) => number(b, '--buckets bound'));
}

const RECEIVE_OPTIONS = {
  port: { type: 'string', short: 'p' },
  host: { type: 'string' },
  timestamps: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

async function receive(args: readonly string[], io: Io): Promise<number> {
  const { values: v, positionals } = parse(args, RECEIVE_OPTIONS);
  if (v.help) {
    io.stdout(RECEIVE_HELP);
    return 0;
  }
  if (positionals.length > 0)
    throw new UsageError(`receive takes no arguments, got ${positionals.join(' ')}`);
  const portText = v.port ?? emptyAsUndefined(io.env['PRW_RECEIVE_PORT']) ?? '9090';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(
      `--port must be a port number (0 for any free one), got ${JSON.stringify(portText)}`,
    );
  }
  let receiver: DebugReceiver;
  try {
    receiver = await startDebugReceiver({
      port,
      host: v.host ?? '127.0.0.1',
      timestamps: v.timestamps === true,
      onRequest: io.stdout,
    });
  } catch (err) {
    throw new Error(`cannot listen on ${v.host ?? '127.0.0.1'}:${port}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  io.stderr(`prw receive: listening on ${receiver.url} (any path); Ctrl-C to stop\n`);
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await receiver.close();
  io.stderr(`prw receive: stopped after ${receiver.received} requests\n`);
  return 0;
}
