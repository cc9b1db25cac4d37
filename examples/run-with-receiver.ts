/**
 * `npm run example`: starts the package's own receiver (what `prw receive` runs) on a free
 * loopback port, runs examples/seed.ts against it, and prints both sides: what the client
 * printed with `debug: true`, and what the receiver decoded from the requests it got.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startDebugReceiver } from 'opentelemetry-exporter-prometheus-remote-write';

let received = '';
const receiver = await startDebugReceiver({ onRequest: (text) => (received += text) });
try {
  const seed = fileURLToPath(new URL('./seed.ts', import.meta.url));
  const { code, stdout } = await new Promise<{ code: number | null; stdout: string }>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', seed], {
      env: { ...process.env, PRW_URL: receiver.url },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (exitCode) => resolve({ code: exitCode, stdout: out }));
  });
  if (code !== 0) throw new Error(`examples/seed.ts exited with ${code}`);

  console.log(`=== examples/seed.ts (debug: true), pushing to ${receiver.url}\n`);
  process.stdout.write(stdout);
  console.log(`=== the receiver (prw receive) decoded ${receiver.received} requests\n`);
  process.stdout.write(received);
  if (received !== stdout) throw new Error('the receiver decoded something else than the client sent');
  console.log('=== both sides match');
} finally {
  await receiver.close();
}
