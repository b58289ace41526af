// The storefront reads every endpoint at request time (src/lib/config.ts), so one build serves
// any environment: local `npm start`, the tests' stacks on free ports, and Kubernetes.
/** @type {import('next').NextConfig} */
const nextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  // The monorepo root has its own lockfile; this app is traced from here.
  outputFileTracingRoot: new URL('..', import.meta.url).pathname,
};

export default nextConfig;
