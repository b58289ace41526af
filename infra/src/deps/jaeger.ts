import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { urlVar } from '../env';
import { binDir } from '../go';
import { httpOk } from '../health';
import { runStep, spawnDetached } from '../process';
import { hasStamp, writeStamp } from '../stamp';
import type { Dependency, InfraContext, InfraEndpoints } from '../types';

// The v1 tags of the Jaeger module carry the v2 program (cmd/jaeger, an OpenTelemetry Collector
// distribution); this is the version the package lists approve.
const VERSION = 'v1.75.0';
const PROGRAM = 'github.com/jaegertracing/jaeger/cmd/jaeger';
const OTLP_GRPC_PORT = 4317;
const OTLP_HTTP_PORT = 4318;
const QUERY_HTTP_PORT = 16686;
const QUERY_GRPC_PORT = 16685;
const HEALTH_PORT = 13133;
const OTLP_TRACES_URL = `http://127.0.0.1:${OTLP_HTTP_PORT}/v1/traces`;
const JAEGER_URL = `http://127.0.0.1:${QUERY_HTTP_PORT}`;
const STAMP = `jaeger ${VERSION}`;

function binary(ctx: InfraContext): string {
  return path.join(binDir(ctx), 'jaeger');
}

/**
 * `go install jaeger@version` refuses the module (its go.mod has replace directives), so the
 * program is built from a throwaway module that requires it as a tool, as the Go docs suggest.
 */
async function install(ctx: InfraContext): Promise<void> {
  const dir = path.join(ctx.cacheDir, 'jaeger', 'build');
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const go = (args: string[]) => runStep(ctx, 'jaeger', { cmd: 'go', args, cwd: dir });
  await go(['mod', 'init', 'local/jaeger']);
  await go(['get', '-tool', `${PROGRAM}@${VERSION}`]);
  await go(['build', '-o', binary(ctx), PROGRAM]);
  writeStamp(ctx, 'jaeger', STAMP);
}

async function start(ctx: InfraContext): Promise<number> {
  const dir = path.join(ctx.cacheDir, 'jaeger');
  await mkdir(dir, { recursive: true });
  return spawnDetached(ctx, 'jaeger', {
    cmd: binary(ctx),
    args: ['--config', path.join(ctx.infraDir, 'jaeger', 'config.yaml')],
    cwd: dir,
    // Spans live in memory, bounded by max_traces in the config; this bounds the heap besides.
    env: { ...ctx.env, GOMEMLIMIT: '384MiB' },
  });
}

function external(env: NodeJS.ProcessEnv): Partial<InfraEndpoints> | undefined {
  const otlpTracesUrl = urlVar(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  if (otlpTracesUrl === undefined) return undefined;
  const jaegerUrl =
    urlVar(env, 'JAEGER_URL') ?? `http://${new URL(otlpTracesUrl).hostname}:${QUERY_HTTP_PORT}`;
  return { otlpTracesUrl, jaegerUrl };
}

/** Jaeger v2: OTLP on 4317 (gRPC) and 4318 (HTTP), spans in memory, the query API on 16686. */
export const jaeger: Dependency = {
  name: 'jaeger',
  endpoint: JAEGER_URL,
  ports: [OTLP_GRPC_PORT, OTLP_HTTP_PORT, QUERY_HTTP_PORT, QUERY_GRPC_PORT, HEALTH_PORT],
  healthTimeoutMs: 30_000,
  external,
  endpoints: () => ({ otlpTracesUrl: OTLP_TRACES_URL, jaegerUrl: JAEGER_URL }),
  isInstalled: (ctx) => Promise.resolve(hasStamp(ctx, 'jaeger', STAMP) && existsSync(binary(ctx))),
  install,
  start,
  health: () => httpOk(`${JAEGER_URL}/api/services`),
};
