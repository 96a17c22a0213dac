// Structured JSON logs. Secret-bearing fields are censored by path, and any
// string that looks like a connection URL with credentials is scrubbed, so a
// database URL that slips into an error message never reaches the log.
import { pino, type Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;

const redactPaths = [
  'url',
  'databaseUrl',
  'password',
  'token',
  'authorization',
  '*.url',
  '*.password',
  '*.token',
  '*.authorization',
  'headers.authorization',
  'data',
  'stringData',
  '*.data',
  '*.stringData',
];

const credentialUrl = /\b([a-z][a-z0-9+.-]*:\/\/)([^/\s:@]+)(:[^/\s@]*)?@/gi;

/** Replaces the user-info part of any URL in `text` with ***. */
export function scrubSecrets(text: string): string {
  return text.replace(credentialUrl, '$1***@');
}

export function createLogger(
  level = process.env.LOG_LEVEL ?? 'info',
  destination?: NodeJS.WritableStream,
): Logger {
  return pino(
    {
      level,
      base: { component: 'cutover' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: redactPaths, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
      hooks: {
        logMethod(args, method) {
          method.apply(
            this,
            args.map((a) => (typeof a === 'string' ? scrubSecrets(a) : a)) as Parameters<typeof method>,
          );
        },
      },
      serializers: {
        err: (e: unknown) => scrubSecrets(e instanceof Error ? e.message : String(e)),
      },
    },
    destination as pino.DestinationStream | undefined,
  );
}
