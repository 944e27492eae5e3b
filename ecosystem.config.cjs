// pm2: the workers, MEETR_WORKERS instances in fork mode, each on its own port
// (PORT, PORT+1, ... through increment_var). Started by `./meetr up`; reload the
// workers one at a time with `./meetr reload` (pm2 reload <app name>: reloading
// this file instead would reset every instance to the base port).
const path = require('node:path');

// The stack's settings as `./meetr up` resolved them (node dist/cli/config.js, defaults
// included): this file repeats none of config.ts's defaults, so pm2 starts it through ./meetr.
function setting(name) {
  const value = process.env[name];
  if (value === undefined || value === '')
    throw new Error(`${name} is not set: start meetr with ./meetr up, which reads its configuration`);
  return value;
}

const runDir = setting('MEETR_RUN_DIR');
const logDir = path.join(runDir, 'logs');

// Every variable meetr's config reads (MEETR_CONFIG_VARIABLES, from `node dist/cli/config.js`
// through ./meetr), each passed explicitly and empty when unset: pm2 keeps a process's
// old environment across `reload --update-env`, so a variable merely left out would keep
// its old value. An empty one means the default, as if never set.
const passThrough = Object.fromEntries(
  (process.env.MEETR_CONFIG_VARIABLES || '')
    .split(' ')
    .filter(Boolean)
    .map((name) => [name, process.env[name] ?? '']),
);

module.exports = {
  apps: [
    {
      name: setting('MEETR_APP_NAME'),
      script: path.join(__dirname, 'dist', 'main.js'),
      cwd: __dirname,
      exec_mode: 'fork',
      instances: Number(setting('MEETR_WORKERS')),
      increment_var: 'PORT',
      env: { ...passThrough, NODE_ENV: 'production', PORT: Number(setting('PORT')) },
      // A worker reports ready (process.send('ready')) only once its Cassandra session is up.
      wait_ready: true,
      listen_timeout: 60000,
      // SIGINT, then this long to drain in-flight requests and close the session (the worker gives itself 9 s: 2 s lame duck, then drain, hard stop at 9 s).
      kill_timeout: 10000,
      // A 2 GiB heap: MEETR_MAX_QUERY_SAMPLES (5,000,000) keeps one query near 500 MB of it.
      node_args: ['--max-old-space-size=2048'],
      max_memory_restart: '2560M',
      exp_backoff_restart_delay: 200,
      out_file: path.join(logDir, 'worker.out.log'),
      error_file: path.join(logDir, 'worker.err.log'),
      merge_logs: false,
      time: false,
    },
    // The rollers: MEETR_ROLLERS instances (none when 0), each serving /metrics on MEETR_ROLLER_PORT + its instance number.
    ...(Number(setting('MEETR_ROLLERS')) > 0
      ? [
          {
            name: `${setting('MEETR_APP_NAME')}-roller`,
            script: path.join(__dirname, 'dist', 'roller-main.js'),
            cwd: __dirname,
            exec_mode: 'fork',
            instances: Number(setting('MEETR_ROLLERS')),
            env: { ...passThrough, NODE_ENV: 'production' },
            wait_ready: true,
            listen_timeout: 60000,
            kill_timeout: 10000,
            max_memory_restart: '1024M',
            exp_backoff_restart_delay: 200,
            out_file: path.join(logDir, 'roller.out.log'),
            error_file: path.join(logDir, 'roller.err.log'),
            merge_logs: false,
            time: false,
          },
        ]
      : []),
    // The log keeper: keeps the log folder under MEETR_LOG_MAX_MB (src/log-keeper-main.ts).
    {
      name: `${setting('MEETR_APP_NAME')}-logs`,
      script: path.join(__dirname, 'dist', 'log-keeper-main.js'),
      cwd: __dirname,
      exec_mode: 'fork',
      instances: 1,
      env: { ...passThrough, NODE_ENV: 'production' },
      kill_timeout: 2000,
      max_memory_restart: '256M',
      exp_backoff_restart_delay: 200,
      out_file: path.join(logDir, 'logs.out.log'),
      error_file: path.join(logDir, 'logs.err.log'),
      merge_logs: false,
      time: false,
    },
  ],
};
