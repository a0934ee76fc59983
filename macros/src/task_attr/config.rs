//! The options of `#[graceful::task]`, parsed and checked together: each
//! bad value under its token, and the combinations that cannot hold
//! (`policy` with `restart`, `backoff` without it).

use proc_macro2::{Ident, TokenStream};
use syn::{LitStr, Path};

use crate::errors::Errors;
use crate::options::{self, CRATE, OptionKey, Spec};
use crate::policy::{self, PolicyOption};
use crate::restart::RestartOption;
use crate::signature::Attr;
use crate::values;

pub(super) const ATTR: Attr = Attr {
    path: "graceful::task",
    subject: "a task",
    by_value_note: " (callers still pass `&ctx`)",
};

/// The options of `#[graceful::task]`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum TaskKey {
    Name,
    Policy,
    Restart,
    Backoff,
    Intensity,
    Crate,
}

impl OptionKey for TaskKey {
    const ALL: &'static [TaskKey] = &[
        TaskKey::Name,
        TaskKey::Policy,
        TaskKey::Restart,
        TaskKey::Backoff,
        TaskKey::Intensity,
        TaskKey::Crate,
    ];

    #[rustfmt::skip]
    fn spec(self) -> &'static Spec {
        match self {
            TaskKey::Name => &Spec { name: "name", takes: "the task's name as a string", example: "name = \"fetch-prices\"" },
            TaskKey::Policy => &Spec { name: "policy", takes: "`\"critical\"`, `\"isolated\"` or `\"essential\"`", example: "policy = \"isolated\"" },
            TaskKey::Restart => &Spec { name: "restart", takes: "`\"on_failure\"` or `\"always\"`", example: "restart = \"on_failure\"" },
            TaskKey::Backoff => &Spec { name: "backoff", takes: "the first and the longest delay before a restart as a string", example: "backoff = \"100ms..30s\"" },
            TaskKey::Intensity => &Spec { name: "intensity", takes: "the most restarts within a window as a string", example: "intensity = \"5 in 60s\"" },
            TaskKey::Crate => &CRATE,
        }
    }
}

/// The options, each `None` when not given (or given wrong).
#[derive(Default)]
pub(super) struct Config {
    pub(super) name: Option<LitStr>,
    pub(super) policy: Option<PolicyOption>,
    pub(super) restart: Option<RestartOption>,
    pub(super) krate: Option<Path>,
}

impl Config {
    pub(super) fn parse(args: TokenStream, errors: &mut Errors) -> Config {
        let mut config = Config::default();
        let mut given: Vec<(TaskKey, Ident)> = Vec::new();
        let (mut on, mut backoff, mut intensity) = (None, None, None);
        options::parse(
            args,
            ATTR.path,
            errors,
            |key: TaskKey, ident, value, errors| {
                given.push((key, ident.clone()));
                let spec = key.spec();
                match key {
                    TaskKey::Name => match values::string(&value, spec, errors) {
                        Some(s) if s.value().trim().is_empty() => errors.at(
                            s,
                            "a task's name cannot be empty: write `name = \"fetch-prices\"`",
                        ),
                        name => config.name = name.cloned(),
                    },
                    TaskKey::Policy => config.policy = policy::policy(&value, spec, errors),
                    TaskKey::Restart => {
                        let choices = policy::RESTART_ON_ANY_RETURN;
                        on = values::one_of(&value, spec, "restart mode", choices, errors);
                    }
                    TaskKey::Backoff => backoff = policy::backoff(&value, spec, errors),
                    TaskKey::Intensity => intensity = policy::intensity(&value, spec, errors),
                    TaskKey::Crate => config.krate = values::crate_path(&value, errors),
                }
            },
        );
        let given = |key: TaskKey| given.iter().find(|(k, _)| *k == key).map(|(_, i)| i);
        match given(TaskKey::Restart) {
            Some(_) => {
                if let Some(policy) = given(TaskKey::Policy) {
                    let message = if config.policy == Some(PolicyOption::Essential) {
                        "an essential task's end shuts the process down and a restarted task's end starts it again: remove `policy = \"essential\"` or `restart`"
                    } else {
                        "`policy` does not apply to a restarted task, whose failure escalates as critical past its `intensity`: remove `policy` or `restart`"
                    };
                    errors.at(policy, message);
                    config.policy = None;
                }
            }
            None => {
                for key in [TaskKey::Backoff, TaskKey::Intensity] {
                    if let Some(ident) = given(key) {
                        errors.at(
                            ident,
                            format!(
                                "`{ident}` applies to a restarted task only: add `restart = \"on_failure\"`, or remove `{ident}`"
                            ),
                        );
                    }
                }
            }
        }
        config.restart = on.map(|on_any_return| RestartOption {
            on_any_return,
            backoff,
            intensity,
        });
        config
    }
}
