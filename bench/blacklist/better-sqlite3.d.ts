// better-sqlite3 ships no type declarations; this is the small part the benchmark's raw baseline uses.
declare module 'better-sqlite3' {
  /** A prepared statement. */
  interface Statement {
    /** Runs the statement with positional parameters. */
    run(...params: unknown[]): { changes: number; lastInsertRowid: number | bigint };
    /** Runs a query and returns every row. */
    all(...params: unknown[]): unknown[];
  }
  /** A synchronous SQLite connection. */
  class Database {
    constructor(file: string);
    /** Runs a PRAGMA statement. */
    pragma(source: string): unknown;
    /** Runs SQL text (one or more statements, no parameters). */
    exec(source: string): unknown;
    /** Prepares a statement. */
    prepare(sql: string): Statement;
    /** Wraps `fn` in a transaction; call the returned function to run it. */
    transaction<F extends (...args: never[]) => unknown>(fn: F): F;
    /** Closes the connection. */
    close(): void;
  }
  export default Database;
}
