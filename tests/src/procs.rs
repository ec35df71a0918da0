//! Real processes: our binaries (for kill -9 tests and the CLI) and a private
//! `redis-server` on a free port for tests that stop or restart Redis.

use std::fs::File;
use std::path::{Path, PathBuf};

use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// A binary of this workspace, built by `cargo build --bins` (scripts/test does it).
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // Tests run from target/<profile>/deps, the bench binary from target/<profile>.
    let here = exe.parent().expect("executable dir");
    let dir = if here.ends_with("deps") {
        here.parent().expect("target dir")
    } else {
        here
    };
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: build the binaries first (`cargo build --workspace --bins`, as scripts/test does)",
        path.display()
    );
    path
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A child process whose output goes to a log file, killed when dropped.
pub struct Proc {
    pub name: String,
    child: Option<Child>,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Proc {
    pub fn spawn(program: &Path, args: &[&str], env: &[(&str, String)]) -> Proc {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = dir.path().join("output.log");
        let out = File::create(&log).expect("log file");
        let err = out.try_clone().expect("log file");
        let mut cmd = Command::new(program);
        cmd.args(args).stdin(Stdio::null()).stdout(out).stderr(err);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
        Proc {
            name: program.file_name().unwrap().to_string_lossy().into_owned(),
            child: Some(child),
            log,
            _dir: dir,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    /// `kill -9`: no chance to flush anything.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM, then waits up to `timeout` for the exit.
    pub fn terminate(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let child = self.child.as_mut()?;
        send_signal(child.id(), 15);
        self.wait(timeout)
    }

    /// Waits up to `timeout` for the process to exit by itself.
    pub fn wait(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let started = Instant::now();
        loop {
            let child = self.child.as_mut()?;
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                return Some(status);
            }
            if started.elapsed() > timeout {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill9();
    }
}

fn send_signal(pid: u32, signal: i32) {
    let _ = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status();
}

/// A private `redis-server`, so a test can stop and restart Redis without touching
/// the shared one.
pub struct RedisServer {
    pub port: u16,
    proc: Option<Proc>,
    /// Where the append-only file lives, for a server that keeps its data.
    aof: Option<tempfile::TempDir>,
}

impl RedisServer {
    /// A server that keeps nothing on disk: a restart loses every key.
    pub fn start() -> RedisServer {
        RedisServer::start_with(None)
    }

    /// A server with append-only persistence (`appendfsync everysec`, as production
    /// runs it): a restart, even after `kill -9`, keeps all but the last second.
    pub fn start_persistent() -> RedisServer {
        RedisServer::start_with(Some(tempfile::tempdir().expect("temp dir")))
    }

    fn start_with(aof: Option<tempfile::TempDir>) -> RedisServer {
        let mut server = RedisServer {
            port: free_port(),
            proc: None,
            aof,
        };
        server.restart();
        server
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server (all data gone: it keeps nothing on disk).
    pub fn stop(&mut self) {
        if let Some(mut p) = self.proc.take() {
            p.kill9();
        }
    }

    /// Starts (again) on the same port and waits until it answers.
    pub fn restart(&mut self) {
        self.stop();
        let program =
            which("redis-server").expect("redis-server is required (apt-get install redis-server)");
        let port = self.port.to_string();
        let mut args = vec!["--port", &port, "--bind", "127.0.0.1", "--save", ""];
        let dir = self.aof.as_ref().map(|d| d.path().display().to_string());
        match &dir {
            Some(dir) => args.extend([
                "--appendonly",
                "yes",
                "--appendfsync",
                "everysec",
                "--dir",
                dir,
            ]),
            None => args.extend(["--appendonly", "no"]),
        }
        let proc = Proc::spawn(&program, &args, &[]);
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "redis-server did not start: {}",
                proc.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        self.proc = Some(proc);
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

pub fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .chain([
            PathBuf::from("/usr/bin"),
            PathBuf::from("/usr/sbin"),
            PathBuf::from("/usr/local/bin"),
        ])
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// Peak resident set size of a process, from /proc (Linux).
pub fn vm_hwm_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}
