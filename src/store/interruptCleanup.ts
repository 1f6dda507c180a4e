// Work that must be undone if the process is interrupted (Ctrl-C, SIGTERM) in the middle of a
// write: a half-written staging folder or a lock file. The signal listeners exist only while
// something is registered, so commands with their own shutdown (node, devnet) keep theirs.
// After cleaning up, the signal is raised again with the default handling restored, so the
// process ends exactly as it would have without us (exit status 128 + signal).
import { rmSync } from 'node:fs';

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
const pending = new Set<() => void>();

function onSignal(signal: NodeJS.Signals): void {
  for (const undo of [...pending]) {
    try {
      undo();
    } catch {
      // The process is going away; the other cleanups must still run.
    }
  }
  pending.clear();
  detach();
  process.kill(process.pid, signal);
}

function attach(): void {
  for (const s of SIGNALS) process.on(s, onSignal);
}

function detach(): void {
  for (const s of SIGNALS) process.off(s, onSignal);
}

/** Runs `undo` (synchronously) if a signal ends the process; call the returned function when done. */
export function onInterrupt(undo: () => void): () => void {
  if (pending.size === 0) attach();
  pending.add(undo);
  return () => {
    if (pending.delete(undo) && pending.size === 0) detach();
  };
}

/** An undo that removes a path (file or folder) if it exists. */
export function removeOnInterrupt(path: string): () => void {
  return onInterrupt(() => rmSync(path, { recursive: true, force: true }));
}
