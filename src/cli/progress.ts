// Progress output for long steps, on stderr so that --json output stays clean.
// A bar on a terminal; one line per stage otherwise (logs, CI).
import cliProgress from 'cli-progress';

export interface Progress {
  update(stage: string, done: number, total: number): void;
  stop(): void;
}

export function createProgress(enabled = true): Progress {
  if (!enabled) return { update() {}, stop() {} };
  if (!process.stderr.isTTY) {
    let last = '';
    return {
      update(stage, done, total) {
        if (stage !== last) {
          process.stderr.write(`… ${stage}${total > 1 ? ` (${total})` : ''}\n`);
          last = stage;
        }
        if (done === total && total > 1) process.stderr.write(`✓ ${stage}\n`);
      },
      stop() {},
    };
  }
  const bar = new cliProgress.SingleBar(
    {
      format: '{stage} [{bar}] {value}/{total}',
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  let stage = '';
  return {
    update(next, done, total) {
      if (!started || next !== stage) {
        if (started) bar.stop();
        bar.start(total, done, { stage: next.padEnd(28) });
        started = true;
        stage = next;
      } else {
        bar.update(done);
      }
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
