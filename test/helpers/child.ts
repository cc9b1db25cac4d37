/**
 * Runs node on a script in a child process, with the runner's environment less the variables that
 * could configure what is tested, and collects its output. Killed after `timeoutMs`.
 */
import { spawn } from 'node:child_process';

export interface ChildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function runNode(
  args: readonly string[],
  options: {
    /** Added to the environment, after `drop` is applied. */
    env?: Record<string, string>;
    /** Variables of the runner's environment left out. */
    drop?: RegExp;
    timeoutMs?: number;
  } = {},
): Promise<ChildRun> {
  const { env = {}, drop, timeoutMs = 30_000 } = options;
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !drop?.test(k)));
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, args, { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const killer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('error', reject);
    p.on('exit', (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}
