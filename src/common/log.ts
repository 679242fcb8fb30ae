/**
 * Structured logging with pino. Secrets (S3 keys, passwords, tokens) are
 * redacted by path wherever they appear in a logged object, so a config or
 * fs-info object can be logged whole without leaking credentials.
 */
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

const SECRET_FIELDS = [
  'secretKey',
  'secretAccessKey',
  'accessKey',
  'accessKeyId',
  'password',
  'token',
  'authorization',
  'credentials',
  's3-secret-key',
  's3-access-key',
];

/** Redaction paths for a secret field at the top level and up to three levels deep. */
export const REDACT_PATHS = SECRET_FIELDS.flatMap((field) => {
  const key = /^[A-Za-z_$][\w$]*$/.test(field) ? field : `["${field}"]`;
  const dot = key.startsWith('[') ? '' : '.';
  return [key, `*${dot}${key}`, `*.*${dot}${key}`, `*.*.*${dot}${key}`];
});

export interface LogOptions {
  readonly name: string;
  readonly level?: LevelWithSilent;
  /** Where to write; defaults to stderr so stdout stays free for command output. */
  readonly destination?: NodeJS.WritableStream | number;
}

export function createLogger(options: LogOptions): Logger {
  const level = options.level ?? ((process.env['CURVEFS_LOG_LEVEL'] as LevelWithSilent | undefined) || 'info');
  const destination = options.destination ?? 2;
  const stream =
    typeof destination === 'number' ? pino.destination({ dest: destination, sync: false }) : destination;
  return pino(
    {
      name: options.name,
      level,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    stream,
  );
}

/** A logger that drops everything (library code given no logger). */
export const silentLogger: Logger = pino({ level: 'silent' });
