/**
 * The exporter's own counters. "Samples" counts float samples and native histograms alike.
 * Plain numbers: readable with `exporter.stats()`, and recorded through the OTel API only if the
 * user passes a meter (self-metrics.ts), so this file stays free of OTel.
 */

/** Why samples were given up on. */
export const DROP_REASONS = [
  /** A 4xx other than 429: the receiver refused the request; re-sending would not help. */
  'rejected',
  /** Still failing (5xx, 429, network, timeout) when the retry budget was spent. */
  'retries_exhausted',
  /** The queue was over `maxQueueBytes` (or `queueCapacity`) with no spool: the oldest waiting requests went first. */
  'queue_full',
  /** Not delivered when `shutdown()` had to end (or pushed after it began), and no `spoolDir` to keep them. */
  'shutdown',
  /** The receiver's `X-Prometheus-Remote-Write-*-Written` said it wrote fewer than were sent. */
  'partial_write',
  /** Spooled requests removed to keep `spoolDir` under `spoolMaxBytes`. */
  'spool_full',
  /** Spooled requests older than `spoolMaxAgeMillis`. */
  'spool_expired',
  /** Spool files that could not be read back (moved aside as `*.corrupt`). */
  'spool_corrupt',
  /** The exporter could not encode or spool them (a bug or a full disk; logged). */
  'internal',
  /** Data points that could not be read (a value that is not a number, inconsistent buckets…), one per point. */
  'malformed',
  /** Points Prometheus cannot take: exponential scale below −4 or no sum, a name with nothing valid, one name for two types. */
  'unsupported',
  /** A second sample for one series in one export (attribute sets or metrics that map to the same labels). */
  'duplicate_series',
] as const;
export type DropReason = (typeof DROP_REASONS)[number];

export interface DeliveryStats {
  /** Samples in requests the receiver accepted (2xx). */
  samplesSent: number;
  /** Samples in request attempts that failed, whatever happened next (each attempt counts). */
  samplesFailed: number;
  /** Samples sent again after a failed attempt. */
  samplesRetried: number;
  /** Samples given up on, by reason. */
  samplesDropped: Record<DropReason, number>;
  /** Samples written to `spoolDir` (each write counted), to survive a crash or the end of the process. */
  samplesSpooled: number;
  /** Samples in spool files now, this process' and earlier runs' (deleted once delivered). */
  samplesInSpool: number;
  /** Samples waiting in the queue or in flight now (in memory or in the spool). */
  samplesPending: number;
  /** Compressed bytes of the requests held in memory now (bounded by `maxQueueBytes`). */
  bytesInMemory: number;
  /** HTTP requests made, retries included. */
  requestsSent: number;
  /** HTTP requests that did not get a 2xx. */
  requestsFailed: number;
  /**
   * Attribute keys left out of labels because nothing valid was left of the key as a label name
   * (or its value could not be written), counted each time labels are made from them: a point's
   * once per new series, the resource's and a scope's at every export.
   */
  attributesDropped: number;
}

export function emptyStats(): DeliveryStats {
  return {
    samplesSent: 0,
    samplesFailed: 0,
    samplesRetried: 0,
    samplesDropped: Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<DropReason, number>,
    samplesSpooled: 0,
    samplesInSpool: 0,
    samplesPending: 0,
    bytesInMemory: 0,
    requestsSent: 0,
    requestsFailed: 0,
    attributesDropped: 0,
  };
}

export function copyStats(stats: DeliveryStats): DeliveryStats {
  return { ...stats, samplesDropped: { ...stats.samplesDropped } };
}
