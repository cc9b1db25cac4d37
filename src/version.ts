/** The package version, sent in User-Agent. A test keeps it equal to package.json. */
export const VERSION = '0.1.0';
export const USER_AGENT = `opentelemetry-exporter-prometheus-remote-write/${VERSION}`;
