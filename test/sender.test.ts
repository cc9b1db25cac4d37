import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Sender } from '../src/deliver/sender.js';
import { snappyCompress } from '../src/wire/snappy.js';
import { startMockReceiver, type MockReceiver } from './helpers/mock-receiver.js';

let receiver: MockReceiver;
before(async () => {
  receiver = await startMockReceiver();
});
after(async () => {
  await receiver.close();
});

describe('Sender', () => {
  it('the protocol headers win over any user header of the same name, in any case', async () => {
    const sender = new Sender({
      url: new URL(receiver.url),
      headers: {
        'content-type': 'text/plain',
        'CONTENT-ENCODING': 'gzip',
        'x-prometheus-remote-write-version': '2.0.0',
        'user-agent': 'spoof',
        'X-Tenant': 't1',
      },
      userAgent: 'ua/1',
      timeoutMillis: 5000,
    });
    const answer = await sender.attempt(snappyCompress(Buffer.alloc(0)), 'v1', 0);
    assert.ok(!(answer instanceof Error) && answer.status === 204);
    sender.close();
    const raw = receiver.requests[0]!.headers;
    assert.equal(raw['content-type'], 'application/x-protobuf');
    assert.equal(raw['content-encoding'], 'snappy');
    assert.equal(raw['x-prometheus-remote-write-version'], '0.1.0');
    assert.equal(raw['user-agent'], 'ua/1');
    assert.equal(raw['x-tenant'], 't1');
  });
});
