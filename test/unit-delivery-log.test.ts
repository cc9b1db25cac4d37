/** What delivery says through diag: one summary per export, one recovery line, one backlog line. */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { diag, DiagLogLevel } from '@opentelemetry/api';
import { BACKLOG_WARN_AFTER_MS, DeliveryLog } from '../src/deliver/delivery-log.js';

let lines: string[] = [];
beforeEach(() => {
  lines = [];
  diag.setLogger(
    {
      error: (m) => void lines.push(`error: ${m}`),
      warn: (m) => void lines.push(`warn: ${m}`),
      info: () => {},
      debug: () => {},
      verbose: () => {},
    },
    { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
  );
});
afterEach(() => diag.disable());

const idle = { requests: 0, samples: 0, oldestMs: undefined };

describe('DeliveryLog', () => {
  it('an outage of many failed attempts is one line per export, then one recovery line', () => {
    let now = 1000;
    const log = new DeliveryLog(() => now);
    for (let i = 0; i < 500; i++) {
      log.failedAttempt(new Error(`connect ECONNREFUSED ${i}`));
      log.retried(2000);
    }
    log.spooled(6000, '/spool');
    assert.deepEqual(lines, [], 'nothing until the export says it');
    log.tick(idle);
    assert.equal(lines.length, 1);
    assert.match(
      lines[0]!,
      /^warn: .*500 attempts failed \(last: connect ECONNREFUSED 499\); 1000000 samples retried; 6000 samples kept in \/spool$/,
    );
    log.tick(idle);
    assert.equal(lines.length, 1, 'a quiet interval says nothing');
    now = 4500;
    log.delivered();
    log.delivered();
    assert.equal(lines.length, 2);
    assert.match(lines[1]!, /^warn: .*delivery recovered after 3\.5 s \(500 failed attempts\)$/);
  });

  it('drops are an error line with reasons and the first refusal verbatim', () => {
    const log = new DeliveryLog(() => 0);
    log.drop('rejected', 4, 'HTTP 400 Bad Request: out of order sample');
    log.drop('rejected', 6, 'HTTP 400 Bad Request: duplicate sample');
    log.drop('queue_full', 100);
    log.tick(idle);
    assert.deepEqual(lines, [
      'error: prometheus remote write: since the last export, 110 samples dropped (rejected 10, queue_full 100): HTTP 400 Bad Request: out of order sample and 1 more',
    ]);
  });

  it('a backlog older than 10 s is warned once, and again only after it cleared', () => {
    let now = 0;
    const log = new DeliveryLog(() => now);
    const waiting = { requests: 12, samples: 24_000, oldestMs: 0 };
    now = BACKLOG_WARN_AFTER_MS - 1;
    log.tick(waiting);
    assert.equal(lines.length, 0);
    now = BACKLOG_WARN_AFTER_MS;
    log.tick(waiting);
    now += 5000;
    log.tick(waiting);
    assert.equal(lines.length, 1);
    assert.match(
      lines[0]!,
      /delivery is behind: 12 requests \(24000 samples\) waiting, the oldest for 10\.0 s/,
    );
    log.tick(idle);
    now += BACKLOG_WARN_AFTER_MS;
    log.tick({ ...waiting, oldestMs: now - BACKLOG_WARN_AFTER_MS });
    assert.equal(lines.length, 2);
  });
});
