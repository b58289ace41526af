/**
 * `@shop/platform/envelopes`: reading the payload of an event envelope, without kafkajs (the
 * gateway's subscription declarations decode events they are handed).
 */
import type { events, MessageType } from '@shop/proto';

type EventEnvelope = events.EventEnvelope;

/** The prefix of a payload's `google.protobuf.Any` type URL. */
export const TYPE_URL_PREFIX = 'type.googleapis.com/';

/** Unpacks an event's payload, checking its type; a mismatch or bad bytes is a poison message. */
export function unpackPayload<T>(envelope: EventEnvelope, type: MessageType<T>): T {
  const typeUrl = envelope.payload?.typeUrl ?? '';
  if (typeUrl !== TYPE_URL_PREFIX + type.$type) {
    throw new PoisonMessageError(`expected payload ${type.$type}, got "${typeUrl}"`);
  }
  try {
    return type.decode(envelope.payload!.value);
  } catch (err) {
    throw new PoisonMessageError(`undecodable ${type.$type}: ${(err as Error).message}`);
  }
}

/** A message that can never be processed (undecodable, wrong shape): dead-lettered at once. */
export class PoisonMessageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PoisonMessageError';
  }
}
