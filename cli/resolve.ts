/**
 * Resolves a command's settings: its flags, then CURVEFS_* variables, then
 * the --config file, then defaults. A bad key stops the command with a
 * message naming it (ConfigError).
 */
import type { Command } from 'commander';
import { loadConfig, type ConfigSchema, type ConfigValues } from '../src/common/config.js';
import { allKnownKeys } from './settings.js';

/** `controlFlags` are command flags that steer the command itself rather than naming a setting. */
export function resolveSettings<S extends ConfigSchema>(schema: S, command: Command, controlFlags: readonly string[] = []): ConfigValues<S> {
  const globals = command.optsWithGlobals() as { config?: string };
  const flags = { ...command.opts() } as Record<string, unknown>;
  for (const name of ['config', ...controlFlags]) delete flags[name];
  const file = globals.config ?? process.env['CURVEFS_CONFIG'];
  return loadConfig(schema, { flags, file, otherKnownKeys: allKnownKeys });
}
