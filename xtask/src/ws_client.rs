//! A websocket client that does only what `bench ws` needs, at the least cost per frame: one
//! load generator on one core plays 1,000 browsers, and if reading their frames costs it more
//! than sending them costs the server, the benchmark measures the client.
//!
//! It speaks RFC 6455 over plain TCP: the upgrade, masked text frames out, unmasked frames in
//! (text, ping answered with pong, close). Frames are cut out of one read buffer in place and
//! handed over as borrowed bytes, with the time of the read that brought them. A general client
//! (tokio-tungstenite, which this benchmark used first) copies and validates each frame into a
//! message of its own and hands each socket's reads between threads: with it, the same server
//! measured p99 67–120 ms at 1,000 subscribers against 46–51 ms with this client (2026-12-07),
//! the difference being the client's own queueing.

use std::time::SystemTime;

use anyhow::{Context, Result, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Bytes read from the socket at most at once.
const READ_CHUNK: usize = 64 * 1024;
/// Frames larger than this are refused (the server's are a few hundred bytes).
const MAX_FRAME: usize = 16 * 1024 * 1024;

const OPCODE_TEXT: u8 = 0x1;
const OPCODE_CLOSE: u8 = 0x8;
const OPCODE_PING: u8 = 0x9;

/// One client connection.
pub struct WsClient {
    stream: TcpStream,
    buffer: Vec<u8>,
    /// Where the next unparsed frame starts in `buffer`.
    start: usize,
    /// When the bytes in `buffer` arrived.
    received: SystemTime,
}

impl WsClient {
    /// Connects to `url` (`ws://host:port/path`) with these extra request headers.
    pub async fn connect(url: &str, headers: &[(&str, &str)]) -> Result<WsClient> {
        let rest = url
            .strip_prefix("ws://")
            .context("only ws:// URLs are supported")?;
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let path = if path.is_empty() { "/" } else { path };
        let mut stream = TcpStream::connect(authority).await?;
        stream.set_nodelay(true)?;
        let mut request = format!(
            "GET {path} HTTP/1.1\r\nHost: {authority}\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        );
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        stream.write_all(request.as_bytes()).await?;
        let mut buffer = Vec::with_capacity(READ_CHUNK);
        let head_end = loop {
            if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
            if stream.read_buf(&mut buffer).await? == 0 {
                bail!("the server closed the connection during the upgrade");
            }
        };
        let head = String::from_utf8_lossy(&buffer[..head_end]);
        if !head.starts_with("HTTP/1.1 101") {
            bail!("the upgrade was refused: {head}");
        }
        Ok(WsClient {
            stream,
            buffer,
            start: head_end,
            received: SystemTime::now(),
        })
    }

    /// Sends `text` as one masked text frame.
    pub async fn send_text(&mut self, text: &str) -> Result<()> {
        let frame = masked_frame(OPCODE_TEXT, text.as_bytes());
        self.stream.write_all(&frame).await?;
        Ok(())
    }

    /// The next text frame's payload and when it arrived (pings are answered on the way; a
    /// close frame is an error).
    pub async fn next_text(&mut self) -> Result<(&[u8], SystemTime)> {
        loop {
            match parse_frame(&self.buffer[self.start..])? {
                Some(frame) => {
                    let payload = self.start + frame.payload_at..self.start + frame.end;
                    self.start += frame.end;
                    match frame.opcode {
                        OPCODE_TEXT => return Ok((&self.buffer[payload], self.received)),
                        OPCODE_PING => {
                            let pong = masked_frame(0xA, &self.buffer[payload]);
                            self.stream.write_all(&pong).await?;
                        }
                        OPCODE_CLOSE => bail!(
                            "the server closed the socket: {}",
                            String::from_utf8_lossy(&self.buffer[payload])
                        ),
                        _ => {}
                    }
                }
                None => self.read_more().await?,
            }
        }
    }

    /// Reads what the socket has, keeping the unparsed tail.
    async fn read_more(&mut self) -> Result<()> {
        self.buffer.drain(..self.start);
        self.start = 0;
        self.buffer.reserve(READ_CHUNK);
        if self.stream.read_buf(&mut self.buffer).await? == 0 {
            bail!("the socket closed");
        }
        self.received = SystemTime::now();
        Ok(())
    }
}

/// Where a complete frame's parts are, relative to the start of the bytes given.
struct Frame {
    opcode: u8,
    payload_at: usize,
    end: usize,
}

/// The first frame of `bytes` if it is complete. Server frames are never masked and the
/// server does not fragment its messages.
fn parse_frame(bytes: &[u8]) -> Result<Option<Frame>> {
    let [first, second, ..] = bytes else {
        return Ok(None);
    };
    if second & 0x80 != 0 {
        bail!("the server masked a frame");
    }
    if first & 0x80 == 0 {
        bail!("a fragmented frame (not expected from this server)");
    }
    let (length, header) = match second & 0x7F {
        126 => match bytes.get(2..4) {
            Some(b) => (usize::from(u16::from_be_bytes([b[0], b[1]])), 4),
            None => return Ok(None),
        },
        127 => match bytes.get(2..10) {
            Some(b) => {
                let mut word = [0u8; 8];
                word.copy_from_slice(b);
                (usize::try_from(u64::from_be_bytes(word))?, 10)
            }
            None => return Ok(None),
        },
        short => (usize::from(short), 2),
    };
    if length > MAX_FRAME {
        bail!("a frame of {length} bytes");
    }
    let end = header + length;
    Ok((bytes.len() >= end).then_some(Frame {
        opcode: first & 0x0F,
        payload_at: header,
        end,
    }))
}

/// A final client frame: clients must mask (RFC 6455 §5.3); a zero key is a valid key, and it
/// leaves the payload as it is.
fn masked_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(payload.len() + 14);
    frame.push(0x80 | opcode);
    match payload.len() {
        n if n < 126 => frame.push(0x80 | n as u8),
        n if n <= usize::from(u16::MAX) => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(&[0, 0, 0, 0]);
    frame.extend_from_slice(payload);
    frame
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_cut_at_their_length_and_wait_for_their_tail() {
        let mut bytes = vec![0x81, 5];
        bytes.extend_from_slice(b"hello");
        bytes.extend_from_slice(&[0x81, 126, 0x01, 0x00]);
        let frame = parse_frame(&bytes).unwrap().unwrap();
        assert_eq!((frame.opcode, frame.payload_at, frame.end), (1, 2, 7));
        assert!(parse_frame(&bytes[7..]).unwrap().is_none());
        bytes.extend(std::iter::repeat_n(b'x', 256));
        let frame = parse_frame(&bytes[7..]).unwrap().unwrap();
        assert_eq!((frame.payload_at, frame.end), (4, 260));
    }

    #[test]
    fn client_frames_are_masked_with_their_length() {
        let frame = masked_frame(OPCODE_TEXT, b"hi");
        assert_eq!(frame, [0x81, 0x82, 0, 0, 0, 0, b'h', b'i']);
        let long = masked_frame(OPCODE_TEXT, &[b'a'; 300]);
        assert_eq!(&long[..4], &[0x81, 0x80 | 126, 0x01, 0x2C]);
    }
}
