import {
  batchLoader,
  present,
  rpc,
  signedInCaller,
  type SubgraphContext,
  type SubgraphResolvers,
  subgraphResolvers,
} from '@shop/graphql';
import type { PromiseClient } from '@shop/platform/grpc';
import type { Logger } from '@shop/platform/logging';
import type { user } from '@shop/proto';
import type { Resolvers } from '../generated/graphql';
import type DataLoader from 'dataloader';

/** The user service client this subgraph calls. */
export type UserClient = PromiseClient<typeof user.UserServiceService>;

/** Per-request context of the users subgraph. */
export interface UsersContext extends SubgraphContext {
  /** Profiles by id through BatchGetUsers (one call per request tick). */
  readonly userById: DataLoader<string, user.User | null>;
}

/** Builds the per-request context: the base context plus fresh loaders. */
export function usersContext(client: UserClient, logger: Logger) {
  return (base: SubgraphContext): UsersContext => ({
    ...base,
    userById: batchLoader(
      async (ids) =>
        (await rpc(client.batchGetUsers({ ids: [...ids] }, { metadata: base.metadata() }), logger))
          .users,
      (u) => u.id,
    ),
  });
}

/** Resolvers of the users subgraph: thin translations to UserService calls. */
export function usersResolvers(
  client: UserClient,
  logger: Logger,
): SubgraphResolvers<UsersContext> {
  // Field names, arguments and the context are checked against the generated resolver types.
  const resolvers: Resolvers<UsersContext> = {
    Query: {
      me: async (_: unknown, _args: unknown, ctx: UsersContext) => {
        const caller = signedInCaller(ctx.caller);
        const existing = await ctx.userById.load(caller.subject);
        if (existing !== null) return existing;
        // First call of a signed-in user: provision the profile from the token's claims.
        const { user: created } = await rpc(
          client.upsertUserFromClaims(
            { subject: caller.subject, email: caller.email ?? '', name: '' },
            { metadata: ctx.metadata() },
          ),
          logger,
        );
        return created ?? null;
      },
    },
    Mutation: {
      updateMyProfile: async (
        _: unknown,
        args: { name?: string | null; phone?: string | null; expectedVersion?: number | null },
        ctx: UsersContext,
      ) =>
        present(
          (
            await rpc(
              client.updateProfile(
                {
                  userId: signedInCaller(ctx.caller).subject,
                  name: args.name ?? undefined,
                  phone: args.phone ?? undefined,
                  expectedVersion: args.expectedVersion ?? undefined,
                },
                { metadata: ctx.metadata() },
              ),
              logger,
            )
          ).user,
          'user',
          logger,
        ),
      register: async (_, args, ctx) =>
        present(
          (
            await rpc(
              client.register(
                { email: args.input.email, password: args.input.password, name: args.input.name },
                { metadata: ctx.metadata() },
              ),
              logger,
            )
          ).user,
          'user',
          logger,
        ),
    },
    User: {
      __resolveReference: (ref: { id: string }, ctx: UsersContext) => ctx.userById.load(ref.id),
    },
  };
  return subgraphResolvers(resolvers);
}
