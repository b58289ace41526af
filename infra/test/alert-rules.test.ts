import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';

const run = promisify(execFile);
const DIR = path.join(__dirname, '..', 'prometheus');

interface RulesFile {
  groups: Array<{ rules: Array<{ alert?: string; expr: string }> }>;
}
interface RulesTestFile {
  tests: Array<{ alert_rule_test?: Array<{ alertname: string; exp_alerts?: unknown[] }> }>;
}

const rules = parse(readFileSync(path.join(DIR, 'alerts.yml'), 'utf8')) as RulesFile;
const unitTests = parse(readFileSync(path.join(DIR, 'alerts.test.yml'), 'utf8')) as RulesTestFile;
const alerts = rules.groups.flatMap((g) => g.rules.flatMap((r) => (r.alert ? [r.alert] : [])));

describe('alert rules (infra/prometheus/alerts.yml)', () => {
  it('pass their promtool unit tests (alerts.test.yml)', async () => {
    // promtool exits non-zero on any failed case and prints expected against got.
    const result = await run('promtool', ['test', 'rules', 'alerts.test.yml'], { cwd: DIR }).then(
      ({ stdout }) => ({ ok: true, output: stdout }),
      (err: { stdout?: string; stderr?: string }) => ({
        ok: false,
        output: `${err.stdout ?? ''}${err.stderr ?? ''}`,
      }),
    );
    expect(result).toEqual({ ok: true, output: expect.stringContaining('SUCCESS') as string });
  });

  it('each have a unit test in which the alert fires', () => {
    const firing = new Set(
      unitTests.tests.flatMap((t) =>
        (t.alert_rule_test ?? [])
          .filter((c) => (c.exp_alerts ?? []).length > 0)
          .map((c) => c.alertname),
      ),
    );
    expect(alerts.length).toBeGreaterThan(0);
    expect(alerts.filter((name) => !firing.has(name))).toEqual([]);
  });

  it('have unique names', () => {
    expect(new Set(alerts).size).toBe(alerts.length);
  });
});
