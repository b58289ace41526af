import { buildSchema, type GraphQLField } from 'graphql';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DECLARED_SUBSCRIPTIONS, topicVariable } from '../src/subscriptions/declared';

// The committed API schema (`npm run supergraph:compose` writes it; `supergraph:check` keeps it fresh).
const schema = buildSchema(readFileSync(path.join(__dirname, '..', 'api-schema.graphql'), 'utf8'));
const subscriptionFields = schema.getSubscriptionType()?.getFields() ?? {};
const queryFields = schema.getQueryType()?.getFields() ?? {};
const argNames = (field: GraphQLField<unknown, unknown>) => field.args.map((a) => a.name);

describe('subscription declarations', () => {
  it('declare every Subscription field of the supergraph exactly once', () => {
    const declared = DECLARED_SUBSCRIPTIONS.map((d) => d.field);
    expect([...declared].sort()).toEqual(Object.keys(subscriptionFields).sort());
    expect(new Set(declared).size).toBe(declared.length);
  });

  it.each(DECLARED_SUBSCRIPTIONS.map((d) => [d.field, d] as const))(
    '%s re-reads its entity with a query field that takes its arguments',
    (_field, declaration) => {
      const subscription = subscriptionFields[declaration.field];
      const query = queryFields[declaration.query.field];
      expect(query).toBeDefined();
      const renames = declaration.query.args ?? {};
      const passed = argNames(subscription).map((name) => renames[name] ?? name);
      // A stream reads each announced entity by the id the event carries.
      if (declaration.mode === 'stream') passed.push('id');
      expect(argNames(query).sort()).toEqual(passed.sort());
      expect(query.type.toString().replace(/!$/, '')).toBe(
        subscription.type.toString().replace(/!$/, ''),
      );
    },
  );

  it.each([
    ['order-events', 'ORDER_EVENTS_TOPIC'],
    ['inventory-updates', 'INVENTORY_UPDATES_TOPIC'],
    ['user-notifications', 'USER_NOTIFICATIONS_TOPIC'],
  ])('reads topic %s from %s, the variable the services use', (topic, variable) => {
    expect(topicVariable(topic)).toBe(variable);
  });
});
