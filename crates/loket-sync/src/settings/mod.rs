//! Settings resolve once: the TOML file, the environment variables and files it names for secrets, and
//! the command-line flags, into one validated struct. Nothing below this module reads `std::env`.
//!
//! A bad file gets every error at once, each naming the file, the line and the field.

use std::path::{Path, PathBuf};

use engine::{ComponentKey, Config, Mapping};
use jiff::civil::Date;
use secrecy::SecretString;
use toml::{Table, Value};
use url::Url;

pub const PERSONIO_URL: &str = "https://api.personio.de";
pub const LOKET_PRODUCTION: (&str, &str) = ("https://api.loket.nl/v2", "https://oauth.loket.nl");
pub const LOKET_ACCEPTANCE: (&str, &str) = ("https://api.loket-acc.nl/v2", "https://oauth.loket-acc.nl");

/// One problem in the configuration file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub file: PathBuf,
    pub line: usize,
    pub field: String,
    pub message: String,
}

impl StateSettings {
    /// Where the state is: the PostgreSQL database when one is given, else the SQLite file.
    pub fn location(&self) -> crate::store::Location {
        match &self.url {
            Some(url) => crate::store::Location::Postgres(url.clone()),
            None => crate::store::Location::File(self.path.clone()),
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Line 0: the file as a whole (it is missing or unreadable), not a place in it.
        if self.line == 0 {
            write!(f, "{}: {}", self.file.display(), self.message)
        } else {
            write!(f, "{}:{}: {}: {}", self.file.display(), self.line, self.field, self.message)
        }
    }
}

#[derive(Clone, Debug)]
pub struct PersonioSettings {
    pub base_url: Url,
    pub client_id: String,
    /// `None` when the environment variable or file that should hold it is not there.
    pub client_secret: Option<SecretString>,
    pub secret_source: String,
    pub app_id: String,
    pub concurrency: usize,
}

#[derive(Clone, Debug)]
pub struct LoketSettings {
    pub base_url: Url,
    pub oauth_url: Url,
    pub employer_id: String,
    pub administration_id: String,
    pub client_id: String,
    pub client_secret: Option<SecretString>,
    pub secret_source: String,
    pub redirect_port: u16,
    pub requests_per_second: Option<u32>,
    pub concurrency: usize,
    pub token_file: PathBuf,
}

#[derive(Clone, Debug)]
pub struct StateSettings {
    /// The SQLite file of runs, issues and the audit journal.
    pub path: PathBuf,
    /// A PostgreSQL database instead (`[state] url` or `DATABASE_URL`).
    pub url: Option<secrecy::SecretString>,
    /// A lock left by a killed run expires after this many minutes.
    pub lock_minutes: i64,
    /// Who runs loket-sync (recorded with each run).
    pub who: String,
}

#[derive(Clone, Debug)]
pub struct Settings {
    pub path: PathBuf,
    pub state: StateSettings,
    pub personio: PersonioSettings,
    pub loket: LoketSettings,
    pub sync: Config,
}

/// Where secrets come from: environment variables (read once, here) and files.
pub trait Environment {
    fn var(&self, name: &str) -> Option<String>;
}

pub struct ProcessEnvironment;

impl Environment for ProcessEnvironment {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|value| !value.is_empty())
    }
}

mod reader;

use reader::{Reader, Section, type_name};

/// The settings each section knows; any other key is an error that lists these.
#[rustfmt::skip]
const KNOWN_KEYS: &[(&str, &[&str])] = &[
    ("personio", &[
        "base_url", "legal_entity", "client_id", "client_id_env", "client_secret_env", "client_secret_file",
        "client_secret", "app_id", "concurrency",
    ]),
    ("loket", &[
        "environment", "base_url", "oauth_url", "employer_id", "payroll_administration_id", "client_id",
        "client_secret_env", "client_secret_file", "client_secret", "redirect_port", "requests_per_second",
        "concurrency", "token_file",
    ]),
    ("sync", &[
        "compensation_start_date", "salary", "recurring", "one_time", "horizon_months", "employee_number_attribute",
        "income_number_attribute",
    ]),
    ("guard", &[
        "max_delete_fraction", "max_wage_decrease_fraction",
    ]),
    ("state", &[
        "path", "url", "lock_minutes",
    ]),
    ("mappings", &[
        "personio_type", "benefit_component", "deduction_component",
    ]),
];

/// The settings a section knows.
fn known_keys(section: &str) -> &'static [&'static str] {
    KNOWN_KEYS.iter().find(|(name, _)| *name == section).map_or(&[], |(_, keys)| keys)
}

/// Reads and checks a configuration file.
pub fn load(path: &Path, env: &dyn Environment) -> Result<Settings, Vec<FieldError>> {
    let text = std::fs::read_to_string(path).map_err(|error| {
        vec![FieldError {
            file: path.to_path_buf(),
            line: 0,
            field: "(file)".to_string(),
            message: if error.kind() == std::io::ErrorKind::NotFound {
                "there is no configuration file here; run `loket-sync init` to write one".to_string()
            } else {
                format!("cannot be read: {error}")
            },
        }]
    })?;
    parse(path, &text, env)
}

pub fn parse(path: &Path, text: &str, env: &dyn Environment) -> Result<Settings, Vec<FieldError>> {
    let document: Table = match text.parse::<Table>() {
        Ok(document) => document,
        Err(error) => {
            let line =
                error.span().map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1).unwrap_or(1);
            let message = error.message().to_string();
            return Err(vec![FieldError { file: path.to_path_buf(), line, field: "(syntax)".to_string(), message }]);
        }
    };
    let mut reader = Reader { path, text, errors: Vec::new() };
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    for key in document.keys() {
        if !["personio", "loket", "sync", "guard", "state", "mappings"].contains(&key.as_str()) {
            reader.error(
                None,
                key.clone(),
                Some(key),
                "unknown section; known: [personio], [loket], [sync], [guard], [state], [[mappings]]",
            );
        }
    }
    let table = |name: &str| document.get(name).and_then(Value::as_table);
    let section =
        |name: &'static str| Section { name, occurrence: 0, table: table(name), field_prefix: format!("{name}.") };

    // [personio]
    let personio = reader.required(section("personio"), known_keys("personio"));
    let personio_url = reader.url(&personio, "base_url", PERSONIO_URL);
    let legal_entity = reader.string(&personio, "legal_entity", true).unwrap_or_default();
    let personio_client_id = reader
        .string(&personio, "client_id", false)
        .or_else(|| {
            env.var(
                &reader
                    .string(&personio, "client_id_env", false)
                    .unwrap_or_else(|| crate::env::PERSONIO_CLIENT_ID.to_string()),
            )
        })
        .unwrap_or_default();
    let (personio_secret, personio_source) = reader.secret(&personio, env, crate::env::PERSONIO_CLIENT_SECRET, &base);
    let app_id = reader.string(&personio, "app_id", false).unwrap_or_else(|| "LOKET_SYNC".to_string());
    if !app_id.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_') {
        reader.error(
            personio.at(),
            "personio.app_id".to_string(),
            Some("app_id"),
            "must be UPPER_SNAKE_CASE, such as LOKET_SYNC",
        );
    }
    let personio_concurrency = reader.integer(&personio, "concurrency", 1..=64).unwrap_or(8) as usize;

    // [loket]
    let loket = reader.required(section("loket"), known_keys("loket"));
    let (default_base, default_oauth) = match reader.string(&loket, "environment", false).as_deref() {
        None | Some("production") => LOKET_PRODUCTION,
        Some("acceptance") => LOKET_ACCEPTANCE,
        Some(other) => {
            reader.error(
                loket.at(),
                "loket.environment".to_string(),
                Some("environment"),
                format!("`{other}` is not an environment; use \"production\" or \"acceptance\""),
            );
            LOKET_PRODUCTION
        }
    };
    let loket_url = reader.url(&loket, "base_url", default_base);
    let oauth_url = reader.url(&loket, "oauth_url", default_oauth);
    let employer_id = reader.string(&loket, "employer_id", true).unwrap_or_default();
    let administration_id = reader.string(&loket, "payroll_administration_id", true).unwrap_or_default();
    let loket_client_id = reader.string(&loket, "client_id", true).unwrap_or_default();
    let (loket_secret, loket_source) = reader.secret(&loket, env, crate::env::LOKET_CLIENT_SECRET, &base);
    let redirect_port = reader.integer(&loket, "redirect_port", 1024..=65535).unwrap_or(8765) as u16;
    let requests_per_second = reader.integer(&loket, "requests_per_second", 1..=1000).map(|rate| rate as u32);
    let loket_concurrency = reader.integer(&loket, "concurrency", 1..=64).unwrap_or(8) as usize;
    let token_file =
        base.join(reader.string(&loket, "token_file", false).unwrap_or_else(|| "loket-tokens.json".to_string()));

    // [sync]
    let sync = reader.required(section("sync"), known_keys("sync"));
    let start = reader.date(&sync, "compensation_start_date", true);
    let mut config = Config::new(legal_entity.clone(), start.unwrap_or(Date::MIN));
    config.salary = reader.boolean(&sync, "salary");
    config.recurring = reader.boolean(&sync, "recurring");
    config.one_time = reader.boolean(&sync, "one_time");
    if let Some(months) = reader.integer(&sync, "horizon_months", 0..=i64::from(engine::config::MAX_HORIZON_MONTHS)) {
        config.horizon_months = months as u32;
    }
    if let Some(label) = reader.string(&sync, "employee_number_attribute", false) {
        config.employee_number_attribute = label;
    }
    if let Some(label) = reader.string(&sync, "income_number_attribute", false) {
        config.income_number_attribute = label;
    }

    // [guard]
    let guard = reader.optional(section("guard"), known_keys("guard"));
    if let Some(value) = reader.fraction(&guard, "max_delete_fraction") {
        config.max_delete_fraction = value;
    }
    if let Some(value) = reader.fraction(&guard, "max_wage_decrease_fraction") {
        config.max_wage_decrease_fraction = value;
    }

    // [state]
    let state = reader.optional(section("state"), known_keys("state"));
    let state_path = base.join(reader.string(&state, "path", false).unwrap_or_else(|| "loket-sync.db".to_string()));
    let lock_minutes = reader.integer(&state, "lock_minutes", 1..=24 * 60).unwrap_or(30);
    let url = match env.var(crate::env::DATABASE_URL).filter(|url| !url.is_empty()) {
        Some(url) => Some(url),
        None => reader.string(&state, "url", false),
    };
    if let Some(text) = &url {
        match url::Url::parse(text) {
            Ok(parsed) if matches!(parsed.scheme(), "postgres" | "postgresql") => {
                if parsed.password().is_some() && env.var(crate::env::DATABASE_URL).is_none() {
                    reader.refuse(
                        &state,
                        "url",
                        "a password never goes in the file: give it in PGPASSWORD, or the whole URL in DATABASE_URL",
                    );
                }
            }
            _ => reader.refuse(
                &state,
                "url",
                format!(
                    "`{}` is not a PostgreSQL URL such as postgres://loket-sync@db.example.nl/loket_sync",
                    crate::store::without_password(text)
                ),
            ),
        }
    }
    let who = env
        .var(crate::env::USER)
        .or_else(|| env.var(crate::env::USERNAME))
        .unwrap_or_else(|| "unknown user".to_string());

    // [[mappings]]
    match document.get("mappings") {
        None => {}
        Some(Value::Array(items)) => {
            for (index, item) in items.iter().enumerate() {
                let Some(table) = item.as_table() else {
                    reader.error(
                        Some(("mappings", index)),
                        format!("mappings[{index}]"),
                        None,
                        "each mapping must be a [[mappings]] table",
                    );
                    continue;
                };
                let mapping = Section {
                    name: "mappings",
                    occurrence: index,
                    table: Some(table),
                    field_prefix: format!("mappings[{index}]."),
                };
                reader.check_keys(&mapping, known_keys("mappings"));
                let personio_type = reader.string(&mapping, "personio_type", true).unwrap_or_default();
                let component = |reader: &mut Reader, key: &str| {
                    reader.integer(&mapping, key, 1..=i64::from(u32::MAX)).map(|key| ComponentKey(key as u32))
                };
                let benefit_component = component(&mut reader, "benefit_component");
                let deduction_component = component(&mut reader, "deduction_component");
                config.mappings.push(Mapping { personio_type, benefit_component, deduction_component });
            }
        }
        Some(other) => reader.error(
            None,
            "mappings".to_string(),
            Some("mappings"),
            format!("must be [[mappings]] tables, not {}", type_name(other)),
        ),
    }

    if !reader.errors.is_empty() {
        return Err(reader.errors);
    }
    Ok(Settings {
        path: path.to_path_buf(),
        state: StateSettings { path: state_path, url: url.map(secrecy::SecretString::from), lock_minutes, who },
        personio: PersonioSettings {
            base_url: personio_url,
            client_id: personio_client_id,
            client_secret: personio_secret,
            secret_source: personio_source,
            app_id,
            concurrency: personio_concurrency,
        },
        loket: LoketSettings {
            base_url: loket_url,
            oauth_url,
            employer_id,
            administration_id,
            client_id: loket_client_id,
            client_secret: loket_secret,
            secret_source: loket_source,
            redirect_port,
            requests_per_second,
            concurrency: loket_concurrency,
            token_file,
        },
        sync: config,
    })
}

/// Maps engine configuration errors (K rules) to the file's lines.
pub fn locate(path: &Path, text: &str, errors: &[engine::ConfigError]) -> Vec<FieldError> {
    let reader = Reader { path, text, errors: Vec::new() };
    errors
        .iter()
        .map(|error| {
            let location = &error.location;
            let (section, occurrence) = location.section();
            FieldError {
                file: path.to_path_buf(),
                line: reader.line_of(Some((section, occurrence)), Some(location.key())),
                // Mappings are named by their index; other fields by their section.
                field: match location {
                    engine::ConfigField::Mapping { .. } => location.to_string(),
                    _ => format!("{section}.{location}"),
                },
                message: error.message.clone(),
            }
        })
        .collect()
}
