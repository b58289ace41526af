import { context } from '@opentelemetry/api';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { quietLogger, waitFor } from '@shop/testing';
import {
  contextOfTraceParent,
  startOutboxRelay,
  type EventPublisher,
  type OutboxRelay,
  type OutgoingEvent,
} from '../src';

// The relay over an in-memory outbox and a publisher of our own interface that records what it
// was asked to send (and fails on demand): the relay's own rules, without a broker. The services
// using it (order, inventory, product, category) test it against the real Kafka and store.

interface Row {
  id: string;
  at: Date;
  published: boolean;
}

const TRACE_A = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
const TRACE_B = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

function outbox() {
  const rows = new Map<string, Row>();
  return {
    rows,
    write(id: string, at = new Date()): Row {
      const row = { id, at, published: false };
      rows.set(id, row);
      return row;
    },
    source: {
      pending: (before: Date, limit: number) =>
        Promise.resolve(
          [...rows.values()]
            .filter((r) => !r.published && r.at < before)
            .sort((a, b) => a.at.getTime() - b.at.getTime())
            .slice(0, limit),
        ),
      markPublished(items: readonly Row[]) {
        for (const item of items) rows.get(item.id)!.published = true;
        return Promise.resolve();
      },
    },
  };
}

function recordingPublisher(state: { failing: boolean; sent: OutgoingEvent[][] }): EventPublisher {
  return {
    publish(_topic, events) {
      if (state.failing) return Promise.reject(new Error('broker away'));
      state.sent.push([...events]);
      return Promise.resolve([]);
    },
    disconnect: () => Promise.resolve(),
  };
}

const event = (row: Row): OutgoingEvent => ({
  eventId: row.id,
  eventType: 'test.Changed',
  payload: new Uint8Array(),
  aggregateType: 'test',
  aggregateId: row.id,
});

describe('outbox relay', () => {
  let relay: OutboxRelay<Row> | undefined;
  beforeAll(() => {
    // A context manager, so the active trace follows async calls as in a traced process.
    new NodeTracerProvider().register();
  });
  afterEach(async () => {
    await relay?.stop();
    relay = undefined;
  });

  it('publishes on write, each event under the trace that was active when it was written', async () => {
    const box = outbox();
    const state = { failing: false, sent: [] as OutgoingEvent[][] };
    relay = startOutboxRelay({
      name: 'test',
      source: box.source,
      publisher: recordingPublisher(state),
      topic: 't',
      events: (row) => [event(row)],
      key: (row) => row.id,
      pendingSince: (row) => row.at,
      intervalMs: 60_000,
      logger: quietLogger,
    });
    const a = box.write('a');
    const b = box.write('b');
    context.with(contextOfTraceParent(TRACE_A), () => relay!.publishSoon([a]));
    context.with(contextOfTraceParent(TRACE_B), () => relay!.publishSoon([b]));
    await waitFor('both published', () => (a.published && b.published ? true : undefined));
    const traces = new Map(state.sent.flat().map((e) => [e.eventId, e.traceParent]));
    expect(traces).toEqual(
      new Map([
        ['a', TRACE_A],
        ['b', TRACE_B],
      ]),
    );
  });

  it('reconnects after a failed send and republishes from the scan what the fast path left', async () => {
    const box = outbox();
    const state = { failing: true, sent: [] as OutgoingEvent[][] };
    let connections = 0;
    relay = startOutboxRelay({
      name: 'test',
      source: box.source,
      publisher: () => {
        connections += 1;
        return Promise.resolve(recordingPublisher(state));
      },
      topic: 't',
      events: (row) => [event(row)],
      key: (row) => row.id,
      pendingSince: (row) => row.at,
      intervalMs: 20,
      graceMs: 10,
      logger: quietLogger,
    });
    const row = box.write('c');
    relay.publishSoon([row]);
    await waitFor('a failed attempt', () => (connections >= 1 ? true : undefined));
    await new Promise((r) => setTimeout(r, 100));
    expect(row.published).toBe(false);
    state.failing = false;
    await waitFor('published by the scan', () => (row.published ? true : undefined));
    expect(connections).toBeGreaterThan(1);
    expect(state.sent.flat().map((e) => e.eventId)).toContain('c');
  });
});
