//! The real `homeswap serve` on a sandbox, and a minimal HTTP/1.1 client
//! over a real socket (TCP or Unix), so tests see exactly what a scraper,
//! a probe or curl sees.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use super::{Sandbox, TOKEN};

/// A running sidecar; killed on drop if the test did not stop it.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    pub admin: Option<SocketAddr>,
    pub logs: Arc<Mutex<Vec<serde_json::Value>>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Sandbox {
    /// Adds a `serve:` section: both listeners on free ports, an hour's
    /// interval (so only notifications can make a test pass quickly), and
    /// a 0600 token file with [`TOKEN`].
    pub fn add_serve_section(&self) {
        use std::os::unix::fs::PermissionsExt;
        let token_file = self.root().join("admin-token");
        std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
        std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o600)).unwrap();
        self.set_config(
            "serve",
            serde_json::json!({
                "listen": "127.0.0.1:0",
                "interval": "1h",
                "admin": { "listen": "127.0.0.1:0", "token_file": token_file },
            }),
        );
    }

    /// Where [`Sandbox::serve_on_socket`] puts the admin socket.
    pub fn admin_socket(&self) -> PathBuf {
        self.root().join("admin.sock")
    }

    /// Adds a `serve:` section with the admin socket at
    /// [`Sandbox::admin_socket`] too, starts the sidecar and waits until
    /// the socket is there.
    pub fn serve_on_socket(&self, failpoints: Option<&str>) -> Server {
        self.add_serve_section();
        let socket = self.admin_socket();
        self.set_config("serve.admin.socket", &socket);
        let server = self.serve(failpoints);
        super::wait_for("the admin socket", Duration::from_secs(10), || {
            socket.exists()
        });
        server
    }

    /// Starts `homeswap serve --log-format json` and waits for its
    /// listeners to be ready.
    pub fn serve(&self, failpoints: Option<&str>) -> Server {
        let mut child = self
            .command(&["serve", "--log-format", "json"], failpoints)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        let sink = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let v: serde_json::Value = serde_json::from_str(&line)
                    .unwrap_or_else(|_| serde_json::json!({ "message": line }));
                let _ = tx.send(v.clone());
                sink.lock().unwrap().push(v);
            }
        });
        let (mut addr, mut admin) = (None, None);
        while addr.is_none() || (admin.is_none() && self.has_admin_listen()) {
            let v = rx
                .recv_timeout(Duration::from_secs(20))
                .expect("the sidecar did not report its listeners");
            let parse = |v: &serde_json::Value| v["addr"].as_str().unwrap().parse().unwrap();
            match v["message"].as_str() {
                Some("read-only listener ready") => addr = Some(parse(&v)),
                Some("admin listener ready") => admin = Some(parse(&v)),
                _ => {}
            }
        }
        Server {
            child,
            addr: addr.unwrap(),
            admin,
            logs,
        }
    }

    fn has_admin_listen(&self) -> bool {
        let text = std::fs::read_to_string(&self.config).unwrap();
        let doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
        !doc["serve"]["admin"]["listen"].is_null()
    }
}

impl Server {
    pub fn get(&self, path: &str) -> Response {
        http(self.addr, "GET", path, &[], b"")
    }

    /// Scrapes `/metrics` and parses it.
    pub fn metrics(&self) -> Metrics {
        let r = self.get("/metrics");
        assert_eq!(r.status, 200);
        assert_eq!(
            r.header("content-type"),
            Some("text/plain; version=0.0.4; charset=utf-8")
        );
        Metrics::parse(&r.text())
    }

    /// POSTs JSON to the admin listener with a bearer token.
    pub fn admin_post(&self, path: &str, token: Option<&str>, body: &str) -> Response {
        let auth = token.map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> =
            auth.iter().map(|a| ("Authorization", a.as_str())).collect();
        http(self.admin.unwrap(), "POST", path, &headers, body.as_bytes())
    }

    /// POSTs JSON to the admin listener with [`TOKEN`] from a thread of
    /// its own, for a request the test holds at a failpoint meanwhile.
    pub fn admin_post_in_background(&self, path: &str, body: &str) -> JoinHandle<Response> {
        let (admin, path, body) = (self.admin.unwrap(), path.to_string(), body.to_string());
        std::thread::spawn(move || {
            let auth = format!("Bearer {TOKEN}");
            http(
                admin,
                "POST",
                &path,
                &[("Authorization", &auth)],
                body.as_bytes(),
            )
        })
    }

    /// Sends a signal to the sidecar.
    pub fn signal(&self, sig: nix::sys::signal::Signal) {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.child.id() as i32), sig).unwrap();
    }

    /// Whether a log event with this message was written.
    pub fn logged(&self, message: &str) -> bool {
        self.logs
            .lock()
            .unwrap()
            .iter()
            .any(|v| v["message"] == message)
    }
}

/// A parsed exposition: series (`name{labels}`) → value, and `# TYPE`s.
#[derive(Debug)]
pub struct Metrics {
    pub series: BTreeMap<String, f64>,
    pub types: BTreeMap<String, String>,
}

impl Metrics {
    pub fn parse(text: &str) -> Metrics {
        let mut series = BTreeMap::new();
        let mut types = BTreeMap::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').unwrap();
                types.insert(name.to_string(), kind.to_string());
            } else if !line.starts_with('#') && !line.is_empty() {
                let (name, value) = line.rsplit_once(' ').unwrap();
                series.insert(name.to_string(), value.parse().unwrap());
            }
        }
        Metrics { series, types }
    }

    /// The value of one series; panics if it is absent.
    pub fn value(&self, series: &str) -> f64 {
        *self
            .series
            .get(series)
            .unwrap_or_else(|| panic!("no series {series} in {:#?}", self.series.keys()))
    }
}

/// One HTTP response.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One request over TCP with `Connection: close`.
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    let stream = TcpStream::connect(addr).unwrap();
    exchange(stream, method, path, headers, body)
}

/// One request over a Unix socket.
pub fn http_unix(socket: &Path, method: &str, path: &str, body: &[u8]) -> Response {
    let stream = std::os::unix::net::UnixStream::connect(socket).unwrap();
    exchange(stream, method, path, &[], body)
}

/// What a peer of uid 65534 gets for `request` (raw HTTP) on the Unix
/// socket `socket`: the client runs under `setpriv` (root only) and the
/// socket's directory must let that uid in. `None` when the kernel
/// refuses the connection (EACCES).
pub fn http_unix_as_nobody(socket: &Path, request: &str) -> Option<Response> {
    super::tool::require_root("a client of another uid through setpriv");
    let setpriv = super::tool::require("setpriv", "apt-get install -y util-linux");
    // The system's, which uid 65534 can run (not a shim under /root).
    let python = Path::new("/usr/bin/python3");
    if !python.is_file() {
        super::tool::missing(
            "/usr/bin/python3 is not installed",
            "install it with `apt-get install -y python3`",
        );
    }
    let out = std::process::Command::new(setpriv)
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(python)
        .arg("-c")
        .arg(
            "import socket, sys\n\
             s = socket.socket(socket.AF_UNIX)\n\
             try:\n    s.connect(sys.argv[1])\n\
             except PermissionError:\n    print('EACCES'); sys.exit(0)\n\
             s.sendall(sys.argv[2].encode())\n\
             data = b''\n\
             while True:\n    chunk = s.recv(65536)\n    if not chunk: break\n    data += chunk\n\
             sys.stdout.buffer.write(data)\n",
        )
        .arg(socket)
        .arg(request)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    (out.stdout != b"EACCES\n").then(|| parse_response(&out.stdout))
}

fn exchange(
    mut s: impl Read + Write,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    // A server may answer (413) before reading a large body and close.
    let _ = s.write_all(body);
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    parse_response(&raw)
}

pub fn parse_response(raw: &[u8]) -> Response {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head in {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let chunked = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    let rest = &raw[split + 4..];
    Response {
        status,
        body: if chunked {
            dechunk(rest)
        } else {
            rest.to_vec()
        },
        headers,
    }
}

/// The body of a `Transfer-Encoding: chunked` answer (a large answer from
/// Prometheus comes so).
fn dechunk(mut rest: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    while let Some(end) = rest.windows(2).position(|w| w == b"\r\n") {
        let size_text = String::from_utf8_lossy(&rest[..end]);
        let size_text = size_text.split(';').next().unwrap_or("").trim().to_string();
        let size = usize::from_str_radix(&size_text, 16).unwrap_or(0);
        rest = &rest[end + 2..];
        if size == 0 || rest.len() < size {
            break;
        }
        body.extend_from_slice(&rest[..size]);
        rest = rest.get(size + 2..).unwrap_or_default();
    }
    body
}
