// What a ledger backend provides: a session on one connection (a transaction when asked) and a way to close. The
// ledger's SQL lives in core.ts and migrations/ and is the same for both backends; a backend only connects.

export interface Session {
  /** One statement with $1.. parameters; the rows. */
  query<R>(sql: string, params?: readonly unknown[]): Promise<R[]>;
  /** Several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export interface SessionOptions {
  readonly transaction: boolean;
  /** Aborted when the caller stopped waiting (the deadline passed): drop whatever connection is stuck. */
  readonly signal: AbortSignal;
  /** The budget of the whole session; a backend bounds each statement by it too. */
  readonly timeoutMs: number;
}

export interface Backend {
  readonly kind: 'postgres' | 'pglite';
  /** For operator messages; never contains a password. */
  readonly where: string;
  session<T>(options: SessionOptions, fn: (session: Session) => Promise<T>): Promise<T>;
  /** Bounded by timeoutMs: a hung connection cannot keep seb from shutting down. */
  close(timeoutMs: number): Promise<void>;
  /** A dedicated connection LISTENing on channels; onLost fires once if it dies. Throws when it cannot connect. */
  listen(channels: readonly string[], onNotification: (channel: string, payload: string) => void, onLost: (reason: string) => void): Promise<Listener>;
}

export interface Listener {
  /** A query on the listening connection itself (its answer proves the connection alive). */
  query<R>(sql: string): Promise<R[]>;
  close(): Promise<void>;
}
