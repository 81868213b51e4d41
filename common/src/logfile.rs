//! A log file bounded in size, for `logging.file.name` / `logging.file.max-size` (the Spring Boot
//! keys the Java systems read): when the next line would pass the limit, the file becomes
//! `<name>.1` (replacing an older one) and a fresh file is started, so a system's logs never take
//! more than twice the limit. Written by hand because tracing-appender rotates by time only;
//! it is the smallest writer `tracing_subscriber` accepts.
//!
//! Lines are buffered and written by a flusher thread every [`FLUSH_EVERY`] (WARN and ERROR lines
//! at once): a core system logs every request, and one `write` per line on the request's worker
//! was a tenth of the Orchestrator's CPU under load. At most that interval of INFO lines is lost
//! if the process is killed; [`flush`] writes the rest at a clean exit.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::time::Duration;

/// Spring's default `logging.file.max-size`.
pub const DEFAULT_MAX_BYTES: u64 = 10 * 1024 * 1024;
/// How long a buffered INFO line may wait for the disk.
pub const FLUSH_EVERY: Duration = Duration::from_millis(100);

struct State {
    file: BufWriter<File>,
    /// Bytes in the file, buffered ones included.
    size: u64,
}

pub struct RotatingFile {
    path: PathBuf,
    max_bytes: u64,
    state: Arc<Mutex<State>>,
}

/// The process's log file, for [`flush`].
static INSTALLED: OnceLock<Weak<Mutex<State>>> = OnceLock::new();

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

/// Writes what the log file holds in its buffer (at a clean exit).
pub fn flush() {
    if let Some(state) = INSTALLED.get().and_then(Weak::upgrade) {
        let _ = lock(&state).file.flush();
    }
}

impl RotatingFile {
    /// Appends to `path` (created if missing); rotates beyond `max_bytes` (at least 1 KiB).
    pub fn open(path: &Path, max_bytes: u64) -> io::Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let size = file.metadata()?.len();
        let state = Arc::new(Mutex::new(State {
            file: BufWriter::with_capacity(64 * 1024, file),
            size,
        }));
        let weak = Arc::downgrade(&state);
        std::thread::Builder::new()
            .name("log-flush".into())
            .spawn(move || loop {
                std::thread::sleep(FLUSH_EVERY);
                match weak.upgrade() {
                    Some(state) => {
                        let _ = lock(&state).file.flush();
                    }
                    None => break,
                }
            })?;
        Ok(Self {
            path: path.to_owned(),
            max_bytes: max_bytes.max(1024),
            state,
        })
    }

    /// Makes this the file [`flush`] writes out.
    pub fn install(&self) {
        let _ = INSTALLED.set(Arc::downgrade(&self.state));
    }

    fn rotated(&self) -> PathBuf {
        let mut name = self.path.clone().into_os_string();
        name.push(".1");
        name.into()
    }

    fn writer(&self, urgent: bool) -> Guard<'_> {
        Guard {
            owner: self,
            state: lock(&self.state),
            urgent,
        }
    }
}

/// One line to the file, holding its lock; an urgent one is on disk when the guard is dropped.
pub struct Guard<'a> {
    owner: &'a RotatingFile,
    state: MutexGuard<'a, State>,
    urgent: bool,
}

impl Write for Guard<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let state = &mut *self.state;
        if state.size > 0 && state.size + buf.len() as u64 > self.owner.max_bytes {
            state.file.flush()?;
            std::fs::rename(&self.owner.path, self.owner.rotated())?;
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.owner.path)?;
            state.file = BufWriter::with_capacity(64 * 1024, file);
            state.size = 0;
        }
        let n = state.file.write(buf)?;
        state.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.state.file.flush()
    }
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        if self.urgent {
            let _ = self.state.file.flush();
        }
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for RotatingFile {
    type Writer = Guard<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        self.writer(false)
    }

    /// WARN and ERROR lines go to disk at once: they are what an operator looks for after a
    /// failure, also one that ends the process.
    fn make_writer_for(&'a self, meta: &tracing::Metadata<'_>) -> Self::Writer {
        self.writer(*meta.level() <= tracing::Level::WARN)
    }
}

/// Spring's data size format: a whole number with an optional unit `B`, `KB`, `MB`, `GB`
/// (powers of 1024, any case).
pub fn parse_size(value: &str) -> Option<u64> {
    let v = value.trim().to_ascii_uppercase();
    let digits = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let (number, unit) = v.split_at(digits);
    let factor: u64 = match unit.trim() {
        "" | "B" => 1,
        "KB" => 1 << 10,
        "MB" => 1 << 20,
        "GB" => 1 << 30,
        _ => return None,
    };
    number.parse::<u64>().ok()?.checked_mul(factor)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use tracing_subscriber::fmt::MakeWriter;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("10MB"), Some(10 << 20));
        assert_eq!(parse_size("512 kb"), Some(512 << 10));
        assert_eq!(parse_size("2048"), Some(2048));
        assert_eq!(parse_size("1GB"), Some(1 << 30));
        assert_eq!(parse_size("ten"), None);
        assert_eq!(parse_size("5TB"), None);
        assert_eq!(parse_size("99999999999999999999GB"), None);
    }

    #[test]
    fn rotates_beyond_the_limit_and_keeps_one_old_file() {
        let dir = std::env::temp_dir().join(format!("ah-logfile-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("system.log");
        let log = RotatingFile::open(&path, 4096).unwrap();
        let line = [b'x'; 100];
        for _ in 0..200 {
            let mut w = log.make_writer();
            w.write_all(&line).unwrap();
            w.write_all(b"\n").unwrap();
        }
        log.make_writer().flush().unwrap();
        let current = std::fs::metadata(&path).unwrap().len();
        let old = std::fs::metadata(dir.join("system.log.1")).unwrap().len();
        assert!(current <= 4096 && old <= 4096, "{current} {old}");
        assert!(current > 0 && old > 3000);
        let files = std::fs::read_dir(&dir).unwrap().count();
        assert_eq!(files, 2, "the file and one rotated file, never more");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn urgent_lines_at_once_the_rest_within_the_flush_interval() {
        let dir = std::env::temp_dir().join(format!("ah-logflush-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("system.log");
        let log = RotatingFile::open(&path, DEFAULT_MAX_BYTES).unwrap();
        log.writer(false).write_all(b"info line\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "", "buffered");
        log.writer(true).write_all(b"warn line\n").unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "info line\nwarn line\n",
            "a WARN line writes itself and what was before it"
        );
        log.writer(false).write_all(b"later\n").unwrap();
        std::thread::sleep(FLUSH_EVERY * 3);
        assert!(std::fs::read_to_string(&path).unwrap().ends_with("later\n"));
        std::fs::remove_dir_all(&dir).ok();
    }
}
