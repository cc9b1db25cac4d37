/** OTel `HrTime` ([seconds, nanoseconds]) → milliseconds, truncated (RW1 timestamps are ms). */
export function hrTimeToMillis(time: readonly [number, number]): number {
  return time[0] * 1000 + Math.floor(time[1] / 1e6);
}
