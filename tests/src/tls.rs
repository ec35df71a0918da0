//! TLS-only servers for connection tests: a throwaway CA (and a second, wrong one) made
//! with `openssl`, a private `redis-server` listening with TLS only and a password, and
//! a private PostgreSQL with `ssl=on` that accepts only TLS connections with a password.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::procs::{Proc, free_port, which};

/// A CA and a server certificate for 127.0.0.1 signed by it, in a temp dir.
pub struct Certs {
    pub dir: tempfile::TempDir,
}

impl Certs {
    /// Makes a CA named `name` and a server key and certificate (`127.0.0.1`, `localhost`).
    pub fn make(name: &str) -> Certs {
        assert!(
            which("openssl").is_some(),
            "openssl is required (apt-get install openssl)"
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let d = dir.path();
        std::fs::write(
            d.join("ext.cnf"),
            "subjectAltName=IP:127.0.0.1,DNS:localhost\n",
        )
        .unwrap();
        let subj = format!("/CN={name}");
        for args in [
            vec![
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
                "ca.pem", "-days", "2", "-subj", &subj,
            ],
            vec![
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
                "-subj",
                "/CN=127.0.0.1",
            ],
            vec![
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                "server.pem",
                "-days",
                "2",
                "-extfile",
                "ext.cnf",
            ],
        ] {
            let out = Command::new("openssl")
                .args(&args)
                .current_dir(d)
                .output()
                .expect("openssl");
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Certs { dir }
    }

    pub fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }
    fn server_cert(&self) -> PathBuf {
        self.dir.path().join("server.pem")
    }
    fn server_key(&self) -> PathBuf {
        self.dir.path().join("server.key")
    }
}

fn wait_port(port: u16, what: &str, log: impl Fn() -> String) {
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{what} did not start: {}",
            log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A `redis-server` with TLS only (no plain port) and an ACL user with a password.
pub struct TlsRedis {
    pub port: u16,
    _proc: Proc,
    _dir: tempfile::TempDir,
}

impl TlsRedis {
    pub fn start(certs: &Certs, user: &str, password: &str) -> TlsRedis {
        let program = which("redis-server").expect("redis-server is required");
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let conf = format!(
            "port 0\ntls-port {port}\nbind 127.0.0.1\ntls-cert-file {}\ntls-key-file {}\n\
             tls-ca-cert-file {}\ntls-auth-clients no\nsave \"\"\nappendonly no\n\
             user default off\nuser {user} on >{password} ~* &* +@all\n",
            certs.server_cert().display(),
            certs.server_key().display(),
            certs.ca().display(),
        );
        let path = dir.path().join("redis.conf");
        std::fs::write(&path, conf).unwrap();
        let proc = Proc::spawn(&program, &[path.to_str().unwrap()], &[]);
        wait_port(port, "redis-server (TLS)", || proc.log());
        TlsRedis {
            port,
            _proc: proc,
            _dir: dir,
        }
    }

    pub fn url(&self, user: &str, password: &str) -> String {
        format!("rediss://{user}:{password}@127.0.0.1:{}", self.port)
    }
}

/// A private PostgreSQL with `ssl=on` whose `pg_hba.conf` allows only `hostssl` with a
/// password. Run as the `postgres` user when the tests run as root (initdb refuses root).
pub struct TlsPostgres {
    pub port: u16,
    bin: PathBuf,
    data: PathBuf,
    _dir: tempfile::TempDir,
}

fn pg_bin() -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.path().join("bin"))
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    dirs.into_iter()
        .rev()
        .find(|d| d.join("initdb").exists())
        .expect("PostgreSQL server binaries are required (apt-get install postgresql)")
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout == b"0\n")
        .unwrap_or(false)
}

/// `program args…`, as `postgres` when we are root.
fn as_owner(program: &Path, args: &[&str]) -> std::process::Output {
    let mut cmd = if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    };
    cmd.args(args).output().expect("run a PostgreSQL program")
}

/// The server's files readable by the user it runs as (`postgres` when we are root),
/// its key private to it.
fn hand_to_postgres(dir: &Path, files: &Path) {
    let chmod = |mode: &str, p: &Path| {
        Command::new("chmod").arg(mode).arg(p).status().unwrap();
    };
    chmod("755", dir);
    chmod("600", &files.join("server.key"));
    if is_root() {
        let chown = |args: &[&str], p: &Path| {
            Command::new("chown").args(args).arg(p).status().unwrap();
        };
        chown(&["-R", "postgres"], files);
        chown(&["postgres"], dir);
    }
}

impl TlsPostgres {
    pub fn start(certs: &Certs, user: &str, password: &str) -> TlsPostgres {
        let bin = pg_bin();
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        let files = dir.path().join("files");
        std::fs::create_dir_all(&files).unwrap();
        std::fs::write(files.join("pw"), password).unwrap();
        std::fs::copy(certs.server_cert(), files.join("server.pem")).unwrap();
        std::fs::copy(certs.server_key(), files.join("server.key")).unwrap();
        hand_to_postgres(dir.path(), &files);
        let out = as_owner(
            &bin.join("initdb"),
            &[
                "-D",
                data.to_str().unwrap(),
                "-U",
                user,
                "-A",
                "scram-sha-256",
                "--pwfile",
                files.join("pw").to_str().unwrap(),
                "--no-sync",
            ],
        );
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = free_port();
        let conf = format!(
            "port = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\n\
             ssl = on\nssl_cert_file = '{}'\nssl_key_file = '{}'\nfsync = off\n",
            files.display(),
            files.join("server.pem").display(),
            files.join("server.key").display(),
        );
        append(&data.join("postgresql.conf"), &conf);
        std::fs::write(
            data.join("pg_hba.conf"),
            "hostssl all all 127.0.0.1/32 scram-sha-256\n",
        )
        .unwrap();
        let log = dir.path().join("files/pg.log");
        let out = as_owner(
            &bin.join("pg_ctl"),
            &[
                "-D",
                data.to_str().unwrap(),
                "-l",
                log.to_str().unwrap(),
                "-w",
                "-t",
                "30",
                "start",
            ],
        );
        assert!(
            out.status.success(),
            "pg_ctl start: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        wait_port(port, "PostgreSQL (TLS)", || {
            std::fs::read_to_string(&log).unwrap_or_default()
        });
        TlsPostgres {
            port,
            bin,
            data,
            _dir: dir,
        }
    }

    /// A URL of the `postgres` database with `query` (e.g. `sslmode=verify-full&sslrootcert=…`).
    pub fn url(&self, user: &str, password: &str, query: &str) -> String {
        format!(
            "postgres://{user}:{password}@127.0.0.1:{}/postgres?{query}",
            self.port
        )
    }
}

fn append(path: &Path, text: &str) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

impl Drop for TlsPostgres {
    fn drop(&mut self) {
        let _ = as_owner(
            &self.bin.join("pg_ctl"),
            &["-D", self.data.to_str().unwrap(), "-m", "immediate", "stop"],
        );
    }
}
