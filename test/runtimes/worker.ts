/**
 * The Worker of the workerd test (runtimes.test.ts): `/push?run=…` does what Bun and Deno do
 * (push.ts) and answers with the report; every other path is the example Worker
 * (examples/worker/worker.ts), which records and flushes with `ctx.waitUntil`.
 */
import example from '../../examples/worker/worker.js';
import {
  InvalidOptionError,
  PrometheusRemoteWriteExporter,
  RemoteWriteClient,
} from 'opentelemetry-exporter-prometheus-remote-write';
import { push } from './push.js';

interface Env {
  RW_URL: string;
}

export default {
  async fetch(request: Request, env: Env, ctx: { waitUntil(p: Promise<unknown>): void }): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === '/push') {
      try {
        const report = await push(env.RW_URL, 'workerd', url.searchParams.get('run') ?? 'none');
        return Response.json(report);
      } catch (err) {
        const chain: string[] = [];
        for (let e: unknown = err; e instanceof Error && chain.length < 5; e = e.cause)
          chain.push(e.stack ?? e.message);
        return new Response(chain.join('\ncaused by: '), { status: 500 });
      }
    }
    if (url.pathname === '/refused') return Response.json(refusals(env.RW_URL));
    return example.fetch(request, env, ctx);
  },
};

/** What the Workers build says of the options it cannot honour: each error's name and message. */
function refusals(url: string): string[] {
  const attempts: Array<() => unknown> = [
    () => new PrometheusRemoteWriteExporter({ url, spoolDir: '/tmp/spool' }),
    () => new PrometheusRemoteWriteExporter({ url, proxy: 'http://127.0.0.1:3128' }),
    () =>
      new PrometheusRemoteWriteExporter({
        url: 'https://127.0.0.1/api/v1/write',
        tls: { caFile: '/ca.pem' },
      }),
    () => new RemoteWriteClient({ url, stateFile: '/tmp/state.json' }),
  ];
  return attempts.map((attempt) => {
    try {
      attempt();
      return 'accepted';
    } catch (err) {
      const e = err as Error;
      return `${e instanceof InvalidOptionError ? 'InvalidOptionError' : e.name}: ${e.message}`;
    }
  });
}
