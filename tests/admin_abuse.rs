//! Admin API abuse: malformed and overlong tokens, a peer of another uid on
//! the Unix socket, oversized and chunked bodies, a slowloris client, and a
//! request flood on the scrape port while a swap runs. No one may swap who
//! should not, and the sidecar keeps answering everyone else.
#![cfg(feature = "failpoints")]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use common::server::{http, http_unix_as_nobody, parse_response};
use common::Sandbox;

use common::TOKEN;

fn swap_with_auth(server: &common::server::Server, auth: &str) -> u16 {
    http(
        server.admin.unwrap(),
        "POST",
        "/api/v1/swap",
        &[("Authorization", auth)],
        br#"{"to":"b"}"#,
    )
    .status
}

#[test]
fn malformed_and_overlong_tokens_never_swap() {
    let s = Sandbox::ready();
    s.add_serve_section();
    let server = s.serve(None);
    let long = format!("Bearer {}", "x".repeat(100_000));
    let cases: [(&str, &[u16]); 8] = [
        ("", &[401]),
        ("Bearer", &[401]),
        ("Basic YWJ1c2U6dG9rZW4=", &[401]),
        // Trailing white space is not part of a header value: no token.
        ("Bearer ", &[401]),
        (&TOKEN[..TOKEN.len() - 1], &[401]),
        (&format!("Bearer {}", &TOKEN[..TOKEN.len() - 1]), &[403]),
        (&format!("Bearer {TOKEN}x"), &[403]),
        // hyper refuses a header this size before the handler sees it.
        (&long, &[403, 431]),
    ];
    for (auth, allowed) in cases {
        let status = swap_with_auth(&server, auth);
        assert!(
            allowed.contains(&status),
            "Authorization {:?}: {status}",
            &auth[..auth.len().min(40)]
        );
    }
    assert_eq!(s.active_target().unwrap(), s.home("a"), "nothing swapped");
    // The scheme is case-insensitive (RFC 7235), the token is not.
    assert_eq!(swap_with_auth(&server, &format!("bearer {TOKEN}")), 200);
    assert_eq!(s.active_target().unwrap(), s.home("b"));
    assert_eq!(
        swap_with_auth(&server, &format!("Bearer {}", TOKEN.to_uppercase())),
        403
    );
}

#[test]
#[ignore = "needs root (runs a client as uid 65534 with setpriv); run by .ci/run"]
fn a_peer_of_another_uid_cannot_swap_through_the_admin_socket() {
    let s = Sandbox::ready();
    let _server = s.serve_on_socket(None);
    let socket = s.admin_socket();
    let mode = std::fs::metadata(&socket).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    // Let uid 65534 reach the socket's directory.
    std::fs::set_permissions(s.root(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let swap = "POST /api/v1/swap HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nConnection: close\r\n\r\n{\"to\":\"b\"}";
    // Mode 0600: the kernel refuses the connection outright.
    assert!(
        http_unix_as_nobody(&socket, swap).is_none(),
        "connected to a 0600 socket"
    );
    // Even if someone loosens the mode, the peer-uid check refuses.
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o666)).unwrap();
    let r = http_unix_as_nobody(&socket, swap).expect("connected to the 0666 socket");
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(r.text().contains("peer uid 65534"), "{}", r.text());
    assert_eq!(s.active_target().unwrap(), s.home("a"), "nothing swapped");
}

#[test]
fn a_chunked_body_over_64_kib_gets_413_and_no_swap() {
    let s = Sandbox::ready();
    s.add_serve_section();
    let server = s.serve(None);
    let mut stream = TcpStream::connect(server.admin.unwrap()).unwrap();
    write!(
        stream,
        "POST /api/v1/swap HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let chunk = vec![b' '; 8192];
    for _ in 0..9 {
        if write!(stream, "{:x}\r\n", chunk.len()).is_err()
            || stream.write_all(&chunk).is_err()
            || stream.write_all(b"\r\n").is_err()
        {
            break; // the server answered and closed early
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n");
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    assert_eq!(parse_response(&raw).status, 413);
    assert_eq!(s.active_target().unwrap(), s.home("a"));
}

#[test]
fn a_slowloris_client_is_cut_off_while_others_are_served() {
    let s = Sandbox::ready();
    s.add_serve_section();
    let server = s.serve(None);
    let mut slow = Vec::new();
    for addr in [server.addr, server.admin.unwrap()] {
        let mut c = TcpStream::connect(addr).unwrap();
        c.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
            .unwrap();
        slow.push(c);
    }
    // Trickle a header byte every 200 ms; the server must close the
    // connections at its 10 s header deadline, not wait for them forever.
    let start = Instant::now();
    let mut served = 0;
    let mut open = slow.len();
    while open > 0 {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "slow connections still open after 20 s"
        );
        open = 0;
        for c in &mut slow {
            if c.write_all(b"X").is_ok() {
                open += 1;
            }
        }
        // Everyone else is served meanwhile.
        assert_eq!(server.get("/healthz").status, 200);
        served += 1;
        std::thread::sleep(Duration::from_millis(200));
    }
    let took = start.elapsed();
    eprintln!("slow connections closed after {took:?}; {served} probes answered meanwhile");
    assert!(took >= Duration::from_secs(9), "closed too early: {took:?}");
}

#[test]
fn a_request_flood_on_the_scrape_port_during_a_swap_is_answered_and_mutates_nothing() {
    let s = Sandbox::ready();
    s.add_serve_section();
    // The swap is held after its flip (its lock and its intent record
    // kept) until the flood below has been answered.
    let hold = s.hold("swap::after_flip");
    let server = std::sync::Arc::new(s.serve(Some(&hold.failpoint())));
    let swap = {
        let server = server.clone();
        std::thread::spawn(move || server.admin_post("/api/v1/swap", Some(TOKEN), r#"{"to":"b"}"#))
    };
    let intent = s.state().join("intent.json");
    hold.wait_reached();
    let flooders: Vec<_> = (0..4)
        .map(|_| {
            let server = server.clone();
            let intent = intent.clone();
            std::thread::spawn(move || {
                // Per kind of request: answered, and answered while the
                // swap was still in progress (its intent record still
                // there once the answer was in).
                let mut answers = [(0, 0); 4];
                for i in 0..100 {
                    let r = match i % 4 {
                        0 => server.get("/metrics"),
                        1 => server.get("/readyz"),
                        2 => server.get("/api/v1/status"),
                        _ => http(server.addr, "POST", "/api/v1/swap", &[], br#"{"to":"a"}"#),
                    };
                    let during = intent.exists();
                    let expected: &[u16] = match i % 4 {
                        1 => &[200, 503],
                        3 => &[404],
                        _ => &[200],
                    };
                    assert!(expected.contains(&r.status), "request {i}: {}", r.status);
                    answers[i % 4].0 += 1;
                    answers[i % 4].1 += usize::from(during);
                }
                answers
            })
        })
        .collect();
    // A request that waited for the swap would wait for ever: fail (and
    // release the swap on the way out) rather than hang.
    common::wait_for(
        "the flood to be answered while the swap is held",
        Duration::from_secs(60),
        || flooders.iter().all(|f| f.is_finished()),
    );
    hold.release();
    let mut answers = [(0, 0); 4];
    for f in flooders {
        for (total, one) in answers.iter_mut().zip(f.join().unwrap()) {
            total.0 += one.0;
            total.1 += one.1;
        }
    }
    let r = swap.join().unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["outcome"], "swapped");
    eprintln!(
        "(answered, answered during the swap) for metrics, readyz, status, POST: {answers:?}"
    );
    for ((total, during), kind) in
        answers
            .iter()
            .zip(["/metrics", "/readyz", "/api/v1/status", "POST /api/v1/swap"])
    {
        assert_eq!(*total, 100, "{kind}");
        // Answered while the swap was held, every one: none waited for it.
        assert_eq!(
            *during, *total,
            "only {during} of {total} {kind} requests were answered while the swap ran"
        );
    }
    assert_eq!(s.active_target().unwrap(), s.home("b"));
    let swaps = s
        .audit()
        .into_iter()
        .filter(|e| e["action"] == "swap")
        .count();
    assert_eq!(
        swaps, 2,
        "Sandbox::ready's swap and the admin one, nothing else"
    );
}
