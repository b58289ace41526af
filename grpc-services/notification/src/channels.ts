import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import nodemailer from 'nodemailer';
import twilio from 'twilio';
import type TwilioRequestClient from 'twilio/lib/base/RequestClient';
import type TwilioResponse from 'twilio/lib/http/response';
import type { TwilioConfig } from './config';

/** An email to send. */
export interface Email {
  to: string;
  subject: string;
  text: string;
  html: string;
  /** Stable Message-ID, so a resend after a crash is recognisable as the same message. */
  messageId: string;
}

/** Sends email; resolves once the mail server accepted the message. */
export interface EmailSender {
  send(email: Email): Promise<void>;
  close(): void;
}

/** Sends SMS; resolves once the provider accepted the message. */
export interface SmsSender {
  send(sms: { to: string; body: string }): Promise<{ providerId: string }>;
}

/**
 * An {@link EmailSender} over SMTP with nodemailer. Each send is a client span (OpenTelemetry has
 * no nodemailer instrumentation) naming the server, never the recipient or the content.
 */
export function createSmtpEmailSender(options: { url: string; from: string }): EmailSender {
  const transport = nodemailer.createTransport(options.url);
  const server = new URL(options.url);
  const tracer = trace.getTracer('shop-notification-email');
  return {
    send(email) {
      return tracer.startActiveSpan(
        'smtp send',
        {
          kind: SpanKind.CLIENT,
          attributes: {
            'network.protocol.name': 'smtp',
            'server.address': server.hostname,
            'server.port': Number(server.port || 25),
          },
        },
        async (span) => {
          try {
            await transport.sendMail({
              from: options.from,
              to: email.to,
              subject: email.subject,
              text: email.text,
              html: email.html,
              messageId: email.messageId,
            });
          } catch (err) {
            span.recordException(err as Error);
            span.setStatus({ code: SpanStatusCode.ERROR });
            throw err;
          } finally {
            span.end();
          }
        },
      );
    },
    close: () => transport.close(),
  };
}

/**
 * Twilio's HTTP client with every request sent to another base URL. The SDK's supported hook
 * for this is the `httpClient` option (a RequestClient); hostnames are otherwise fixed to
 * *.twilio.com, with only region/edge selectable.
 */
export class BaseUrlRequestClient extends twilio.RequestClient {
  constructor(private readonly base: URL) {
    super();
  }

  override request<TData>(
    opts: TwilioRequestClient.RequestOptions<TData>,
  ): Promise<TwilioResponse<TData>> {
    const uri = new URL(opts.uri);
    uri.protocol = this.base.protocol;
    uri.host = this.base.host;
    return super.request<TData>({ ...opts, uri: uri.toString() });
  }
}

/** An {@link SmsSender} over Twilio's Messages API with the official SDK. */
export function createTwilioSmsSender(config: TwilioConfig): SmsSender {
  const client = twilio(config.accountSid, config.authToken, {
    ...(config.apiBase ? { httpClient: new BaseUrlRequestClient(new URL(config.apiBase)) } : {}),
  });
  return {
    async send(sms) {
      const message = await client.messages.create({
        to: sms.to,
        from: config.from,
        body: sms.body,
      });
      return { providerId: message.sid };
    },
  };
}
