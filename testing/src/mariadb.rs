//! A MariaDB server of the test's own, in a temporary folder on a port of its own, that the test
//! may kill (SIGKILL) and start again on the same port and data, as a crash or a restart of the
//! cloud's database would. The shared test server cannot be stopped: other tests use it.

use crate::TestDb;
use common::config::DatabaseSettings;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct PrivateMariaDb {
    pub dir: PathBuf,
    pub port: u16,
    child: Option<Child>,
}

const DB: &str = "arrowhead";
const USER: &str = "arrowhead";
const PASSWORD: &str = "arrowhead";

fn as_user() -> Vec<&'static str> {
    // As root, MariaDB would switch to user mysql, which may not enter the temporary folder.
    if nix_is_root() {
        vec!["--user=root"]
    } else {
        vec![]
    }
}

fn nix_is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

impl PrivateMariaDb {
    /// Initialises a data folder, starts the server and creates database `arrowhead` with user
    /// `arrowhead`.
    pub fn start() -> Self {
        let dir = std::env::temp_dir().join(format!(
            "ah-mariadb-{}-{}",
            std::process::id(),
            crate::closed_port()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let out = Command::new("mariadb-install-db")
            .args(as_user())
            .arg(format!("--datadir={}", dir.join("data").display()))
            .args(["--auth-root-authentication-method=socket", "--skip-test-db"])
            .output()
            .unwrap_or_else(|e| {
                panic!("mariadb-install-db: {e} (./scripts/test.sh installs MariaDB)")
            });
        assert!(
            out.status.success(),
            "mariadb-install-db failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut db = Self {
            dir,
            port: crate::closed_port(),
            child: None,
        };
        db.resume();
        let sql = format!(
            "CREATE DATABASE `{DB}` CHARACTER SET utf8mb4; \
             CREATE USER '{USER}'@'127.0.0.1' IDENTIFIED BY '{PASSWORD}'; \
             GRANT ALL PRIVILEGES ON `{DB}`.* TO '{USER}'@'127.0.0.1';"
        );
        db.as_root(&sql);
        db
    }

    /// Runs SQL as the server's root (over its socket), e.g. to change what the test user may do.
    pub fn as_root(&self, sql: &str) {
        let out = Command::new("mariadb")
            .arg("--protocol=socket")
            .arg(format!("--socket={}", self.socket().display()))
            .args(["-uroot", "-e", sql])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn socket(&self) -> PathBuf {
        self.dir.join("mysqld.sock")
    }

    /// The database for the systems under test.
    pub fn test_db(&self) -> TestDb {
        let settings = DatabaseSettings::from_jdbc(
            &format!("jdbc:mysql://127.0.0.1:{}/{DB}", self.port),
            USER,
            PASSWORD,
        )
        .unwrap();
        TestDb::on_own_server(DB, settings)
    }

    /// Starts the server (again) on the same port and data; returns once it takes connections.
    pub fn resume(&mut self) {
        assert!(self.child.is_none(), "already running");
        let child = Command::new("mariadbd")
            .arg("--no-defaults")
            .args(as_user())
            .arg(format!("--datadir={}", self.dir.join("data").display()))
            .arg(format!("--port={}", self.port))
            .arg("--bind-address=127.0.0.1")
            .arg(format!("--socket={}", self.socket().display()))
            .arg(format!(
                "--pid-file={}",
                self.dir.join("mysqld.pid").display()
            ))
            .arg(format!(
                "--log-error={}",
                self.dir.join("mariadb.log").display()
            ))
            .args([
                "--character-set-server=utf8mb4",
                "--collation-server=utf8mb4_general_ci",
                "--skip-name-resolve",
                "--innodb-buffer-pool-size=64M",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "MariaDB did not start; see {}",
                self.dir.join("mariadb.log").display()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills the server with SIGKILL, as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for PrivateMariaDb {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
