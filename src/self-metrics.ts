/**
 * The exporter's own counters, recorded on a meter the user passes (`meter` option) as
 * asynchronous instruments that read `DeliveryStats` at each collection. In Prometheus they read
 * `prometheus_remote_write_samples_sent_total`, `…_samples_dropped_total{reason="…"}`, and so on.
 */
import type { Meter, ObservableResult } from '@opentelemetry/api';
import { DROP_REASONS, type DeliveryStats } from './deliver/stats.js';

export function recordSelfMetrics(meter: Meter, read: () => DeliveryStats): void {
  const counter = (
    name: string,
    description: string,
    unit: string,
    observe: (result: ObservableResult, stats: DeliveryStats) => void,
  ): void => {
    meter
      .createObservableCounter(`prometheus_remote_write.${name}`, { description, unit })
      .addCallback((result) => observe(result, read()));
  };
  counter('samples.sent', 'Samples and native histograms the receiver accepted', '{sample}', (r, s) =>
    r.observe(s.samplesSent),
  );
  counter(
    'samples.failed',
    'Samples in request attempts that failed (each attempt counts)',
    '{sample}',
    (r, s) => r.observe(s.samplesFailed),
  );
  counter('samples.retried', 'Samples sent again after a failed attempt', '{sample}', (r, s) =>
    r.observe(s.samplesRetried),
  );
  counter('samples.dropped', 'Samples given up on, by reason', '{sample}', (r, s) => {
    for (const reason of DROP_REASONS) r.observe(s.samplesDropped[reason], { reason });
  });
  counter(
    'samples.spooled',
    'Samples written to the spool directory for the next process',
    '{sample}',
    (r, s) => r.observe(s.samplesSpooled),
  );
  counter(
    'attributes.dropped',
    'Attribute keys left out of labels: nothing valid was left of them as a label name',
    '{attribute}',
    (r, s) => r.observe(s.attributesDropped),
  );
  counter('requests.sent', 'HTTP requests made, retries included', '{request}', (r, s) =>
    r.observe(s.requestsSent),
  );
  counter('requests.failed', 'HTTP requests that got no 2xx answer', '{request}', (r, s) =>
    r.observe(s.requestsFailed),
  );
  meter
    .createObservableUpDownCounter('prometheus_remote_write.samples.pending', {
      description: 'Samples waiting in the queue or in flight',
      unit: '{sample}',
    })
    .addCallback((r) => r.observe(read().samplesPending));
}
