//! How gunicorn runs the app: its settings, wherever they are written, and its server hooks.
//!
//! Real stacks spread gunicorn's settings over four places — a config file
//! (`gunicorn --conf backend/config/gunicorn.conf.py`), `GUNICORN_CMD_ARGS` in the environment,
//! the command line of an entrypoint script, and gunicorn's own defaults — and the answer to
//! "does every worker import the app?" or "which port is bound?" depends on all of them.
//!
//! - [`cli`] reads the command line, from the container's argv or its entrypoint script, and
//!   `GUNICORN_CMD_ARGS`, kept apart;
//! - [`config`] reads the config file's Python without running it: settings with their lines,
//!   values computed from the environment, and the server hooks with where each runs;
//! - [`effective`] layers them as gunicorn does and says where each setting came from.
//!
//! Following a hook into the app's modules needs the whole source tree: that is
//! `crate::probes::python::hooks`.
pub mod cli;
pub mod config;
pub mod effective;

pub use cli::{CliOptions, FlaskCommand, Gunicorn, gunicorn_invocation, script_runs_flask_command};
pub use config::{
    ConfigFile, ConfigSetting, EnvRead, HOOKS, HookDef, HookRuns, Misnamed, Py, Value, hook_runs,
    read_config,
};
pub use effective::{
    ConfigChoice, ConfigRef, ConfigSource, Effective, Origin, Setting, bind_port, config_location,
    effective, start_dir,
};
