// Re-drives dead-lettered records to their source topic:
//   npm run dlq:replay -- <topic> [--limit N]   (KAFKA_BROKERS defaults to the local broker)
import { parsers, readConfig } from './config';
import { replayDeadLetters } from './dlq-replay';
import { createKafka } from './kafka';
import { createLogger } from './logger';

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
    brokers: env.optional('KAFKA_BROKERS', parsers.list, ['127.0.0.1:9092']),
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
