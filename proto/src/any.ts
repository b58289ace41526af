import type { Any } from '../generated/google/protobuf/any';

const TYPE_URL_PREFIX = 'type.googleapis.com/';

/** A generated message type: its fully-qualified name plus binary codec. */
export interface MessageType<T, Name extends string = string> {
  readonly $type: Name;
  encode(message: T): { finish(): Uint8Array };
  decode(input: Uint8Array): T;
}

/** Packs a message into `google.protobuf.Any` under its canonical type URL. */
export function packAny<T>(type: MessageType<T>, message: T): Any {
  const bytes = type.encode(message).finish();
  // Generated code is built with env=node, so `bytes` fields are Buffers (a view, not a copy).
  return {
    typeUrl: TYPE_URL_PREFIX + type.$type,
    value: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
  };
}

/** Fully-qualified message name of a packed value, e.g. "shop.order.v1.OrderCreated". */
export function anyTypeName(any: Pick<Any, 'typeUrl'>): string {
  return any.typeUrl.slice(any.typeUrl.lastIndexOf('/') + 1);
}

/** Unpacks `any` as `type`, or returns undefined when it holds another type. */
export function unpackAny<T>(type: MessageType<T>, any: Any): T | undefined {
  return anyTypeName(any) === type.$type ? type.decode(any.value) : undefined;
}
