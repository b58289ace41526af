/** Where the storefront finds the platform; read per request so one build serves every environment. */
export interface StorefrontConfig {
  /** The gateway as the Next.js server reaches it (server-rendered pages). */
  gatewayUrl: string;
  /** The gateway as browsers reach it (HTTP and graphql-ws). */
  publicGatewayUrl: string;
  publicWsUrl: string;
  /** The Keycloak realm's issuer URL and the public client that signs shoppers in (PKCE). */
  oidcIssuerUrl: string;
  oidcClientId: string;
  /**
   * The token endpoint as the storefront's server reaches it for the code exchange (in a cluster,
   * Keycloak's internal address; the tokens keep the public issuer). Default: the issuer's.
   */
  oidcTokenUrl: string;
}

function url(env: NodeJS.ProcessEnv, name: string, fallback: string): string {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  try {
    return new URL(raw.trim()).toString().replace(/\/$/, '');
  } catch {
    throw new Error(`${name} is not a valid URL: ${JSON.stringify(raw)}`);
  }
}

/** Reads the storefront's variables; a malformed one fails with its name. */
export function loadStorefrontConfig(env: NodeJS.ProcessEnv = process.env): StorefrontConfig {
  const gatewayUrl = url(env, 'STOREFRONT_GATEWAY_URL', 'http://127.0.0.1:4000/graphql');
  const publicGatewayUrl = url(env, 'STOREFRONT_PUBLIC_GATEWAY_URL', gatewayUrl);
  const oidcIssuerUrl = url(env, 'OIDC_ISSUER_URL', 'http://127.0.0.1:8180/realms/shop');
  return {
    gatewayUrl,
    publicGatewayUrl,
    publicWsUrl: url(env, 'STOREFRONT_PUBLIC_WS_URL', publicGatewayUrl.replace(/^http/, 'ws')),
    oidcIssuerUrl,
    oidcClientId: env.STOREFRONT_OIDC_CLIENT_ID?.trim() || 'storefront',
    oidcTokenUrl: url(env, 'OIDC_TOKEN_URL', `${oidcIssuerUrl}/protocol/openid-connect/token`),
  };
}
