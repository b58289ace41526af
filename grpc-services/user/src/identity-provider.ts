import { createServiceTokenProvider, type ServiceAccountConfig } from '@shop/platform';
import { userErrors } from './errors';

/** A new account at the identity provider. */
export interface NewAccount {
  email: string;
  password: string;
  name: string;
}

/** Where sign-ups create accounts. Login itself stays with the identity provider. */
export interface IdentityProvider {
  /**
   * Creates an enabled account with the password and the `customer` role; returns its subject.
   * EMAIL_TAKEN when the email is already registered; IDENTITY_PROVIDER_UNAVAILABLE on faults
   * (then no account is left behind).
   */
  createCustomer(account: NewAccount): Promise<{ subject: string }>;
}

/**
 * Keycloak through its Admin REST API, as the service account (`manage-users`). The account is
 * created, then given the realm role `customer`; if the role cannot be assigned the account is
 * deleted again, so a failed sign-up can simply be retried.
 */
export function createKeycloakIdentityProvider(
  account: ServiceAccountConfig,
  options: { timeoutMs?: number; customerRole?: string } = {},
): IdentityProvider {
  const tokens = createServiceTokenProvider(account);
  const admin = account.adminUrl;
  const timeoutMs = options.timeoutMs ?? 5_000;
  const roleName = options.customerRole ?? 'customer';

  const call = async (path: string, init: RequestInit = {}): Promise<Response> => {
    try {
      return await fetch(`${admin}${path}`, {
        ...init,
        headers: {
          authorization: `Bearer ${await tokens.token()}`,
          'content-type': 'application/json',
          ...(init.headers as Record<string, string> | undefined),
        },
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw userErrors.IDENTITY_PROVIDER_UNAVAILABLE({ cause: err });
    }
  };
  const unavailable = async (what: string, res: Response) =>
    userErrors.IDENTITY_PROVIDER_UNAVAILABLE({
      cause: new Error(`${what}: HTTP ${res.status} ${(await res.text()).slice(0, 300)}`),
    });

  return {
    async createCustomer({ email, password, name }) {
      const [firstName, ...rest] = name.split(/\s+/);
      const created = await call('/users', {
        method: 'POST',
        body: JSON.stringify({
          username: email,
          email,
          firstName: firstName ?? '',
          lastName: rest.join(' '),
          enabled: true,
          emailVerified: false,
          credentials: [{ type: 'password', value: password, temporary: false }],
        }),
      });
      if (created.status === 409) throw userErrors.EMAIL_TAKEN();
      if (created.status === 400) {
        // Keycloak's password policy (or another account rule) refused it.
        const body = (await created.json().catch(() => ({}))) as { errorMessage?: string };
        throw userErrors.ACCOUNT_REFUSED({
          message: body.errorMessage ?? 'The identity provider refused the account',
        });
      }
      if (created.status !== 201) throw await unavailable('create user', created);
      const subject = created.headers.get('location')?.split('/').pop();
      if (!subject) throw await unavailable('create user (no location)', created);

      // The roles this account may be given (readable with manage-users; the realm's role list
      // itself would need view-realm, which the service account does not hold).
      const available = await call(`/users/${subject}/role-mappings/realm/available`);
      const role = available.ok
        ? ((await available.json()) as Array<{ id: string; name: string }>).find(
            (r) => r.name === roleName,
          )
        : undefined;
      const assigned = role
        ? await call(`/users/${subject}/role-mappings/realm`, {
            method: 'POST',
            body: JSON.stringify([role]),
          })
        : available;
      if (!role || !assigned.ok) {
        const err = role
          ? await unavailable('assign the customer role', assigned)
          : userErrors.IDENTITY_PROVIDER_UNAVAILABLE({
              cause: new Error(`realm role ${roleName} is not assignable (${available.status})`),
            });
        await call(`/users/${subject}`, { method: 'DELETE' }).catch(() => undefined);
        throw err;
      }
      return { subject };
    },
  };
}
