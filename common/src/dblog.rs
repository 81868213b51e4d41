//! Warnings and errors in the Java `logs` table, and `GET <system>/mgmt/logs` to read them.
//!
//! The Java systems write their log to that table (log4j2's JDBC appender), and the Java
//! management tool reads it through each system's `mgmt/logs`; an operator of a mixed or migrated
//! cloud looks there first. We write what deserves the operator's attention — WARN and ERROR —
//! not the per-request INFO lines, which would double the database writes of every request.
//!
//! Writing never slows or blocks the code that logs: the tracing layer only queues the record
//! (a bounded queue; when it is full the record is dropped and counted), and one background
//! thread per process inserts batches. The writer starts when the system has its database pool
//! (`start_writer`); records logged before that wait in the queue, so startup warnings arrive too.

use crate::db::schema::logs;
use crate::db::DbPool;
use crate::dto::ListResponse;
use crate::identity::CoreSystem;
use crate::names::{Direction, PageParams, PageQuery};
use crate::ArrowheadError;
use chrono::NaiveDateTime;
use diesel::mysql::Mysql;
use diesel::prelude::*;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

/// Records waiting for the writer; beyond this they are dropped (and counted).
const QUEUE: usize = 4096;
/// Records per insert.
const BATCH: usize = 200;
/// The `message` column is TEXT (64 KiB).
const MAX_MESSAGE: usize = 60_000;

/// One log record on its way to the table.
#[derive(Debug, Clone)]
struct Record {
    at: NaiveDateTime,
    level: &'static str,
    logger: String,
    message: String,
}

struct Queue {
    tx: SyncSender<Record>,
    rx: Mutex<Option<Receiver<Record>>>,
}

static QUEUE_CELL: OnceLock<Queue> = OnceLock::new();
static DROPPED: AtomicU64 = AtomicU64::new(0);

fn queue() -> &'static Queue {
    QUEUE_CELL.get_or_init(|| {
        let (tx, rx) = sync_channel(QUEUE);
        Queue {
            tx,
            rx: Mutex::new(Some(rx)),
        }
    })
}

/// Records that could not be written (queue full, or the database refused the batch).
pub fn dropped() -> u64 {
    DROPPED.load(Ordering::Relaxed)
}

/// The tracing layer that queues WARN and ERROR events for the `logs` table.
pub struct DbLogLayer;

impl<S: Subscriber> Layer<S> for DbLogLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        // tracing orders levels by verbosity: WARN and ERROR are the ones at or below WARN.
        if *meta.level() > Level::WARN {
            return;
        }
        let mut text = Text::default();
        event.record(&mut text);
        let record = Record {
            at: chrono::Utc::now().naive_utc(),
            level: if *meta.level() == Level::ERROR {
                "ERROR"
            } else {
                "WARN"
            },
            logger: meta.target().to_owned(),
            message: text.finish(),
        };
        if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) =
            queue().tx.try_send(record)
        {
            DROPPED.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The event's message followed by its fields (`key=value`), as the log line shows them.
#[derive(Default)]
struct Text {
    message: String,
    fields: String,
}

impl Text {
    fn finish(self) -> String {
        let mut s = self.message;
        if !self.fields.is_empty() {
            if !s.is_empty() {
                s.push(' ');
            }
            s.push_str(&self.fields);
        }
        if s.len() > MAX_MESSAGE {
            let mut end = MAX_MESSAGE;
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            s.truncate(end);
        }
        s
    }
}

impl Visit for Text {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = value.to_owned();
        } else {
            self.push(field, &value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.message = format!("{value:?}");
        } else {
            self.push(field, value);
        }
    }
}

impl Text {
    fn push(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        use std::fmt::Write;
        if !self.fields.is_empty() {
            self.fields.push(' ');
        }
        let _ = write!(self.fields, "{}={:?}", field.name(), value);
    }
}

#[derive(Insertable)]
#[diesel(table_name = logs)]
struct NewLog<'a> {
    log_id: String,
    entry_date: NaiveDateTime,
    logger: &'a str,
    log_level: &'a str,
    system_name: &'a str,
    message: &'a str,
}

/// A random UUID (version 4), as log4j's `%u` writes the `log_id`.
fn uuid() -> String {
    let mut b = [0u8; 16];
    if openssl::rand::rand_bytes(&mut b).is_err() {
        // Never expected; a time-based id keeps the row insertable.
        let n = chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default();
        b[..8].copy_from_slice(&n.to_be_bytes());
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// Starts this process's writer into `pool`'s `logs` table, as `system` (once; later calls,
/// and processes that never installed [`DbLogLayer`], do nothing).
pub fn start_writer(pool: DbPool, system: CoreSystem) {
    if !LAYER_INSTALLED.get().copied().unwrap_or(false) {
        return;
    }
    let Some(rx) = queue().rx.lock().unwrap_or_else(|p| p.into_inner()).take() else {
        return;
    };
    let system_name = system.property_name();
    let spawned = std::thread::Builder::new()
        .name("logs-table".into())
        .spawn(move || {
            while let Ok(first) = rx.recv() {
                let mut batch = vec![first];
                while batch.len() < BATCH {
                    match rx.try_recv() {
                        Ok(r) => batch.push(r),
                        Err(_) => break,
                    }
                }
                if let Err(e) = insert(&pool, &system_name, &batch) {
                    // Debug level: a failure to write the log must not produce records itself.
                    tracing::debug!(error = %e, records = batch.len(), "cannot write to the logs table");
                    DROPPED.fetch_add(batch.len() as u64, Ordering::Relaxed);
                    std::thread::sleep(Duration::from_secs(1));
                }
            }
        });
    if let Err(e) = spawned {
        tracing::debug!(error = %e, "cannot start the logs table writer");
    }
}

/// Whether the binary installed [`DbLogLayer`] (tests embedding systems do not).
static LAYER_INSTALLED: OnceLock<bool> = OnceLock::new();

/// The layer to install, marking that records will be queued for a writer.
pub fn layer() -> DbLogLayer {
    let _ = LAYER_INSTALLED.set(true);
    DbLogLayer
}

fn insert(pool: &DbPool, system_name: &str, batch: &[Record]) -> Result<(), String> {
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    let rows: Vec<NewLog> = batch
        .iter()
        .map(|r| NewLog {
            log_id: uuid(),
            entry_date: r.at,
            logger: &r.logger,
            log_level: r.level,
            system_name,
            message: &r.message,
        })
        .collect();
    diesel::insert_into(logs::table)
        .values(&rows)
        .execute(&mut conn)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Java `LogEntryDTO`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LogEntry {
    pub log_id: String,
    pub entry_date: Option<String>,
    pub logger: Option<String>,
    pub log_level: Option<String>,
    pub system_name: Option<String>,
    pub message: Option<String>,
    pub exception: Option<String>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = logs)]
struct LogRow {
    log_id: String,
    entry_date: Option<NaiveDateTime>,
    logger: Option<String>,
    log_level: Option<String>,
    system_name: Option<String>,
    message: Option<String>,
    exception: Option<String>,
}

/// The query of `mgmt/logs`, with Java's parameter names.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
pub struct LogQuery {
    /// Zero-based page index; together with `item_per_page`.
    pub page: Option<i64>,
    /// Page size; together with `page`.
    pub item_per_page: Option<i64>,
    /// `ASC` (default) or `DESC`.
    pub direction: Option<String>,
    /// `logId` (default), `entryDate`, `logger`, `system` or `logLevel`.
    pub sort_field: Option<String>,
    /// The least severe level to list: `WARN` lists WARN, ERROR and FATAL (`TRACE` ... `OFF`).
    pub level: Option<String>,
    /// ISO-8601 instant (`2026-01-01T00:00:00Z`): entries at or after it.
    pub from: Option<String>,
    /// ISO-8601 instant: entries at or before it.
    pub to: Option<String>,
    /// Part of the logger name (ignoring case).
    pub logger: Option<String>,
}

/// Java's levels, least severe first.
const LEVELS: [&str; 7] = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL", "OFF"];

/// Validated filter of a log query.
#[derive(Debug, Clone)]
pub struct LogFilter {
    pub levels: Vec<&'static str>,
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
    pub logger: Option<String>,
}

impl LogQuery {
    /// Java's checks and messages (`CoreUtilities.getLogLevels`, the controllers' time checks).
    pub fn validate(&self, origin: &str) -> Result<(PageParams, LogFilter), ArrowheadError> {
        let bad = |m: &str| ArrowheadError::bad_payload(m).with_origin(origin);
        let page = PageQuery {
            page: self.page,
            item_per_page: self.item_per_page,
            direction: self.direction.clone(),
            sort_field: Some(
                self.sort_field
                    .clone()
                    .filter(|s| !s.trim().is_empty())
                    .unwrap_or_else(|| "logId".into()),
            ),
        }
        .validate(
            &["logId", "entryDate", "logger", "system", "logLevel"],
            origin,
        )?;
        let levels = match self
            .level
            .as_deref()
            .map(str::trim)
            .filter(|l| !l.is_empty())
        {
            None => LEVELS.to_vec(),
            Some(l) => {
                let i = LEVELS
                    .iter()
                    .position(|x| x.eq_ignore_ascii_case(l))
                    .ok_or_else(|| bad("Defined log level is not exists."))?;
                LEVELS[i..].to_vec()
            }
        };
        let instant =
            |v: &Option<String>| match v.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
                None => Ok(None),
                Some(s) => crate::dto::parse_instant(s)
                    .map(Some)
                    .ok_or_else(|| bad("Invalid time parameter")),
            };
        let (from, to) = (instant(&self.from)?, instant(&self.to)?);
        if let (Some(f), Some(t)) = (from, to) {
            if t < f {
                return Err(bad("Invalid time interval"));
            }
        }
        let logger = self
            .logger
            .as_deref()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned);
        Ok((
            page,
            LogFilter {
                levels,
                from,
                to,
                logger,
            },
        ))
    }
}

/// The entries of `system` matching `f`, paged and sorted.
pub fn query(
    conn: &mut MysqlConnection,
    system: CoreSystem,
    page: &PageParams,
    f: &LogFilter,
) -> QueryResult<ListResponse<LogEntry>> {
    let system_name = system.property_name();
    let build = || {
        let mut q = logs::table
            .into_boxed::<Mysql>()
            .filter(logs::system_name.eq(system_name.clone()))
            .filter(logs::log_level.eq_any(f.levels.clone()));
        if let Some(from) = f.from {
            q = q.filter(logs::entry_date.ge(from));
        }
        if let Some(to) = f.to {
            q = q.filter(logs::entry_date.le(to));
        }
        if let Some(l) = &f.logger {
            // LIKE's own characters in the given text match themselves.
            let escaped = l
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            q = q.filter(logs::logger.like(format!("%{escaped}%")));
        }
        q
    };
    let mut q = build().select(LogRow::as_select());
    let asc = page.direction == Direction::Asc;
    q = match page.sort_field.as_str() {
        "entryDate" if asc => q.order((logs::entry_date.asc(), logs::log_id.asc())),
        "entryDate" => q.order((logs::entry_date.desc(), logs::log_id.desc())),
        "logger" if asc => q.order((logs::logger.asc(), logs::log_id.asc())),
        "logger" => q.order((logs::logger.desc(), logs::log_id.desc())),
        "system" if asc => q.order((logs::system_name.asc(), logs::log_id.asc())),
        "system" => q.order((logs::system_name.desc(), logs::log_id.desc())),
        "logLevel" if asc => q.order((logs::log_level.asc(), logs::log_id.asc())),
        "logLevel" => q.order((logs::log_level.desc(), logs::log_id.desc())),
        _ if asc => q.order(logs::log_id.asc()),
        _ => q.order(logs::log_id.desc()),
    };
    if let Some((index, size)) = page.page {
        q = q.offset(index * size).limit(size);
    }
    let rows: Vec<LogRow> = q.load(conn)?;
    let count = build().count().get_result(conn)?;
    Ok(ListResponse {
        data: rows
            .into_iter()
            .map(|r| LogEntry {
                log_id: r.log_id,
                entry_date: r.entry_date.as_ref().map(crate::dto::format_instant),
                logger: r.logger,
                log_level: r.log_level,
                system_name: r.system_name,
                message: r.message,
                exception: r.exception,
            })
            .collect(),
        count,
    })
}

/// `GET <system>/mgmt/logs` for any system: the sysop only, Java's parameters and messages.
pub async fn mgmt_logs(
    pool: &DbPool,
    caller: &crate::identity::Caller,
    system: CoreSystem,
    q: LogQuery,
    origin: &'static str,
) -> Result<ListResponse<LogEntry>, ArrowheadError> {
    crate::identity::require_sysop(caller, origin)?;
    let (page, filter) = q.validate(origin)?;
    crate::db::run(pool, move |c| Ok(query(c, system, &page, &filter)?)).await
}

/// Defines a system's `GET <base>/mgmt/logs` handler `logs` (documented for OpenAPI), for
/// `system`, reading the pool of the handler state `$state` through `$pool` (a closure-like
/// `|state| &state.pool`). Every system has the endpoint; only these three things differ.
#[macro_export]
macro_rules! mgmt_logs_handler {
    ($path:literal, $system:expr, $state:ty, |$s:ident| $pool:expr) => {
        /// Warnings and errors of this system (the Java `logs` table, its own rows).
        #[utoipa::path(get, path = $path, tag = "Management", params($crate::dblog::LogQuery),
            responses((status = 200, body = $crate::dto::ListResponse<$crate::dblog::LogEntry>),
                      (status = 400, body = $crate::error::ErrorMessage),
                      (status = 401, body = $crate::error::ErrorMessage)))]
        pub async fn logs(
            state: actix_web::web::Data<$state>,
            caller: $crate::identity::Caller,
            q: actix_web::web::Query<$crate::dblog::LogQuery>,
        ) -> Result<actix_web::HttpResponse, $crate::ArrowheadError> {
            let $s: &$state = &state;
            let list = $crate::dblog::mgmt_logs($pool, &caller, $system, q.into_inner(), $path).await?;
            Ok(actix_web::HttpResponse::Ok().json(list))
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_version_4() {
        let u = uuid();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert_ne!(uuid(), u);
    }

    #[test]
    fn level_is_the_least_severe_listed() {
        let q = |l: &str| {
            LogQuery {
                level: Some(l.into()),
                ..Default::default()
            }
            .validate("/x/mgmt/logs")
        };
        assert_eq!(
            q("warn").unwrap().1.levels,
            ["WARN", "ERROR", "FATAL", "OFF"]
        );
        assert_eq!(q("").unwrap().1.levels.len(), 7);
        assert_eq!(
            q("LOUD").unwrap_err().to_message().error_message,
            "Defined log level is not exists."
        );
        let bad_interval = LogQuery {
            from: Some("2026-01-02T00:00:00Z".into()),
            to: Some("2026-01-01T00:00:00Z".into()),
            ..Default::default()
        };
        assert_eq!(
            bad_interval
                .validate("/x")
                .unwrap_err()
                .to_message()
                .error_message,
            "Invalid time interval"
        );
        let bad_time = LogQuery {
            from: Some("yesterday".into()),
            ..Default::default()
        };
        assert!(bad_time.validate("/x").is_err());
        let bad_sort = LogQuery {
            sort_field: Some("message".into()),
            ..Default::default()
        };
        assert!(bad_sort.validate("/x").is_err());
    }

    #[test]
    fn messages_carry_fields_and_stay_within_the_column() {
        let t = Text {
            message: "refused".into(),
            fields: "reason=\"x\"".into(),
        };
        assert_eq!(t.finish(), "refused reason=\"x\"");
        let long = Text {
            message: "é".repeat(MAX_MESSAGE),
            fields: String::new(),
        };
        let s = long.finish();
        assert!(s.len() <= MAX_MESSAGE && s.chars().all(|c| c == 'é'));
    }
}
