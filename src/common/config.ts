/**
 * Process configuration. Every setting has one declared key with a type, a
 * default and a description. Precedence: command-line flags override the
 * environment (`CURVEFS_<KEY>`), which overrides an optional config file,
 * which overrides the default. An unknown key or a malformed value stops the
 * process with a ConfigError naming the key (never silently ignored).
 *
 * Keys are kebab-case (`block-size`); the environment form is upper snake
 * case with a prefix (`CURVEFS_BLOCK_SIZE`). Config files are JSON (`.json`)
 * or `key = value` lines with `#` comments.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from './errors.js';
import { parseDurationMs, parseSize } from './units.js';

export type SettingType = 'string' | 'int' | 'bool' | 'size' | 'duration' | 'list' | 'address';

export interface SettingSpec {
  readonly type: SettingType;
  readonly description: string;
  /** Undefined default + required → must be given somewhere. */
  readonly default?: string | number | boolean | readonly string[];
  readonly required?: boolean;
  /** Secrets are never printed (dumps show them masked). */
  readonly secret?: boolean;
  readonly min?: number;
  readonly max?: number;
  readonly choices?: readonly string[];
}

export type ConfigSchema = Readonly<Record<string, SettingSpec>>;

type ValueOf<S extends SettingSpec> = S['type'] extends 'int' | 'size' | 'duration'
  ? number
  : S['type'] extends 'bool'
    ? boolean
    : S['type'] extends 'list'
      ? string[]
      : string;

export type ConfigValues<S extends ConfigSchema> = {
  -readonly [K in keyof S]: S[K]['required'] extends true
    ? ValueOf<S[K]>
    : S[K]['default'] extends undefined
      ? ValueOf<S[K]> | undefined
      : ValueOf<S[K]>;
};

export interface ConfigSources {
  /** Parsed flags (commander's opts(), camelCase or kebab-case keys); undefined values are ignored. */
  readonly flags?: Readonly<Record<string, unknown>>;
  /** Defaults to process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Path of an optional config file. */
  readonly file?: string;
  /**
   * Every CURVEFS_* variable must name a key of some process; keys of other
   * processes' schemas listed here are ignored rather than rejected.
   */
  readonly otherKnownKeys?: readonly string[];
}

export const ENV_PREFIX = 'CURVEFS_';

export function envName(key: string): string {
  return ENV_PREFIX + key.replace(/-/g, '_').toUpperCase();
}

function camelToKebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
}

/** Converts one raw value (string from env/file/flags, or a JSON value) to the declared type. */
export function parseSetting(key: string, spec: SettingSpec, raw: unknown): string | number | boolean | string[] {
  const fail = (why: string): never => {
    throw new ConfigError(key, `${why} (got ${JSON.stringify(spec.secret ? '***' : raw)})`);
  };
  let value: string | number | boolean | string[];
  const text = typeof raw === 'string' ? raw.trim() : raw;
  switch (spec.type) {
    case 'string':
      if (typeof text !== 'string') fail('expected a string');
      value = text as string;
      break;
    case 'address': {
      if (typeof text !== 'string') fail('expected HOST:PORT');
      const match = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(text as string);
      if (!match || Number(match[2]) > 65535) fail('expected HOST:PORT with a port in 0..65535');
      value = text as string;
      break;
    }
    case 'int': {
      const n = typeof text === 'number' ? text : /^-?\d+$/.test(String(text)) ? Number(text) : NaN;
      if (!Number.isSafeInteger(n)) fail('expected an integer');
      value = n;
      break;
    }
    case 'size':
      try {
        value = typeof text === 'number' ? text : parseSize(String(text));
      } catch (error) {
        return fail((error as Error).message);
      }
      if (!Number.isSafeInteger(value) || value < 0) fail('expected a size in bytes');
      break;
    case 'duration':
      try {
        value = typeof text === 'number' ? text : parseDurationMs(String(text));
      } catch (error) {
        return fail((error as Error).message);
      }
      break;
    case 'bool':
      if (typeof text === 'boolean') value = text;
      else if (/^(1|true|yes|on)$/i.test(String(text))) value = true;
      else if (/^(0|false|no|off)$/i.test(String(text))) value = false;
      else return fail('expected true or false');
      break;
    case 'list':
      if (Array.isArray(text)) value = text.map(String);
      else if (typeof text === 'string') value = text.split(',').map((s) => s.trim()).filter(Boolean);
      else return fail('expected a comma-separated list');
      break;
  }
  if (typeof value === 'number') {
    if (spec.min !== undefined && value < spec.min) fail(`must be at least ${spec.min}`);
    if (spec.max !== undefined && value > spec.max) fail(`must be at most ${spec.max}`);
  }
  if (spec.choices && !spec.choices.includes(String(value))) fail(`must be one of ${spec.choices.join(', ')}`);
  return value;
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError('config', `cannot read config file ${path}: ${(error as Error).message}`);
  }
  if (path.endsWith('.json')) {
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        throw new Error('top level must be an object');
      }
      return parsed as Record<string, unknown>;
    } catch (error) {
      throw new ConfigError('config', `malformed JSON in ${path}: ${(error as Error).message}`);
    }
  }
  const values: Record<string, unknown> = {};
  text.split('\n').forEach((line, lineIndex) => {
    const trimmed = line.replace(/#.*$/, '').trim();
    if (trimmed === '') return;
    const eq = trimmed.indexOf('=');
    if (eq <= 0) throw new ConfigError('config', `${path}:${lineIndex + 1}: expected "key = value"`);
    values[trimmed.slice(0, eq).trim()] = trimmed.slice(eq + 1).trim();
  });
  return values;
}

/** Resolves every key of the schema from the sources; throws ConfigError on the first bad key. */
export function loadConfig<S extends ConfigSchema>(schema: S, sources: ConfigSources = {}): ConfigValues<S> {
  const env = sources.env ?? process.env;
  const fileValues = sources.file ? readConfigFile(sources.file) : {};
  for (const key of Object.keys(fileValues)) {
    if (!(key in schema)) throw new ConfigError(key, `unknown key in config file ${sources.file}`);
  }
  const ownEnv = new Set(Object.keys(schema).map(envName));
  const otherEnv = new Set((sources.otherKnownKeys ?? []).map(envName));
  otherEnv.add(envName('config'));
  for (const name of Object.keys(env)) {
    if (name.startsWith(ENV_PREFIX) && !ownEnv.has(name) && !otherEnv.has(name)) {
      throw new ConfigError(name, 'unknown environment variable');
    }
  }
  const flags: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(sources.flags ?? {})) {
    if (value !== undefined) flags[camelToKebab(name)] = value;
  }
  const result: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(schema)) {
    let raw: unknown;
    if (key in flags) raw = flags[key];
    else if (env[envName(key)] !== undefined) raw = env[envName(key)];
    else if (key in fileValues) raw = fileValues[key];
    if (raw === undefined) {
      if (spec.required && spec.default === undefined) {
        throw new ConfigError(key, `is required (flag --${key}, environment ${envName(key)}, or the config file)`);
      }
      result[key] = spec.default === undefined ? undefined : parseSetting(key, spec, spec.default);
    } else {
      result[key] = parseSetting(key, spec, raw);
    }
  }
  return result as ConfigValues<S>;
}

/** The resolved values for logs and `--print-config`: secrets masked. */
export function describeConfig(schema: ConfigSchema, values: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(schema)) {
    const value = values[key];
    out[key] = spec.secret && typeof value === 'string' ? maskSecret(value) : value;
  }
  return out;
}

/** Shows enough of a secret to recognise it, never enough to use it. */
export function maskSecret(secret: string): string {
  if (secret.length === 0) return '';
  return secret.length <= 8 ? '***' : `${secret.slice(0, 3)}***`;
}
