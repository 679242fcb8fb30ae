/**
 * What a subcommand says while the issue that builds it is still open: it
 * names what is missing and exits non-zero. It never pretends to work.
 */
export const NOT_READY_EXIT_CODE = 2;

export function notReady(command: string, missing: string): never {
  process.stderr.write(`curvefs ${command}: not available yet: ${missing}\n`);
  process.exit(NOT_READY_EXIT_CODE);
}
