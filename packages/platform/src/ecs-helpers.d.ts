// The package ships no types; these are the two members the logger uses.
declare module '@elastic/ecs-helpers' {
  /** The ECS version the helpers format for. */
  export const version: string;
  /** Sets `error.{type,message,stack_trace}` on `fields` when `err` is an Error (else `err`). */
  export function formatError(fields: Record<string, unknown>, err: unknown): boolean;
}
