//! A log file bounded in size, for `logging.file.name` / `logging.file.max-size` (the Spring Boot
//! keys the Java systems read): when the next line would pass the limit, the file becomes
//! `<name>.1` (replacing an older one) and a fresh file is started, so a system's logs never take
//! more than twice the limit. Written by hand because tracing-appender rotates by time only;
//! it is the smallest writer `tracing_subscriber` accepts.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// Spring's default `logging.file.max-size`.
pub const DEFAULT_MAX_BYTES: u64 = 10 * 1024 * 1024;

pub struct RotatingFile {
    path: PathBuf,
    max_bytes: u64,
    state: Mutex<(File, u64)>,
}

impl RotatingFile {
    /// Appends to `path` (created if missing); rotates beyond `max_bytes` (at least 1 KiB).
    pub fn open(path: &Path, max_bytes: u64) -> io::Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let size = file.metadata()?.len();
        Ok(Self {
            path: path.to_owned(),
            max_bytes: max_bytes.max(1024),
            state: Mutex::new((file, size)),
        })
    }

    fn rotated(&self) -> PathBuf {
        let mut name = self.path.clone().into_os_string();
        name.push(".1");
        name.into()
    }
}

/// One write to the file, holding its lock.
pub struct Guard<'a> {
    owner: &'a RotatingFile,
    state: MutexGuard<'a, (File, u64)>,
}

impl Write for Guard<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let (file, size) = &mut *self.state;
        if *size > 0 && *size + buf.len() as u64 > self.owner.max_bytes {
            file.flush()?;
            std::fs::rename(&self.owner.path, self.owner.rotated())?;
            *file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.owner.path)?;
            *size = 0;
        }
        let n = file.write(buf)?;
        *size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.state.0.flush()
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for RotatingFile {
    type Writer = Guard<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        Guard {
            owner: self,
            state: self.state.lock().unwrap_or_else(|p| p.into_inner()),
        }
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
        let current = std::fs::metadata(&path).unwrap().len();
        let old = std::fs::metadata(dir.join("system.log.1")).unwrap().len();
        assert!(current <= 4096 && old <= 4096, "{current} {old}");
        assert!(current > 0 && old > 3000);
        let files = std::fs::read_dir(&dir).unwrap().count();
        assert_eq!(files, 2, "the file and one rotated file, never more");
        std::fs::remove_dir_all(&dir).ok();
    }
}
