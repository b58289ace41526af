import { randomUUID } from 'node:crypto';
import nodemailer from 'nodemailer';
import { ensureInfra } from '../src';

interface MessageSummary {
  ID: string;
  Subject: string;
  To: Array<{ Address: string }>;
}

let smtpUrl = '';
let apiUrl = '';

beforeAll(async () => {
  ({ smtpUrl, mailpitApiUrl: apiUrl } = await ensureInfra({ only: ['mailpit'] }));
}, 600_000);

async function search(query: string): Promise<MessageSummary[]> {
  const response = await fetch(`${apiUrl}/api/v1/search?query=${encodeURIComponent(query)}`);
  expect(response.status).toBe(200);
  return ((await response.json()) as { messages: MessageSummary[] }).messages;
}

describe('Mailpit', () => {
  it('catches mail sent over SMTP and serves it on its REST API', async () => {
    const subject = `Order confirmed ${randomUUID()}`;
    const transport = nodemailer.createTransport(smtpUrl);
    await transport.sendMail({
      from: 'shop@shop.local',
      to: 'alice@shop.local',
      subject,
      text: 'Your order is confirmed.',
    });
    transport.close();

    const found = await search(`subject:"${subject}"`);
    expect(found).toHaveLength(1);
    expect(found[0]?.To.map((to) => to.Address)).toEqual(['alice@shop.local']);

    const list = (await (await fetch(`${apiUrl}/api/v1/messages?limit=50`)).json()) as {
      messages: MessageSummary[];
    };
    expect(list.messages.map((message) => message.Subject)).toContain(subject);

    const body = (await (await fetch(`${apiUrl}/api/v1/message/${found[0]?.ID ?? ''}`)).json()) as {
      Text: string;
    };
    expect(body.Text).toContain('Your order is confirmed.');
  });

  it('accepts SMTP credentials on plain loopback SMTP', async () => {
    const subject = `Authenticated ${randomUUID()}`;
    const transport = nodemailer.createTransport({
      ...smtpOptions(smtpUrl),
      auth: { user: 'any', pass: 'any' },
    });
    await transport.sendMail({
      from: 'shop@shop.local',
      to: 'bob@shop.local',
      subject,
      text: 'hello',
    });
    transport.close();
    expect(await search(`subject:"${subject}"`)).toHaveLength(1);
  });
});

function smtpOptions(url: string): { host: string; port: number; secure: false } {
  const parsed = new URL(url);
  return { host: parsed.hostname, port: Number(parsed.port), secure: false };
}
