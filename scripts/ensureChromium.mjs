// The browser tests drive Debian's chromium (/usr/bin/chromium) with playwright-core. When it is
// missing, this installs it with apt-get if it can (as root), and otherwise stops the test run
// with what to do: the browser tests never skip.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const CHROMIUM = process.env.VERINFER_CHROMIUM ?? '/usr/bin/chromium';

if (!existsSync(CHROMIUM)) {
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!root) {
    console.error(
      `verinfer: ${CHROMIUM} is missing and the browser tests need it. Install it with \`sudo apt-get install -y chromium\` (or set VERINFER_CHROMIUM to a Chromium binary).`,
    );
    process.exit(1);
  }
  console.log('verinfer: installing Debian chromium for the browser tests');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'chromium'], {
    stdio: 'inherit',
    env,
  });
  if (r.status !== 0) {
    spawnSync('apt-get', ['update'], { stdio: 'inherit', env });
    r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'chromium'], {
      stdio: 'inherit',
      env,
    });
  }
  if (r.status !== 0 || !existsSync(CHROMIUM)) {
    console.error(
      'verinfer: `apt-get install -y chromium` failed; install Chromium and run the tests again.',
    );
    process.exit(1);
  }
}
