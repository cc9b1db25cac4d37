/**
 * `npm run example`: starts a throwaway Prometheus on a free loopback port (needs the
 * `prometheus` binary: apt-get install prometheus), runs examples/quickstart.ts against it,
 * then reads the pushed series back with PromQL and stops Prometheus.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { findBinary, startPrometheus } from '../test/helpers/receivers.js';

if (!findBinary('prometheus')) {
  console.error(
    'The prometheus binary is not installed. On Debian/Ubuntu: apt-get install -y --no-install-recommends prometheus',
  );
  process.exit(1);
}

const prometheus = await startPrometheus();
try {
  console.log(`throwaway Prometheus at ${prometheus.baseUrl} (data in ${prometheus.dataDir})`);
  const quickstart = fileURLToPath(new URL('./quickstart.ts', import.meta.url));
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', quickstart], {
      env: { ...process.env, PRW_URL: prometheus.writeUrl },
      stdio: 'inherit',
    });
    child.on('exit', resolve);
  });
  if (code !== 0) throw new Error(`quickstart exited with ${code}`);

  console.log('\nRead back from Prometheus:');
  let missing = 0;
  for (const promql of [
    'sum by (job, instance) (billing_orders_total)',
    'billing_orders_total',
    'billing_queue_depth',
    'histogram_quantile(0.9, billing_job_duration_seconds_bucket)',
    'billing_job_duration_seconds_count',
    'target_info',
  ]) {
    const result = await prometheus.query(promql);
    if (result.length === 0) missing++;
    console.log(`\n> ${promql}`);
    for (const s of result) console.log(`  ${JSON.stringify(s.metric)} = ${s.value[1]}`);
  }
  if (missing > 0) throw new Error(`${missing} queries returned nothing`);
} finally {
  await prometheus.stop();
}
