// A throwaway tinyproxy (Debian's `tinyproxy` package) on a free loopback port, with its own
// config and log file in a temp dir, stopped by PID.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { findBinary, freePort } from './receivers.js';

export interface Tinyproxy {
  port: number;
  /** http://127.0.0.1:PORT, without credentials. */
  url: string;
  pid: number;
  /** The proxy's log so far (LogLevel Info: one "Request" line per request, CONNECT included). */
  log(): string;
  stop(): Promise<void>;
}

/** Skips without tinyproxy, except in CI where it is part of the test environment. */
export function tinyproxyOrSkip(): { skip?: string } {
  if (findBinary('tinyproxy')) return {};
  const reason = 'tinyproxy not found; install with apt-get install tinyproxy';
  if (process.env.CI === 'true') throw new Error(reason);
  return { skip: reason };
}

export async function startTinyproxy(
  opts: { connectPorts?: number[]; basicAuth?: { user: string; password: string } } = {},
): Promise<Tinyproxy> {
  const binary = findBinary('tinyproxy');
  if (!binary) throw new Error('tinyproxy not found');
  const dir = mkdtempSync(join(tmpdir(), 'rw-tinyproxy-'));
  const port = await freePort();
  const logFile = join(dir, 'tinyproxy.log');
  const conf = join(dir, 'tinyproxy.conf');
  writeFileSync(
    conf,
    [
      `Port ${port}`,
      'Listen 127.0.0.1',
      'Timeout 30',
      `LogFile "${logFile}"`,
      'LogLevel Info',
      'MaxClients 20',
      'Allow 127.0.0.1',
      // CONNECT only to these ports (the receivers'); none listed would allow every port.
      ...(opts.connectPorts ?? []).map((p) => `ConnectPort ${p}`),
      ...(opts.basicAuth ? [`BasicAuth ${opts.basicAuth.user} ${opts.basicAuth.password}`] : []),
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn(binary, ['-d', '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', () => child.kill('SIGKILL'));
  const deadline = Date.now() + 10_000;
  while (!(await listening(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`tinyproxy did not start: ${stderr}`);
    }
    await sleep(50);
  }
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    log: () => {
      try {
        return readFileSync(logFile, 'utf8');
      } catch {
        return '';
      }
    },
    stop,
  };
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
