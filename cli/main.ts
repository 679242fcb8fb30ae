/**
 * The `curvefs` command: the composition root. It parses the command line
 * with commander and hands each subcommand to its own module under
 * cli/commands/. Nothing imports cli/.
 */
import { Command, CommanderError } from 'commander';
import { CurveError } from '../src/common/errors.js';
import { registerFsCommands } from './commands/fs.js';
import { registerInfoCommand } from './commands/info.js';
import { registerFsckCommand } from './commands/fsck.js';
import { registerLocalCommands } from './commands/local.js';
import { registerMdsCommand } from './commands/mds.js';
import { registerMetaserverCommand } from './commands/metaserver.js';
import { registerMountCommands } from './commands/mount.js';
import { registerStatusCommand } from './commands/status.js';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('curvefs')
    .description('CurveFS-TS: a POSIX file system with data in S3 and Raft-replicated metadata')
    .version('0.1.0')
    .showHelpAfterError()
    .option('-c, --config <file>', 'config file (JSON or "key = value" lines); flags and CURVEFS_* override it');
  registerLocalCommands(program);
  registerMdsCommand(program);
  registerMetaserverCommand(program);
  registerFsCommands(program);
  registerMountCommands(program);
  registerStatusCommand(program);
  registerInfoCommand(program);
  registerFsckCommand(program);
  return program;
}

export async function main(argv: readonly string[]): Promise<void> {
  const program = buildProgram();
  program.exitOverride();
  try {
    await program.parseAsync(argv as string[]);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode;
      return;
    }
    if (CurveError.is(error)) {
      process.stderr.write(`curvefs: ${error.message}\n`);
      process.exitCode = 1;
      return;
    }
    throw error;
  }
}
