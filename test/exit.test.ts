import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { exitLine } from '../src/exit.js';
import { labelsOf, seriesNamed, startMockReceiver, type MockReceiver } from './helpers/mock-receiver.js';

const child = fileURLToPath(new URL('./fixtures/exit-child.ts', import.meta.url));

let receiver: MockReceiver;
before(async () => {
  receiver = await startMockReceiver();
});
after(async () => {
  await receiver.close();
});

function run(
  mode: string,
  signal?: NodeJS.Signals,
  env: Record<string, string> = {},
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', child, mode], {
      env: { ...process.env, PRW_URL: receiver.url, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.stdout.on('data', (d: Buffer) => {
      if (signal && d.toString().includes('ready')) p.kill(signal);
    });
    const killer = setTimeout(() => p.kill('SIGKILL'), 20_000);
    p.on('error', reject);
    p.on('exit', (code, sig) => {
      clearTimeout(killer);
      resolve({ code, signal: sig, stderr });
    });
  });
}

function runsPushedFor(mode: string): number[] {
  return seriesNamed(receiver.requests, 'cron_runs_total')
    .filter((s) => labelsOf(s)['mode'] === mode)
    .map((s) => s.samples[0]!.value);
}

describe('flushOnExit', () => {
  it('flushes when the program runs out of work, keeping its exit code', async () => {
    const result = await run('natural');
    assert.equal(result.code, 3, result.stderr);
    assert.deepEqual(runsPushedFor('natural'), [42]);
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`flushes on ${signal}, then ends by that signal`, async () => {
      const result = await run(signal, signal);
      assert.equal(result.signal, signal, result.stderr);
      assert.deepEqual(runsPushedFor(signal), [42]);
    });
  }

  it('gives up after its timeout when the receiver never answers, and still ends by the signal', async () => {
    receiver.answers.push({ status: 204, hang: true });
    const started = Date.now();
    const result = await run('hang', 'SIGTERM', { FLUSH_TIMEOUT_MS: '500' });
    const took = Date.now() - started;
    assert.equal(result.signal, 'SIGTERM', result.stderr);
    // The exporter's own request timeout is 10 s: only the flush timeout can end it this soon.
    assert.ok(took < 5000, `took ${took} ms`);
    assert.equal(runsPushedFor('hang').length, 1, 'the request was made');
  });
});

describe('the at-exit line', () => {
  it('says what was lost by reason and what is left in which spool, or nothing at all', () => {
    assert.equal(exitLine(new Map([['rejected', 0]]), new Map()), undefined);
    assert.equal(
      exitLine(
        new Map([
          ['retries_exhausted', 30],
          ['rejected', 4],
        ]),
        new Map([['/var/spool/prw', 1240]]),
      ),
      'prometheus remote write at exit: 34 samples were lost during this run (retries_exhausted 30, rejected 4); ' +
        '1240 samples are kept in /var/spool/prw and will be sent by the next process started with this spoolDir',
    );
  });
});
