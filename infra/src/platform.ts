import { ensureInfra } from './launcher';
import type { DependencyName, InfraEndpoints, InfraOptions } from './types';

/** What `npm start` brought up; `stop` ends what it started in the foreground (dependencies keep running). */
export interface RunningPlatform {
  endpoints: InfraEndpoints;
  /** Dependencies this call started (empty when all were already running). */
  started: DependencyName[];
  stop(): Promise<void>;
}

/**
 * Brings up the local platform: today the dependencies only. Services are added here later
 * (built from their factories with these endpoints), so `npm start` stays one command.
 */
export async function startPlatform(opts: InfraOptions = {}): Promise<RunningPlatform> {
  const { started, ...endpoints } = await ensureInfra(opts);
  return { endpoints, started, stop: () => Promise.resolve() };
}
