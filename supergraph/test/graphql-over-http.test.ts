import { serverAudits } from 'graphql-http';
import { startStack, type Stack } from './harness';

// The GraphQL over HTTP specification, checked by graphql-http's audit suite against the real
// gateway: every MUST and every SHOULD. (The MAYs are left out: GET with variables and
// form-encoded GET are optional, and the gateway takes operations by POST.)

let stack: Stack | undefined;
beforeAll(async () => {
  stack = await startStack('http-audit');
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

describe('GraphQL over HTTP', () => {
  const audits = serverAudits({ url: () => stack!.gatewayUrl }).filter(
    (audit) => !audit.name.startsWith('MAY '),
  );
  it.each(audits.map((audit) => [audit.name, audit]))('%s', async (_name, audit) => {
    const result = await audit.fn();
    // The reason is part of the comparison, so a failure says what the server did.
    expect({ status: result.status, reason: 'reason' in result ? result.reason : '' }).toEqual({
      status: 'ok',
      reason: '',
    });
  });
});
