//! A Rust service in the same rooms as the browsers: it joins a room of a `deltacrdt-server`
//! through its WebSocket protocol, as an ordinary writer peer, and runs the core
//! [`deltacrdt::sync::Session`] for the room's kind. The core crate does no IO; this example
//! owns the socket, the clock (the tick period) and the framing.
//!
//! ```text
//! deltacrdt-service-example --url ws://127.0.0.1:8787 --room cart/42/items \
//!     [--add sku-1,sku-2] [--remove sku-3] [--until-size N] [--timeout-secs 30]
//! ```
//!
//! It joins the ORSet room, makes its additions, syncs until the server holds everything it
//! sent and (with `--until-size`) its replica holds at least N elements, then makes its
//! removals (observed-remove: of what it holds by then) and syncs them, prints the sorted
//! elements, one per line after a `elements:` line, and exits 0 (1 on a timeout, 2 on bad
//! arguments or a refused join).
//!
//! The framing (see `js/provider/src/protocol.js`): one binary WebSocket message is one frame,
//! `type:u8 roomLen:u8 room payload`; JOIN carries `replicaId:u64be kindLen:u8 kind`, JOINED
//! `access:u8 serverReplicaId:u64be kindLen:u8 kind`, SYNC the bytes of a session message. An
//! ORSet element of the npm package is a canonical JS value: a string is tag 5, its UTF-8
//! length as a LEB128 varint, its bytes.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::ErrorKind;
use std::net::TcpStream;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use deltacrdt::sync::{Session, SyncConfig};
use deltacrdt::{ORSet, ReplicaId};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

const JOIN: u8 = 1;
const SYNC: u8 = 3;
const JOINED: u8 = 16;
const ERROR: u8 = 19;
const TICK: Duration = Duration::from_millis(50);

/// Command-line options.
struct Args {
    url: String,
    room: String,
    add: Vec<String>,
    remove: Vec<String>,
    until_size: usize,
    timeout: Duration,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        url: String::new(),
        room: String::new(),
        add: Vec::new(),
        remove: Vec::new(),
        until_size: 0,
        timeout: Duration::from_secs(30),
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut v = || it.next().ok_or_else(|| format!("{k} needs a value"));
        match k.as_str() {
            "--url" => a.url = v()?,
            "--room" => a.room = v()?,
            "--add" => a
                .add
                .extend(v()?.split(',').filter(|s| !s.is_empty()).map(String::from)),
            "--remove" => a
                .remove
                .extend(v()?.split(',').filter(|s| !s.is_empty()).map(String::from)),
            "--until-size" => {
                a.until_size = v()?.parse().map_err(|e| format!("--until-size: {e}"))?
            }
            "--timeout-secs" => {
                a.timeout =
                    Duration::from_secs(v()?.parse().map_err(|e| format!("--timeout-secs: {e}"))?)
            }
            _ => return Err(format!("unknown argument {k}")),
        }
    }
    if a.url.is_empty() || a.room.is_empty() {
        return Err("--url and --room are required".into());
    }
    if a.room.len() > 128 {
        return Err("a room name is at most 128 bytes".into());
    }
    Ok(a)
}

/// The canonical JS-value encoding of a string (an ORSet element of the npm package).
fn js_string(s: &str) -> Vec<u8> {
    let mut out = vec![5u8];
    let mut n = s.len() as u64;
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(b);
            break;
        }
        out.push(b | 0x80);
    }
    out.extend_from_slice(s.as_bytes());
    out
}

/// The string of an element, if it is one.
fn js_string_of(b: &[u8]) -> Option<String> {
    let (&tag, mut rest) = b.split_first()?;
    if tag != 5 {
        return None;
    }
    let (mut n, mut shift) = (0u64, 0u32);
    loop {
        let (&x, r) = rest.split_first()?;
        rest = r;
        n |= u64::from(x & 0x7f).checked_shl(shift)?;
        if x & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    if usize::try_from(n).ok()? != rest.len() {
        return None;
    }
    String::from_utf8(rest.to_vec()).ok()
}

fn frame(ty: u8, room: &str, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(2 + room.len() + payload.len());
    f.push(ty);
    f.push(room.len() as u8);
    f.extend_from_slice(room.as_bytes());
    f.extend_from_slice(payload);
    f
}

/// A random non-zero replica id (std's randomly keyed hasher, mixed with the time and pid).
fn random_replica() -> ReplicaId {
    let mut h = RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.write_u32(std::process::id());
    ReplicaId(h.finish().max(1))
}

type Ws = WebSocket<MaybeTlsStream<TcpStream>>;

/// Reads one frame, or `None` when nothing arrived within the socket's read timeout.
fn read_frame(ws: &mut Ws) -> Result<Option<Vec<u8>>, String> {
    match ws.read() {
        Ok(Message::Binary(b)) => Ok(Some(b.to_vec())),
        Ok(_) => Ok(None),
        Err(tungstenite::Error::Io(e))
            if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
        {
            Ok(None)
        }
        Err(e) => Err(format!("websocket: {e}")),
    }
}

fn run(a: &Args) -> Result<bool, String> {
    let deadline = Instant::now() + a.timeout;
    let (mut ws, _) =
        tungstenite::connect(a.url.as_str()).map_err(|e| format!("connect {}: {e}", a.url))?;
    // Built without TLS, the stream is always plain: reads wait at most 10 ms, so the loop ticks.
    if let MaybeTlsStream::Plain(s) = ws.get_mut() {
        s.set_read_timeout(Some(Duration::from_millis(10)))
            .map_err(|e| e.to_string())?;
        s.set_nodelay(true).map_err(|e| e.to_string())?;
    }
    let me = random_replica();
    let mut join = me.0.to_be_bytes().to_vec();
    join.push(5);
    join.extend_from_slice(b"ORSet");
    ws.send(Message::binary(frame(JOIN, &a.room, &join)))
        .map_err(|e| e.to_string())?;

    let mut session: Session<ORSet<Vec<u8>>> =
        Session::new(me, 1, ORSet::new(), SyncConfig::default());
    for s in &a.add {
        session
            .update(|x| x.add(me, js_string(s)))
            .map_err(|e| format!("add: {e:?}"))?;
    }
    // Removals are observed-remove: they apply once this replica holds the room (see below).
    let mut removed = a.remove.is_empty();
    let mut reached = false;

    let mut server: Option<ReplicaId> = None;
    let mut next_tick = Instant::now();
    loop {
        if Instant::now() > deadline {
            return Ok(false);
        }
        while let Some(f) = read_frame(&mut ws)? {
            if f.len() < 2 || f.len() < 2 + usize::from(f[1]) {
                return Err("short frame from the server".into());
            }
            let (ty, payload) = (f[0], &f[2 + usize::from(f[1])..]);
            match ty {
                JOINED => {
                    if payload.len() < 9 || payload[0] != 2 {
                        return Err("joined without write access".into());
                    }
                    let mut id = [0u8; 8];
                    id.copy_from_slice(&payload[1..9]);
                    let id = ReplicaId(u64::from_be_bytes(id));
                    if let Some(old) = server.replace(id) {
                        session.remove_neighbour(old);
                    }
                    session.add_neighbour(id);
                }
                SYNC => {
                    if let Some(s) = server {
                        // A malformed message changes nothing; the session counts it.
                        let _ = session.handle_message(s, payload);
                    }
                }
                ERROR => {
                    let code = payload.first().copied().unwrap_or(0);
                    let msg = String::from_utf8_lossy(payload.get(1..).unwrap_or(&[]));
                    return Err(format!("server error {code}: {msg}"));
                }
                _ => {}
            }
        }
        if Instant::now() >= next_tick {
            next_tick = Instant::now() + TICK;
            session.tick();
        }
        while let Some(t) = session.poll_transmit() {
            ws.send(Message::binary(frame(SYNC, &a.room, &t.bytes)))
                .map_err(|e| e.to_string())?;
        }
        if let Some(s) = server {
            reached |= session.state().len() >= a.until_size;
            // Done once the server lacks nothing of this replica and holds every delta it sent.
            let in_sync = session.lacking(s) == Some(0) && session.unacked(s) == Some(0);
            if reached && in_sync {
                if removed {
                    break;
                }
                for e in &a.remove {
                    let e = js_string(e);
                    session
                        .update(|x| Ok::<_, ()>(x.remove(&e)))
                        .map_err(|e| format!("remove: {e:?}"))?;
                }
                removed = true;
            }
        }
    }
    let mut items: Vec<String> = session
        .state()
        .iter()
        .filter_map(|e| js_string_of(e))
        .collect();
    items.sort();
    println!("elements: {}", items.len());
    for i in items {
        println!("{i}");
    }
    let _ = ws.close(None);
    Ok(true)
}

fn main() -> ExitCode {
    let a = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("deltacrdt-service-example: {e}");
            return ExitCode::from(2);
        }
    };
    match run(&a) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("deltacrdt-service-example: timed out");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("deltacrdt-service-example: {e}");
            ExitCode::from(2)
        }
    }
}
