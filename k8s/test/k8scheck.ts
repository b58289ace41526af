/**
 * Builds and runs `k8s/tools/k8scheck`, the Go program that renders kustomizations with the
 * kustomize library kubectl 1.32 embeds and decodes every object strictly against the Kubernetes
 * 1.32 API types (unknown fields rejected). The Go toolchain builds it from the pinned go.mod and
 * go.sum, so nothing is skipped when kubectl is not installed: a missing Go toolchain fails.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';

const TOOL = path.resolve(__dirname, '..', 'tools', 'k8scheck');
const BINARY = path.resolve(__dirname, '..', '..', '.infra', 'bin', 'k8scheck');

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

let built = false;

/** `go build` (incremental through Go's build cache) into `.infra/bin/k8scheck`. */
export function buildK8sCheck(): string {
  if (!built) {
    execFileSync('go', ['build', '-mod=readonly', '-o', BINARY, '.'], {
      cwd: TOOL,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, GOFLAGS: '-buildvcs=false' },
    });
    built = true;
  }
  return BINARY;
}

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
