/**
 * Builds and runs `k8s/tools/k8scheck`, the Go program that renders kustomizations with the
 * kustomize library kubectl 1.32 embeds and decodes every object strictly against the Kubernetes
 * 1.32 API types (unknown fields rejected). The Go toolchain builds it from the pinned go.mod and
 * go.sum, so nothing is skipped when kubectl is not installed: a missing Go toolchain fails.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, renameSync } from 'node:fs';
import path from 'node:path';

/* eslint-disable @typescript-eslint/no-explicit-any -- rendered objects are untyped JSON. */
/** One object as rendered; read defensively. */
export type Obj = Record<string, any>;
/* eslint-enable @typescript-eslint/no-explicit-any */

/** What k8scheck reports for one input: the objects and the strict-decoding errors. */
export interface CheckResult {
  target: string;
  objects: Obj[];
  errors: Array<{ object: string; error: string }>;
}

const built = new Set<string>();

/** `go build` (incremental through Go's build cache) of `k8s/tools/<name>` into `.infra/bin`. */
export function buildGoTool(name: string): string {
  const binary = path.resolve(__dirname, '..', '..', '.infra', 'bin', name);
  if (!built.has(name)) {
    // The first build links into a file of this process's own and renames it into place, so
    // Jest workers building at once never run a half-written binary; later builds are no-ops
    // when nothing changed (Go compares the build ID of the existing binary).
    const output = existsSync(binary) ? binary : `${binary}.${process.pid}.tmp`;
    execFileSync('go', ['build', '-mod=readonly', '-o', output, '.'], {
      cwd: path.resolve(__dirname, '..', 'tools', name),
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, GOFLAGS: '-buildvcs=false' },
    });
    if (output !== binary) renameSync(output, binary);
    built.add(name);
  }
  return binary;
}

/** Builds `k8scheck`. */
export const buildK8sCheck = (): string => buildGoTool('k8scheck');

/** Renders each kustomization directory and validates every object strictly. */
export function renderAndValidate(dirs: string[]): CheckResult[] {
  const out = execFileSync(buildK8sCheck(), ['render', ...dirs], {
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  return JSON.parse(out) as CheckResult[];
}

/** Validates objects (any mix of kinds) strictly, as `kubectl apply --validate=strict` would. */
export function validateStrict(objects: Obj[]): CheckResult {
  const input = objects.map((o) => JSON.stringify(o)).join('\n---\n');
  const out = execFileSync(buildK8sCheck(), ['validate'], {
    encoding: 'utf8',
    input,
    maxBuffer: 256 * 1024 * 1024,
  });
  return (JSON.parse(out) as CheckResult[])[0];
}
