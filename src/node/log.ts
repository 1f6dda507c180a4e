// Structured logs: one JSON object per line { ts, level, service, msg, ...fields }. Two redaction
// rules make sure a key or a password never reaches a log line: fields whose name says "secret"
// are blanked, and every string (messages, fields, error texts) has each registered secret value
// cut out, so a key that leaks into an error message from a library is caught too.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export const REDACTED = '[redacted]';
/** Field names whose values are never logged, whatever they hold. */
const SECRET_FIELD = /private.?key|password|passphrase|secret|mnemonic|ciphertext|^key$|^pk$/i;
const MAX_DEPTH = 6;
const MAX_STRING = 4_000;

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /** A logger for a sub-service; it shares the level, the sink and the secrets. */
  child(service: string): Logger;
  /** Registers a secret value (a private key, a password): it is cut out of every later line. */
  addSecret(value: string): void;
}

export interface LoggerOptions {
  service: string;
  level?: LogLevel;
  /** Where lines go (default: stdout). */
  sink?: (line: string) => void;
  secrets?: readonly string[];
  now?: () => Date;
}

interface Shared {
  level: number;
  sink: (line: string) => void;
  secrets: Set<string>;
  now: () => Date;
}

function scrub(text: string, secrets: Set<string>): string {
  let out = text;
  for (const s of secrets) {
    if (!s) continue;
    out = out.split(s).join(REDACTED);
    // Keys are hex: catch them with or without the 0x prefix and in either case.
    if (/^0x[0-9a-fA-F]+$/.test(s)) {
      const bare = s.slice(2);
      out = out.replace(new RegExp(bare, 'gi'), REDACTED);
    }
  }
  return out.length > MAX_STRING ? `${out.slice(0, MAX_STRING)}…` : out;
}

/** The JSON-safe, redacted form of a field value. */
export function redact(value: unknown, secrets: Set<string>, depth = 0): unknown {
  if (typeof value === 'string') return scrub(value, secrets);
  if (typeof value === 'bigint') return value.toString();
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return '[deep]';
  if (value instanceof Error) {
    const e = value as Error & { shortMessage?: string; name: string };
    return {
      name: e.name,
      message: scrub(e.shortMessage ?? e.message, secrets),
      ...(e.cause !== undefined ? { cause: redact(e.cause, secrets, depth + 1) } : {}),
    };
  }
  if (value instanceof Uint8Array) return `0x${Buffer.from(value).toString('hex').slice(0, 256)}`;
  if (Array.isArray(value)) return value.slice(0, 64).map((v) => redact(v, secrets, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = SECRET_FIELD.test(k) ? REDACTED : redact(v, secrets, depth + 1);
  }
  return out;
}

function make(service: string, shared: Shared): Logger {
  const write = (level: LogLevel, msg: string, fields: Record<string, unknown> = {}) => {
    if (RANK[level] < shared.level) return;
    const body = redact(fields, shared.secrets) as Record<string, unknown>;
    const line = {
      ts: shared.now().toISOString(),
      level,
      service,
      msg: scrub(msg, shared.secrets),
      ...(Object.keys(body).length ? { fields: body } : {}),
    };
    shared.sink(JSON.stringify(line));
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    child: (name) => make(`${service}.${name}`, shared),
    addSecret: (s) => {
      if (s) shared.secrets.add(s);
    },
  };
}

export function createLogger(options: LoggerOptions): Logger {
  return make(options.service, {
    level: RANK[options.level ?? 'info'],
    sink: options.sink ?? ((line) => process.stdout.write(`${line}\n`)),
    secrets: new Set(options.secrets ?? []),
    now: options.now ?? (() => new Date()),
  });
}

/** A logger that drops everything (tests that do not look at logs). */
export function silentLogger(): Logger {
  return createLogger({ service: 'silent', level: 'error', sink: () => {} });
}
