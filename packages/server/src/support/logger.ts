import { pino, type Logger } from 'pino';

// Paths that could ever carry a secret or a token are censored before a line is written, whatever
// code logs them. Defence in depth: nothing is supposed to log these in the first place.
const REDACT = [
  'req.headers.authorization',
  'headers.authorization',
  'authorization',
  '*.client_secret',
  'client_secret',
  'clientSecret',
  '*.clientSecret',
  'access_token',
  '*.access_token',
  'token',
  '*.token',
  'password',
  '*.password',
];

/** The process logger: JSON lines on stdout (pino), secrets redacted. */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  const options = { level, redact: { paths: REDACT, censor: '[redacted]' }, base: { service: 'latchkey' } };
  return destination ? pino(options, destination as pino.DestinationStream) : pino(options);
}
