/**
 * A Cloudflare Worker that records metrics while it handles requests and pushes them with
 * remote write at the end of each request, after the response has gone out.
 *
 * A Worker has no process that lives on and no timer between requests, so nothing exports on
 * its own: each request (or scheduled event) flushes what it recorded, in `ctx.waitUntil`, which
 * keeps the Worker running until the push is done (retries included) without delaying the
 * response. The MeterProvider is made at the first request (timers cannot start at global scope)
 * and kept for the isolate's life, so counters keep adding up across requests.
 *
 * Run it with workerd (config.capnp beside this file, after bundling: see README.md) or wrangler
 * (wrangler.toml); it needs the `nodejs_compat` compatibility flag.
 */
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { PrometheusRemoteWriteExporter } from 'opentelemetry-exporter-prometheus-remote-write';

interface Env {
  /** The remote-write endpoint, e.g. https://prometheus.example/api/v1/write. */
  RW_URL: string;
}

interface ExecutionContext {
  waitUntil(promise: Promise<unknown>): void;
}

let provider: MeterProvider | undefined;

function metrics(env: Env): MeterProvider {
  provider ??= new MeterProvider({
    readers: [
      new PeriodicExportingMetricReader({
        exporter: new PrometheusRemoteWriteExporter({ url: env.RW_URL, maxBackoffMillis: 1000 }),
        // Never fires in a Worker between requests; the flush below does the pushing.
        exportIntervalMillis: 3_600_000,
      }),
    ],
  });
  return provider;
}

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    const meter = metrics(env).getMeter('worker-example');
    const started = Date.now();
    const path = new URL(request.url).pathname;
    const response = new Response(`hello from ${path}\n`);
    meter.createCounter('worker.requests', { description: 'Requests handled' }).add(1, { path });
    meter.createHistogram('worker.duration', { unit: 's' }).record((Date.now() - started) / 1000, { path });
    // After the response: push what this request recorded (the exporter retries within this).
    ctx.waitUntil(metrics(env).forceFlush());
    return response;
  },

  async scheduled(_event: unknown, env: Env, ctx: ExecutionContext): Promise<void> {
    metrics(env).getMeter('worker-example').createCounter('worker.scheduled_runs').add(1);
    ctx.waitUntil(metrics(env).forceFlush());
  },
};
