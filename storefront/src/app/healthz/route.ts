/** Liveness for the launcher and Kubernetes: the Next.js server answers. */
export function GET(): Response {
  return new Response('ok', { headers: { 'content-type': 'text/plain' } });
}
