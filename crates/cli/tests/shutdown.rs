//! SIGTERM stops `samhand serve` within its grace of 10 seconds, even while a
//! request is still running (here: a request whose body never finishes arriving).

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn sigterm_stops_the_server_within_the_grace_period_even_with_a_request_running() {
    // The database makes no difference here (it runs on SQLite): once is enough,
    // and CI's PostgreSQL run skips it.
    if std::env::var("DATABASE_URL").is_ok_and(|u| u.starts_with("postgres")) {
        eprintln!("shutdown test: run on the SQLite run only");
        return;
    }
    let dir = tempfile::tempdir().expect("dir");
    let port = TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port();
    let mut server = Command::new(env!("CARGO_BIN_EXE_samhand"))
        .arg("serve")
        .env("SAMHAND_DATA_DIR", dir.path())
        .env("SAMHAND_ADDR", format!("127.0.0.1:{port}"))
        .env("SAMHAND_LOG", "warn")
        .env_remove("DATABASE_URL")
        .env_remove("DATABASE_URL_FILE")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve");
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut stream = loop {
        if let Ok(stream) = TcpStream::connect(("127.0.0.1", port)) {
            break stream;
        }
        assert!(Instant::now() < deadline, "the server did not start");
        std::thread::sleep(Duration::from_millis(100));
    };
    // A request that is still running when the signal comes.
    write!(
        stream,
        "POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\nusername="
    )
    .expect("write");
    std::thread::sleep(Duration::from_millis(300));
    let signalled = Instant::now();
    let status = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let exit = loop {
        if let Some(exit) = server.try_wait().expect("poll") {
            break exit;
        }
        if signalled.elapsed() > Duration::from_secs(20) {
            let _ = server.kill();
            panic!("the server was still running 20 s after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let took = signalled.elapsed();
    assert!(exit.success(), "the server exited with {exit}");
    assert!(took < Duration::from_secs(13), "it took {took:?} to stop");
    drop(stream);
}
