/**
 * `node dist/cli/pid.js record FILE` records the identity of the process FILE names
 * (devstack/pid-file.ts); `node dist/cli/pid.js owned FILE ARG...` prints the pid and
 * exits 0 when that process still runs, started when recorded, and has every ARG on
 * its command line; exits 1 otherwise. ./meetr signals no pid this has not vouched for.
 */
import { forgetPid, ownedPid, recordPid } from '../devstack/pid-file.js';

const [command, file, ...args] = process.argv.slice(2);
if (file === undefined) {
  console.error('usage: pid.js record FILE | owned FILE ARG... | forget FILE');
  process.exit(2);
}
if (command === 'record') {
  try {
    recordPid(file);
  } catch (error) {
    console.error((error as Error).message);
    process.exit(1);
  }
} else if (command === 'owned') {
  const pid = ownedPid(file, (cmdline) => args.every((arg) => cmdline.includes(arg)));
  if (pid === undefined) process.exit(1);
  console.log(pid);
} else if (command === 'forget') {
  forgetPid(file);
} else {
  console.error(`unknown command ${command ?? ''}`);
  process.exit(2);
}
