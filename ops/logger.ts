// Structured JSON logs (pino) on stdout: one line per request plus lifecycle events. Written asynchronously
// (sonic-boom), so a slow log reader never stalls request handling; `flush` runs at shutdown.
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  const options = { level, base: { service: 'seb' }, timestamp: pino.stdTimeFunctions.isoTime };
  return pino(options, destination ?? pino.destination({ dest: 1, sync: false }));
}
