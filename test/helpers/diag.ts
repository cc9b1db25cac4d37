/** Captures what the exporter says through `diag` at warning level and above. */
import { diag, DiagLogLevel } from '@opentelemetry/api';

export function captureWarnings(): { warnings: string[]; stop: () => void } {
  const warnings: string[] = [];
  diag.setLogger(
    {
      error: (m) => warnings.push(m),
      warn: (m) => warnings.push(m),
      info: () => {},
      debug: () => {},
      verbose: () => {},
    },
    { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
  );
  return { warnings, stop: () => diag.disable() };
}
