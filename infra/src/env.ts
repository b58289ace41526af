/**
 * Reads a connection variable: undefined when unset (or blank), the value when it parses as a URL,
 * and an error naming the variable when it is set but malformed.
 */
export function urlVar(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name]?.trim();
  if (!value) return undefined;
  try {
    new URL(value);
  } catch {
    throw new Error(`${name} is set but is not a URL: ${JSON.stringify(value)}`);
  }
  return value;
}

/** Reads a comma-separated `host:port` list such as KAFKA_BROKERS. */
export function hostListVar(env: NodeJS.ProcessEnv, name: string): string[] | undefined {
  const value = env[name]?.trim();
  if (!value) return undefined;
  const hosts = value
    .split(',')
    .map((host) => host.trim())
    .filter((host) => host.length > 0);
  const bad = hosts.find((host) => !/^[^\s:]+:\d+$/.test(host));
  if (hosts.length === 0 || bad !== undefined) {
    throw new Error(
      `${name} must be a comma-separated list of host:port, got ${JSON.stringify(value)}`,
    );
  }
  return hosts;
}
