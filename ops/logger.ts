// Structured JSON logs (pino) on stdout: one line per request plus lifecycle events.
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, destination: NodeJS.WritableStream = process.stdout): Logger {
  return pino({ level, base: { service: 'seb' }, timestamp: pino.stdTimeFunctions.isoTime }, destination);
}
