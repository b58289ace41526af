import { loadStorefrontConfig } from '../../../lib/config';

/**
 * The authorization-code exchange, relayed to Keycloak's token endpoint from the same origin as
 * the page: the browser keeps the PKCE verifier and gets the tokens, and no CORS rule at the
 * identity provider has to name every origin the storefront is served from. Only the
 * `authorization_code` grant of the storefront's own public client passes.
 */
export async function POST(request: Request): Promise<Response> {
  const config = loadStorefrontConfig();
  const form = new URLSearchParams(await request.text());
  if (
    form.get('grant_type') !== 'authorization_code' ||
    form.get('client_id') !== config.oidcClientId
  ) {
    return Response.json({ error: 'unsupported_grant_type' }, { status: 400 });
  }
  try {
    const res = await fetch(config.oidcTokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form,
      signal: AbortSignal.timeout(10_000),
    });
    return new Response(await res.text(), {
      status: res.status,
      headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
    });
  } catch {
    return Response.json({ error: 'temporarily_unavailable' }, { status: 503 });
  }
}
