/**
 * Delivery against a real Prometheus 2.42: an outage in the middle of a run, and a cron job
 * whose endpoint was down, across two processes with a disk spool.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { PrometheusRemoteWriteExporter } from '../src/index.js';
import { exportOnce, point, resourceMetrics, sum } from './helpers/otel.js';
import { freePort, receiverOrSkip, startPrometheus } from './helpers/receivers.js';

const { skip } = receiverOrSkip('prometheus');

describe('end to end: delivery through a Prometheus outage', { skip }, () => {
  it('Prometheus stopped mid-run and restarted on the same data dir: no sample recorded during the outage is missing', async () => {
    const port = await freePort();
    let prometheus = await startPrometheus({ port });
    const dataDir = prometheus.dataDir;
    const exporter = new PrometheusRemoteWriteExporter({
      url: prometheus.writeUrl,
      minBackoffMillis: 50,
      maxBackoffMillis: 400,
      withoutTargetInfo: true,
    });
    const t0 = Date.now() - 60_000;
    const results: Promise<ExportResult>[] = [];
    const exports = 24;
    try {
      for (let k = 1; k <= exports; k++) {
        const rm = resourceMetrics(
          [sum({ name: 'outage.ticks' }, [point(k, { run: 'a' }, t0 + k * 1000, t0)])],
          {
            'service.name': 'outage',
          },
        );
        results.push(exportOnce(exporter, rm));
        if (k === 6) await prometheus.stop({ removeData: false });
        if (k === 16) prometheus = await startPrometheus({ port, dataDir });
        await sleep(100);
      }
      const all = await Promise.all(results);
      assert.deepEqual(
        all.map((r) => r.code),
        all.map(() => ExportResultCode.SUCCESS),
      );
      const stats = exporter.stats();
      assert.ok(stats.requestsFailed > 0, 'the outage was felt');
      assert.equal(stats.samplesSent, exports);
      const at = (t0 + exports * 1000) / 1000;
      const count = await prometheus.query('count_over_time(outage_ticks_total[2m])', at);
      const total = await prometheus.query('sum_over_time(outage_ticks_total[2m])', at);
      assert.equal(count[0]?.value[1], String(exports));
      assert.equal(total[0]?.value[1], String((exports * (exports + 1)) / 2));
    } finally {
      await exporter.shutdown();
      await prometheus.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('a cron run whose endpoint was down spools; the next run sends it first; every sample is in Prometheus', async () => {
    const spoolDir = mkdtempSync(join(tmpdir(), 'rw-spool-e2e-'));
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/api/v1/write`;
    const child = fileURLToPath(new URL('./fixtures/spool-child.ts', import.meta.url));
    const t0 = Date.now() - 30_000;
    try {
      // Run 1: nothing listens on the port.
      const first = await runChild(child, [`${t0},${t0 + 1000},${t0 + 2000}`, 'first'], {
        PRW_URL: url,
        SPOOL_DIR: spoolDir,
      });
      assert.equal(first.code, 0, first.stderr);
      const stats1 = JSON.parse(first.stdout.trim().split('\n').pop()!) as {
        samplesSpooled: number;
        samplesSent: number;
      };
      assert.deepEqual([stats1.samplesSent, stats1.samplesSpooled], [0, 3]);
      assert.ok(readdirSync(spoolDir).length > 0);

      const prometheus = await startPrometheus({ port });
      try {
        const second = await runChild(child, [`${t0 + 10_000}`, 'second'], {
          PRW_URL: url,
          SPOOL_DIR: spoolDir,
        });
        assert.equal(second.code, 0, second.stderr);
        const stats2 = JSON.parse(second.stdout.trim().split('\n').pop()!) as { samplesSent: number };
        assert.equal(stats2.samplesSent, 4, 'three spooled samples and its own');
        assert.deepEqual(readdirSync(spoolDir), [], 'spool emptied');
        const at = (t0 + 11_000) / 1000;
        const count = await prometheus.query('count_over_time(spooled_jobs_total{run="first"}[1m])', at);
        const last = await prometheus.query('last_over_time(spooled_jobs_total{run="first"}[1m])', at);
        const own = await prometheus.query('spooled_jobs_total{run="second"}', at);
        assert.equal(count[0]?.value[1], '3');
        assert.equal(last[0]?.value[1], '30');
        assert.equal(own[0]?.value[1], '10');
      } finally {
        await prometheus.stop();
      }
    } finally {
      rmSync(spoolDir, { recursive: true, force: true });
    }
  });
});

function runChild(
  file: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', file, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), 30_000);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
