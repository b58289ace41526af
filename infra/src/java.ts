import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const JVM_DIR = '/usr/lib/jvm';

interface Jdk {
  home: string;
  major: number;
}

function releaseMajor(home: string): number | undefined {
  const release = path.join(home, 'release');
  if (!existsSync(release) || !existsSync(path.join(home, 'bin', 'java'))) return undefined;
  const match = /^JAVA_VERSION="(\d+)(?:\.(\d+))?/m.exec(readFileSync(release, 'utf8'));
  if (!match) return undefined;
  // Java 8 and older report "1.8.0_x".
  return match[1] === '1' ? Number(match[2]) : Number(match[1]);
}

function candidates(env: NodeJS.ProcessEnv): Jdk[] {
  const homes = existsSync(JVM_DIR)
    ? readdirSync(JVM_DIR).map((entry) => path.join(JVM_DIR, entry))
    : [];
  if (env.JAVA_HOME) homes.push(env.JAVA_HOME);
  return homes.flatMap((home) => {
    const major = releaseMajor(home);
    return major === undefined ? [] : [{ home, major }];
  });
}

/**
 * Picks an installed JDK with at least `minMajor`: the newest one, or the oldest one that
 * qualifies when `prefer` is 'oldest' (the most conservative choice for older servers).
 */
export function findJdk(
  env: NodeJS.ProcessEnv,
  minMajor: number,
  prefer: 'newest' | 'oldest' = 'newest',
): Jdk {
  const usable = candidates(env)
    .filter((jdk) => jdk.major >= minMajor)
    .sort((a, b) => (prefer === 'newest' ? b.major - a.major : a.major - b.major));
  const [best] = usable;
  if (!best) {
    throw new Error(
      `no JDK >= ${minMajor} found under ${JVM_DIR} or JAVA_HOME; install one (e.g. apt-get install openjdk-${minMajor}-jdk-headless)`,
    );
  }
  return best;
}
