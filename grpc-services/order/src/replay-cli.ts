/* eslint-disable no-console -- a command-line tool: its output is for the operator. */
// Re-drives dead-lettered records to their source topic:
//   KAFKA_BROKERS=127.0.0.1:9092 node dist/src/replay-cli.js <topic> [--limit N]
import { createKafka, createLogger, parsers, readConfig } from '@shop/platform';
import { replayDeadLetters } from './replay';

async function main(argv: readonly string[]): Promise<void> {
  const args = [...argv];
  const limitAt = args.indexOf('--limit');
  const limit = limitAt >= 0 ? parsers.int(1)(args.splice(limitAt, 2)[1] ?? '') : undefined;
  const [topic] = args;
  if (!topic) {
    console.error('usage: replay-cli <topic> [--limit N]   (reads <topic>.dlq)');
    process.exit(2);
  }
  const config = readConfig(process.env, (env) => ({
    brokers: env.required('KAFKA_BROKERS', parsers.list),
  }));
  const logger = createLogger({ service: 'dlq-replay', level: 'warn' });
  const kafka = createKafka({ brokers: config.brokers, clientId: 'dlq-replay', logger });
  const { replayed } = await replayDeadLetters(kafka, topic, {
    logger,
    ...(limit === undefined ? {} : { limit }),
  });
  console.log(`re-drove ${replayed} record(s) from ${topic}.dlq`);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error((err as Error).message);
  process.exit(1);
});
